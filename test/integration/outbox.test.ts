import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createDatabase, type Database } from '../../src/platform/db/index.js';
import { createMailer, createOutboxWorker, enqueueEmail, type Mailer } from '../../src/platform/mail/index.js';
import { captureLogger, ROOT, scratchDatabase, strongSecret } from '../helpers/kit.js';

interface ReceivedEmail {
  envelopeTo: string[];
  headers: Record<string, string>;
  body: string;
}

/** Headers (unfolded, lower-cased names) and body of a raw RFC 5322 message. */
function parseRaw(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of raw
    .slice(0, split)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.slice(split + 4) };
}

interface TestSmtp {
  port: number;
  received: ReceivedEmail[];
  /** Resolves when the server has started receiving the next message body. */
  nextData(): Promise<void>;
  close(): Promise<void>;
}

/** A real SMTP server on a loopback port. */
async function startSmtp(options: Partial<SMTPServerOptions> & { dataDelayMs?: number } = {}): Promise<TestSmtp> {
  const received: ReceivedEmail[] = [];
  let dataStarted: (() => void)[] = [];
  const { dataDelayMs = 0, ...serverOptions } = options;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    ...serverOptions,
    onData(stream, session, callback) {
      for (const resolve of dataStarted) resolve();
      dataStarted = [];
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          ...parseRaw(Buffer.concat(chunks).toString('utf8')),
        });
        setTimeout(() => callback(), dataDelayMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    nextData: () => new Promise<void>((resolve) => dataStarted.push(resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const FROM = 'ERP Gateway <no-reply@erp.local>';

describe('email outbox (REQ 5.5 notifications)', () => {
  let database: Database;
  let databaseUrl: string;
  const capture = captureLogger('debug');
  const smtpUrl = (port: number) => `smtp://127.0.0.1:${port}`;
  const mailerFor = (port: number): Mailer => createMailer({ url: smtpUrl(port), from: FROM, logger: capture.logger });
  const email = (n: number, domain = 'example.test') => ({
    to: `user${n}@${domain}`,
    subject: `Your account was locked (${n})`,
    text: `Hello user ${n},\nyour account was locked after 5 failed logins.\n`,
    template: 'account-locked',
  });
  const rows = () => database.prisma.emailOutbox.findMany({ orderBy: { toAddress: 'asc' } });

  beforeAll(async () => {
    // The claim takes any due row, so the outbox tests own a database: no other test's rows.
    databaseUrl = (await scratchDatabase('outbox', { migrated: true })).url;
    database = createDatabase({ url: databaseUrl, logger: capture.logger, poolSize: 4 });
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    await database.prisma.emailOutbox.deleteMany();
  });

  it('delivers pending emails over SMTP (authenticated) and marks them SENT', async () => {
    const password = `p@ss/w:rd%${strongSecret()}`;
    const smtp = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'mailer' && auth.password === password) callback(null, { user: 'mailer' });
        else callback(new Error('Invalid username or password'));
      },
    });
    const mailer = createMailer({
      url: `smtp://mailer:${encodeURIComponent(password)}@127.0.0.1:${smtp.port}`,
      from: FROM,
      logger: capture.logger,
    });
    const worker = createOutboxWorker({ prisma: database.prisma, mailer, logger: capture.logger });
    try {
      // Enqueued inside the caller's transaction, as the account lock does.
      const ids = await database.prisma.$transaction(async (tx) => [
        (await enqueueEmail(tx, email(1))).id,
        (await enqueueEmail(tx, email(2))).id,
      ]);
      expect(await worker.drainOnce()).toBe(2);

      expect(smtp.received).toHaveLength(2);
      const byTo = new Map(smtp.received.map((m) => [m.headers.to, m]));
      for (const [index, n] of [1, 2].entries()) {
        const message = byTo.get(`user${n}@example.test`);
        expect(message?.envelopeTo).toEqual([`user${n}@example.test`]);
        expect(message?.headers.subject).toBe(`Your account was locked (${n})`);
        expect(message?.headers.from).toBe(FROM);
        expect(message?.headers['message-id']).toBe(`<${ids[index]}@erp.local>`);
        expect(message?.headers['auto-submitted']).toBe('auto-generated');
        expect(message?.body).toContain(`Hello user ${n},`);
        expect(message?.body).toContain('your account was locked after 5 failed logins.');
      }
      const sent = await rows();
      expect(sent.map((r) => [r.status, r.attempts, r.lastError])).toEqual([
        ['SENT', 1, null],
        ['SENT', 1, null],
      ]);
      expect(sent.every((r) => r.sentAt instanceof Date)).toBe(true);
      expect(await worker.drainOnce()).toBe(0);
      expect(capture.lines().join('\n')).not.toContain(encodeURIComponent(password));
    } finally {
      await worker.stop();
      await mailer.close();
      await smtp.close();
    }
  });

  it('a rejecting server: PENDING with backoff and last_error, FAILED after maxAttempts', async () => {
    const smtp = await startSmtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
    });
    const mailer = mailerFor(smtp.port);
    const worker = createOutboxWorker({ prisma: database.prisma, mailer, logger: capture.logger, maxAttempts: 2 });
    try {
      const { id } = await enqueueEmail(database.prisma, email(1, 'rejects.test'));
      const before = Date.now();
      expect(await worker.drainOnce()).toBe(1);
      let row = await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'PENDING', attempts: 1, sentAt: null });
      expect(row.lastError).toContain('mailbox unavailable');
      // 2^1 seconds of backoff.
      expect(row.nextAttemptAt.getTime()).toBeGreaterThan(before + 1_000);
      expect(await worker.drainOnce()).toBe(0); // not due yet

      await database.prisma.emailOutbox.update({ where: { id }, data: { nextAttemptAt: new Date(Date.now() - 1) } });
      expect(await worker.drainOnce()).toBe(1);
      row = await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'FAILED', attempts: 2, sentAt: null });
      expect(smtp.received).toHaveLength(0);
      const failed = capture
        .lines()
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.message === 'outbox email failed for good' && l.outboxId === id);
      expect(failed).toMatchObject({ level: 'error', attempts: 2 });
    } finally {
      await worker.stop();
      await mailer.close();
      await smtp.close();
    }
  });

  it('an unreachable server: retried later; the SMTP password never reaches last_error or the logs', async () => {
    const password = strongSecret();
    const mailer = createMailer({
      url: `smtp://mailer:${password}@127.0.0.1:${await closedPort()}`,
      from: FROM,
      logger: capture.logger,
    });
    const worker = createOutboxWorker({ prisma: database.prisma, mailer, logger: capture.logger });
    try {
      const { id } = await enqueueEmail(database.prisma, email(1, 'unreachable.test'));
      expect(await worker.drainOnce()).toBe(1);
      const row = await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'PENDING', attempts: 1 });
      expect(row.lastError).toContain('ECONNREFUSED');
      expect(row.lastError).not.toContain(password);
      expect(row.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
      expect(capture.lines().join('\n')).not.toContain(password);
    } finally {
      await worker.stop();
      await mailer.close();
    }
  });

  it('two workers draining at once never send the same email twice', async () => {
    const smtp = await startSmtp();
    // Separate clients and pools: two instances of the gateway.
    const other = createDatabase({ url: databaseUrl, logger: capture.logger, poolSize: 4 });
    const mailers = [mailerFor(smtp.port), mailerFor(smtp.port)];
    const workers = [database, other].map((db, i) =>
      createOutboxWorker({ prisma: db.prisma, mailer: mailers[i]!, logger: capture.logger, batchSize: 4 }),
    );
    try {
      await database.prisma.emailOutbox.createMany({
        data: Array.from({ length: 30 }, (_, n) => {
          const e = email(n, 'concurrent.test');
          return { toAddress: e.to, subject: e.subject, textBody: e.text, template: e.template };
        }),
      });
      // Both loops claim at the same moment every round, so their claims overlap.
      const perWorker = [0, 0];
      for (let round = 1; round > 0;) {
        const claimed = await Promise.all(workers.map((worker) => worker.drainOnce()));
        claimed.forEach((n, i) => (perWorker[i]! += n));
        round = claimed[0]! + claimed[1]!;
      }
      expect(perWorker[0]! + perWorker[1]!).toBe(30);
      expect(perWorker.every((n) => n > 0)).toBe(true);
      expect(smtp.received).toHaveLength(30);
      expect(new Set(smtp.received.map((m) => m.headers.to)).size).toBe(30);
      expect(new Set(smtp.received.map((m) => m.headers['message-id'])).size).toBe(30);
      const all = await rows();
      expect(all.every((r) => r.status === 'SENT' && r.attempts === 1)).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(mailers.map((m) => m.close()));
      await other.close();
      await smtp.close();
    }
  });

  it('a claim skips rows another instance holds locked instead of waiting for them', async () => {
    const smtp = await startSmtp();
    const mailer = mailerFor(smtp.port);
    const worker = createOutboxWorker({ prisma: database.prisma, mailer, logger: capture.logger });
    try {
      const held = await enqueueEmail(database.prisma, email(1, 'locked.test'));
      const free = await enqueueEmail(database.prisma, email(2, 'locked.test'));
      // Another instance's claim in progress: the row is locked until its transaction ends.
      const claimed = await database.prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM email_outbox WHERE id = ${held.id}::uuid FOR UPDATE`;
        return worker.drainOnce();
      });
      expect(claimed).toBe(1);
      expect(smtp.received.map((m) => m.headers.to)).toEqual([email(2, 'locked.test').to]);
      expect(await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id: free.id } })).toMatchObject({
        status: 'SENT',
      });
      expect(await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id: held.id } })).toMatchObject({
        status: 'PENDING',
        attempts: 0,
      });
    } finally {
      await worker.stop();
      await mailer.close();
      await smtp.close();
    }
  });

  it('re-claims a row stuck in SENDING by a crashed instance, and leaves a recent claim alone', async () => {
    const smtp = await startSmtp();
    const mailer = mailerFor(smtp.port);
    const worker = createOutboxWorker({ prisma: database.prisma, mailer, logger: capture.logger });
    try {
      const stuck = email(1, 'stuck.test');
      const busy = email(2, 'stuck.test');
      // While SENDING, next_attempt_at is the claim time.
      const stuckRow = await database.prisma.emailOutbox.create({
        data: {
          toAddress: stuck.to,
          subject: stuck.subject,
          textBody: stuck.text,
          template: stuck.template,
          status: 'SENDING',
          attempts: 1,
          nextAttemptAt: new Date(Date.now() - 6 * 60_000),
        },
      });
      const busyRow = await database.prisma.emailOutbox.create({
        data: {
          toAddress: busy.to,
          subject: busy.subject,
          textBody: busy.text,
          template: busy.template,
          status: 'SENDING',
          attempts: 1,
          nextAttemptAt: new Date(Date.now() - 60_000),
        },
      });
      expect(await worker.drainOnce()).toBe(1);
      expect(smtp.received.map((m) => m.headers.to)).toEqual([stuck.to]);
      expect(await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id: stuckRow.id } })).toMatchObject({
        status: 'SENT',
        attempts: 2,
      });
      expect(await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id: busyRow.id } })).toMatchObject({
        status: 'SENDING',
        attempts: 1,
      });
    } finally {
      await worker.stop();
      await mailer.close();
      await smtp.close();
    }
  });

  it('stop() waits for the batch in flight, then polls no more', async () => {
    const smtp = await startSmtp({ dataDelayMs: 300 });
    const mailer = mailerFor(smtp.port);
    const worker = createOutboxWorker({
      prisma: database.prisma,
      mailer,
      logger: capture.logger,
      pollIntervalMs: 20,
    });
    try {
      const receiving = smtp.nextData();
      const { id } = await enqueueEmail(database.prisma, email(1, 'stop.test'));
      worker.start();
      await receiving; // the server holds its reply for 300 ms
      await worker.stop();
      expect(await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'SENT',
      });

      const later = await enqueueEmail(database.prisma, email(2, 'stop.test'));
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id: later.id } })).toMatchObject({
        status: 'PENDING',
        attempts: 0,
      });
      expect(smtp.received).toHaveLength(1);
    } finally {
      await worker.stop();
      await mailer.close();
      await smtp.close();
    }
  });

  it('refuses what is not one address, and keeps subjects on one line', async () => {
    await expect(enqueueEmail(database.prisma, { ...email(1), to: 'a@x.test, b@y.test' })).rejects.toThrow(RangeError);
    await expect(enqueueEmail(database.prisma, { ...email(1), to: 'a@x.test\r\nBcc: b@y.test' })).rejects.toThrow(
      RangeError,
    );
    const { id } = await enqueueEmail(database.prisma, { ...email(1), subject: 'Locked\r\nBcc: b@y.test' });
    expect((await database.prisma.emailOutbox.findUniqueOrThrow({ where: { id } })).subject).toBe(
      'Locked Bcc: b@y.test',
    );
  });
});

describe('log-only mailer (no SMTP_URL)', () => {
  it('logs recipient and subject instead of sending; the body only when allowed', async () => {
    const quiet = captureLogger('debug');
    const production = createMailer({ url: undefined, from: FROM, logger: quiet.logger });
    const { messageId } = await production.send({ to: 'owner@example.test', subject: 'Locked', text: 'body-secret' });
    expect(messageId).toMatch(/@erp\.local>$/);
    const [line] = quiet.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({ level: 'info', to: 'owner@example.test', subject: 'Locked' });
    expect(quiet.lines().join('\n')).not.toContain('body-secret');

    const dev = captureLogger('debug');
    const development = createMailer({ url: undefined, from: FROM, logger: dev.logger, logBodies: true });
    await development.send({ to: 'owner@example.test', subject: 'Locked', text: 'dev-body' });
    expect(JSON.parse(dev.lines()[0]!)).toMatchObject({ level: 'info', text: 'dev-body' });
  });
});

describe('mail configuration', () => {
  const base = { NODE_ENV: 'test' };

  it('defaults: no SMTP relay (log only), the no-reply sender, a 1 s poll', () => {
    expect(loadConfig({ rootDir: ROOT, env: base }).mail).toEqual({
      smtpUrl: undefined,
      from: 'ERP Gateway <no-reply@erp.local>',
      outboxPollMs: 1_000,
    });
  });

  it('reads SMTP_URL or SMTP_URL_FILE, scrubs its password, refuses other protocols', () => {
    const password = strongSecret();
    const url = `smtps://mailer:${password}@smtp.example.test:465`;
    const dir = mkdtempSync(join(tmpdir(), 'erp-mail-'));
    writeFileSync(join(dir, 'smtp-url'), `${url}\n`);
    const config = loadConfig({ rootDir: ROOT, env: { ...base, SMTP_URL_FILE: join(dir, 'smtp-url') } });
    expect(config.mail.smtpUrl).toBe(url);
    expect(config.secretValues).toContain(password);
    let problems: string[] = [];
    try {
      loadConfig({ rootDir: ROOT, env: { ...base, SMTP_URL: 'http://smtp.example.test', OUTBOX_POLL_MS: '0' } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'SMTP_URL must use smtp:// or smtps://',
      'OUTBOX_POLL_MS must be a positive number of milliseconds',
    ]);
  });
});

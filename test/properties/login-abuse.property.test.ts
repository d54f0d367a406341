import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountLockedError, AppError, ErrorCode, RateLimitedError } from '../../src/errors/index.js';
import { createLoginGuard, type LoginGuard } from '../../src/modules/identity/login-guard.js';
import { createMailer, createOutboxWorker } from '../../src/platform/mail/index.js';
import { createRedis, waitForRedis, type RedisClient } from '../../src/platform/redis/redis.js';
import { REDIS_URL } from '../helpers/databases.js';
import {
  captureLogger,
  createTestUser,
  gql,
  startTestApp,
  strongSecret,
  testConfig,
  uniqueTag,
  type GraphQLResponse,
  type TestApp,
} from '../helpers/kit.js';

/** REQ 5.1/5.2 as shipped: 5 attempts per IP per 15 minutes, 5 failures lock for 15 minutes. */
const LIMITS = { ipMaxAttempts: 5, ipWindowSeconds: 900, lockoutThreshold: 5, lockoutSeconds: 900 };
const RUNS = { numRuns: 100 };
/** Cheap Argon2 so that hundreds of real logins fit in seconds (the cost is not under test here). */
const FAST_HASHING = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };

const LOGIN = `mutation ($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken mfaRequired }
}`;

type LoginResponse = GraphQLResponse<{ login: { accessToken: string | null; mfaRequired: boolean } | null }>;

let ipCounter = 0;
/** An address (in 10.0.0.0/8) no other attempt in this file has used. */
function freshIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

function freshEmail(label = 'nobody'): string {
  return `${label}-${uniqueTag()}@example.com`;
}

/** A login over HTTP, anonymous, optionally through a proxy that names the client in X-Forwarded-For. */
function login(t: TestApp, email: string, password: string, forwardedFor?: string): Promise<LoginResponse> {
  return gql(
    t.url,
    LOGIN,
    { email, password },
    {
      authorization: '',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
  );
}

function codeOf(res: LoginResponse): string | undefined {
  return res.body.errors?.[0]?.extensions.code as string | undefined;
}

function logLines(lines: string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * unlockAt must be 15 minutes after the lock, which happened between `from` and `to` (epoch ms).
 * Redis TTLs are whole seconds: a little slack either way.
 */
function expectUnlockAt(unlockAt: unknown, from: number, to: number): void {
  const at = unlockAt instanceof Date ? unlockAt.getTime() : Date.parse(String(unlockAt));
  expect(at).toBeGreaterThanOrEqual(from + LIMITS.lockoutSeconds * 1000 - 1_500);
  expect(at).toBeLessThanOrEqual(to + LIMITS.lockoutSeconds * 1000 + 1_500);
}

/** What the guard threw, if anything; anything but RATE_LIMITED / ACCOUNT_LOCKED fails the test. */
async function attempt(
  guard: LoginGuard,
  ip: string,
  email: string,
): Promise<{ kind: 'ok' } | { kind: 'rate'; error: RateLimitedError } | { kind: 'locked'; error: AccountLockedError }> {
  try {
    await guard.beforeAttempt(ip, email);
    return { kind: 'ok' };
  } catch (error) {
    if (error instanceof RateLimitedError) return { kind: 'rate', error };
    if (error instanceof AccountLockedError) return { kind: 'locked', error };
    throw error;
  }
}

/** A guard on the real Redis with keys of its own: a fresh deployment per property run. */
async function withRedisGuard<T>(work: (guard: LoginGuard, lines: () => string[]) => Promise<T>): Promise<T> {
  const capture = captureLogger('debug');
  const redis = createRedis({ url: REDIS_URL, keyPrefix: `test:login:${uniqueTag()}:`, logger: capture.logger });
  try {
    expect(await waitForRedis(redis)).toBe(true);
    return await work(createLoginGuard({ redis, logger: capture.logger, ...LIMITS }), capture.lines);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

// ------------------------------------------------------------------------------------ arbitraries

const ipArb = fc.oneof(fc.ipV4(), fc.ipV6());
/** Attempts from a few IPs, skewed so that some IPs go well past the limit. */
const ipSequenceArb = fc.record({
  ips: fc.uniqueArray(ipArb, { minLength: 2, maxLength: 4 }),
  attempts: fc.oneof(
    // n attempts from one IP
    fc.integer({ min: 1, max: 15 }).map((n) => Array.from({ length: n }, () => 0)),
    // interleaved IPs
    fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 25 }),
  ),
  emails: fc.array(fc.emailAddress(), { minLength: 1, maxLength: 5 }),
});

type LoginEvent = 'wrong' | 'right';
/** One account's login history; `upper` varies the letter case of the email as typed. */
const accountHistoryArb = fc.array(
  fc.record({ kind: fc.constantFrom<LoginEvent>('wrong', 'wrong', 'right'), upper: fc.boolean() }),
  { minLength: 1, maxLength: 14 },
);

/** PROP 9 model check shared by the Redis-backed and the in-memory guard. */
async function checkIpLimit(
  guard: LoginGuard,
  lines: () => string[],
  { ips, attempts, emails }: { ips: string[]; attempts: number[]; emails: string[] },
): Promise<void> {
  const counts = new Map<string, number>();
  let rejected = 0;
  for (const [i, pick] of attempts.entries()) {
    const ip = ips[pick % ips.length]!;
    const email = emails[i % emails.length]!;
    const n = (counts.get(ip) ?? 0) + 1;
    counts.set(ip, n);
    const outcome = await attempt(guard, ip, email);
    // Every real attempt ends in a success or a failure; here the passwords are right, so the
    // per-account count (which an attempt reserves up front) is released again.
    if (outcome.kind === 'ok') await guard.recordSuccess(ip, email);
    if (n <= LIMITS.ipMaxAttempts) {
      expect(outcome.kind, `attempt ${n} from ${ip}`).toBe('ok');
    } else {
      rejected += 1;
      expect(outcome.kind, `attempt ${n} from ${ip}`).toBe('rate');
      const error = (outcome as { error: RateLimitedError }).error;
      expect(error.code).toBe(ErrorCode.RATE_LIMITED);
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
      expect(error.retryAfterSeconds).toBeLessThanOrEqual(LIMITS.ipWindowSeconds);
      expect(Number.isInteger(error.retryAfterSeconds)).toBe(true);
      expect(error.details).toMatchObject({ retryAfterSeconds: error.retryAfterSeconds });
    }
  }
  // Another address is not affected by any of this.
  const other = `${uniqueTag()}.invalid`;
  expect((await attempt(guard, other, emails[0]!)).kind).toBe('ok');
  // REQ 5.4: every violation logged with the IP and the attempted email.
  const violations = logLines(lines()).filter((l) => l.message === 'login rate limit exceeded');
  expect(violations).toHaveLength(rejected);
  for (const v of violations) {
    expect(ips).toContain(v.ip);
    expect(emails).toContain(v.attemptedEmail);
  }
}

/** PROP 10 model check: lockout after 5 consecutive failures, reset by a success. */
async function checkLockout(guard: LoginGuard, email: string, history: { kind: LoginEvent; upper: boolean }[]) {
  let failures = 0;
  let lockedAt: [number, number] | null = null;
  for (const event of history) {
    // A new address per attempt: only the account rule is in play.
    const ip = freshIp();
    const typed = event.upper ? email.toUpperCase() : email;
    const outcome = await attempt(guard, ip, typed);
    if (lockedAt) {
      // Locked: refused before any password is looked at, whichever password comes.
      expect(outcome.kind).toBe('locked');
      const error = (outcome as { error: AccountLockedError }).error;
      expect(error.code).toBe(ErrorCode.ACCOUNT_LOCKED);
      expectUnlockAt(error.unlockAt, lockedAt[0], lockedAt[1]);
      continue;
    }
    expect(outcome.kind).toBe('ok');
    if (event.kind === 'right') {
      await guard.recordSuccess(ip, typed);
      failures = 0;
      continue;
    }
    const before = Date.now();
    const unlockAt = await guard.recordFailure(ip, typed);
    failures += 1;
    if (failures >= LIMITS.lockoutThreshold) {
      lockedAt = [before, Date.now()];
      expect(unlockAt).toBeInstanceOf(Date);
      expectUnlockAt(unlockAt, lockedAt[0], lockedAt[1]);
    } else {
      expect(unlockAt).toBeNull();
    }
  }
}

// ------------------------------------------------------------------------------------ properties

describe('login limits as configured', () => {
  it('ship the REQ 5.1/5.2 numbers by default', async () => {
    expect((await testConfig()).auth.login).toEqual(LIMITS);
  });
});

describe('PROP 9 login rate limiting', () => {
  it('attempts 1..5 from an IP pass, every later one is RATE_LIMITED with retry-after in (0, 900]; other IPs unaffected', async () => {
    await fc.assert(
      fc.asyncProperty(ipSequenceArb, (input) => withRedisGuard((guard, lines) => checkIpLimit(guard, lines, input))),
      RUNS,
    );
  });

  it('the limit counts attempts, not failures: successful logins from the IP count too', async () => {
    await withRedisGuard(async (guard) => {
      const ip = freshIp();
      for (let i = 0; i < LIMITS.ipMaxAttempts; i++) {
        await guard.beforeAttempt(ip, 'someone@example.com');
        await guard.recordSuccess(ip, 'someone@example.com');
      }
      await expect(guard.beforeAttempt(ip, 'someone@example.com')).rejects.toBeInstanceOf(RateLimitedError);
    });
  });
});

describe('PROP 10 account lockout after failed logins', () => {
  it('5 consecutive failures lock for 15 minutes whatever comes next; a success in between resets the count (guard)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.emailAddress(), accountHistoryArb, (email, history) =>
        withRedisGuard((guard) => checkLockout(guard, email, history)),
      ),
      RUNS,
    );
  });

  describe('over real logins (HTTP, Argon2, Postgres, Redis)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ ...FAST_HASHING, TRUSTED_PROXIES: '127.0.0.1' }, { actAs: 'anonymous' });
    });
    afterAll(() => t?.close());

    it('locks real and unknown accounts alike; the right password is refused while locked', async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), accountHistoryArb, async (exists, history) => {
          const password = `Right-${strongSecret().slice(0, 16)}`;
          const email = exists ? (await createTestUser(t, [], { password })).email : freshEmail('ghost');
          let failures = 0;
          let lockedAt: [number, number] | null = null;
          for (const event of history) {
            const typed = event.upper ? email.toUpperCase() : email;
            const before = Date.now();
            // A new client address each time: the per-IP limit stays out of the way.
            const res = await login(t, typed, event.kind === 'right' ? password : `wrong-${uniqueTag()}`, freshIp());
            // A lockout answers 423 with Retry-After (the error-reporting plugin); the rest 200.
            expect(res.status).toBe(codeOf(res) === 'ACCOUNT_LOCKED' ? 423 : 200);
            if (codeOf(res) === 'ACCOUNT_LOCKED') expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
            const succeeds = exists && event.kind === 'right';
            if (lockedAt) {
              expect(codeOf(res)).toBe('ACCOUNT_LOCKED');
              expectUnlockAt(res.body.errors![0]!.extensions.unlockAt, lockedAt[0], lockedAt[1]);
            } else if (succeeds) {
              expect(res.body.errors).toBeUndefined();
              expect(res.body.data?.login?.accessToken).toEqual(expect.any(String));
              failures = 0;
            } else {
              failures += 1;
              if (failures >= LIMITS.lockoutThreshold) {
                lockedAt = [before, Date.now()];
                expect(codeOf(res)).toBe('ACCOUNT_LOCKED');
                expect(res.body.errors![0]!.message).toMatch(/^The account is locked until .+Z\.$/);
                expectUnlockAt(res.body.errors![0]!.extensions.unlockAt, lockedAt[0], lockedAt[1]);
              } else {
                // Unknown email and wrong password: the same answer (no enumeration).
                expect(codeOf(res)).toBe('UNAUTHENTICATED');
                expect(res.body.errors![0]!.message).toBe('Invalid email or password.');
              }
            }
          }
        }),
        RUNS,
      );
    });
  });
});

// ------------------------------------------------------------------------------------ over HTTP

describe('login abuse over real HTTP', () => {
  let t: TestApp;
  let direct: TestApp;
  beforeAll(async () => {
    [t, direct] = await Promise.all([
      startTestApp({ ...FAST_HASHING, TRUSTED_PROXIES: '127.0.0.1' }, { actAs: 'anonymous' }),
      startTestApp({ ...FAST_HASHING, TRUSTED_PROXIES: '' }, { actAs: 'anonymous' }),
    ]);
  });
  afterAll(async () => {
    await t?.close();
    await direct?.close();
  });

  it('behind a trusted proxy, the 6th login from one client IP is RATE_LIMITED; other clients are not', async () => {
    const ip = freshIp();
    const emails = Array.from({ length: 7 }, () => freshEmail());
    for (const email of emails.slice(0, 5))
      expect(codeOf(await login(t, email, 'wrong-password', ip))).toBe('UNAUTHENTICATED');
    const limited = await login(t, emails[5]!, 'wrong-password', ip);
    // Nothing succeeded because of a limit: HTTP says so too (429 with Retry-After), like the body.
    expect(limited.status).toBe(429);
    expect(limited.body.data).toBeNull();
    const error = limited.body.errors![0]!;
    expect(error.extensions.code).toBe('RATE_LIMITED');
    expect(error.path).toEqual(['login']);
    expect(error.extensions.retryAfterSeconds).toEqual(expect.any(Number));
    expect(error.extensions.retryAfterSeconds as number).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBe(error.extensions.retryAfterSeconds);
    expect(error.extensions.retryAfterSeconds as number).toBeLessThanOrEqual(900);
    // Still limited with a right-looking attempt; another client behind the same proxy is fine.
    expect(codeOf(await login(t, emails[6]!, 'wrong-password', ip))).toBe('RATE_LIMITED');
    expect(codeOf(await login(t, emails[6]!, 'wrong-password', freshIp()))).toBe('UNAUTHENTICATED');

    // REQ 5.4: each violation logged with the IP and the attempted email.
    const violations = logLines(t.logs()).filter((l) => l.message === 'login rate limit exceeded' && l.ip === ip);
    expect(violations.map((v) => v.attemptedEmail)).toEqual([emails[5], emails[6]]);
    expect(violations.every((v) => v.level === 'warn')).toBe(true);
  });

  it('behind a trusted proxy, addresses the client prepends to X-Forwarded-For do not reset the limit', async () => {
    // The proxy appends the address it saw; whatever the client put before it is not believed.
    const client = freshIp();
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await login(t, freshEmail(), 'wrong-password', `${freshIp()}, ${client}`))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await login(t, freshEmail(), 'wrong-password', `${freshIp()}, ${client}`))).toBe('RATE_LIMITED');
  });

  it('without trusted proxies, a spoofed X-Forwarded-For does not reset the limit: it follows the real peer', async () => {
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await login(direct, freshEmail(), 'wrong-password', freshIp()))).toBe('UNAUTHENTICATED');
    }
    const email = freshEmail();
    const res = await login(direct, email, 'wrong-password', freshIp());
    expect(codeOf(res)).toBe('RATE_LIMITED');
    expect(codeOf(await login(direct, freshEmail(), 'wrong-password', `${freshIp()}, ${freshIp()}`))).toBe(
      'RATE_LIMITED',
    );
    const violation = logLines(direct.logs()).find(
      (l) => l.message === 'login rate limit exceeded' && l.attemptedEmail === email,
    );
    expect(violation).toMatchObject({ ip: '127.0.0.1', attemptedEmail: email });
  });

  it('the 5th wrong password locks a real account (unlockAt); then even the right password is refused; audited', async () => {
    const user = await createTestUser(t, ['ORDER_DESK']);
    const ips = Array.from({ length: 5 }, () => freshIp());
    for (const ip of ips.slice(0, 4)) {
      expect(codeOf(await login(t, user.email, 'not-the-password', ip))).toBe('UNAUTHENTICATED');
    }
    const before = Date.now();
    const locked = await login(t, user.email, 'not-the-password', ips[4]);
    const after = Date.now();
    expect(codeOf(locked)).toBe('ACCOUNT_LOCKED');
    expectUnlockAt(locked.body.errors![0]!.extensions.unlockAt, before, after);
    const unlockAt = locked.body.errors![0]!.extensions.unlockAt as string;
    expect(locked.body.errors![0]!.message).toBe(`The account is locked until ${unlockAt}.`);

    const right = await login(t, user.email, user.password, freshIp());
    expect(codeOf(right)).toBe('ACCOUNT_LOCKED');
    expect(right.body.data).toBeNull();
    expectUnlockAt(right.body.errors![0]!.extensions.unlockAt, before, Date.now());

    const audit = await t.database.prisma.auditLog.findMany({
      where: { userId: user.id, eventType: { in: ['auth.login.failure', 'auth.lockout', 'auth.login.success'] } },
      orderBy: { sequence: 'asc' },
    });
    expect(audit.map((a) => a.eventType)).toEqual([
      ...Array.from({ length: 5 }, () => 'auth.login.failure'),
      'auth.lockout',
    ]);
    expect(audit.slice(0, 5).map((a) => a.ipAddress)).toEqual(ips);
    expect(audit[0]).toMatchObject({
      action: 'login',
      success: false,
      details: { attemptedEmail: user.email, reason: 'wrong-password' },
    });
    expect(audit[5]).toMatchObject({
      action: 'lock',
      success: true,
      ipAddress: ips[4],
      details: { attemptedEmail: user.email, unlockAt },
    });
    const refused = logLines(t.logs()).filter(
      (l) => l.message === 'login attempt on a locked account' && l.attemptedEmail === user.email,
    );
    expect(refused).toHaveLength(1);
  });

  it('an unknown email is locked the same way and gets the same answers (no enumeration)', async () => {
    const ghost = freshEmail('ghost');
    const real = await createTestUser(t, []);
    const answers = async (email: string) => {
      const out: { code: unknown; message: string; keys: string[] }[] = [];
      for (let i = 0; i < 6; i++) {
        const error = (await login(t, email, 'not-the-password', freshIp())).body.errors![0]!;
        out.push({
          code: error.extensions.code,
          message: error.message.replace(/until .*Z\./, 'until <t>.'),
          keys: Object.keys(error.extensions).sort(),
        });
      }
      return out;
    };
    const forGhost = await answers(ghost);
    expect(forGhost.map((a) => a.code)).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'ACCOUNT_LOCKED',
      'ACCOUNT_LOCKED',
    ]);
    expect(await answers(real.email)).toEqual(forGhost);
    const lockouts = await t.database.prisma.auditLog.findMany({ where: { eventType: 'auth.lockout' } });
    expect(lockouts.filter((a) => (a.details as { attemptedEmail?: string }).attemptedEmail === ghost)).toHaveLength(1);
    // Mail only goes to real accounts.
    expect(await t.database.prisma.emailOutbox.count({ where: { toAddress: ghost } })).toBe(0);
  });

  it('REQ 5.5: the owner of a locked account gets an email over SMTP naming the unlock time', async () => {
    const received: { to: string[]; headers: Record<string, string>; body: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), ...parseMessage(chunks) });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    const mailer = createMailer({
      url: `smtp://127.0.0.1:${port}`,
      from: 'ERP Gateway <no-reply@erp.local>',
      logger: captureLogger().logger,
    });
    const worker = createOutboxWorker({ prisma: t.database.prisma, mailer, logger: captureLogger().logger });
    try {
      const user = await createTestUser(t, []);
      let unlockAt: string | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await login(t, user.email, 'not-the-password', freshIp());
        unlockAt = res.body.errors![0]!.extensions.unlockAt as string | undefined;
      }
      expect(unlockAt).toEqual(expect.any(String));
      const queued = await t.database.prisma.emailOutbox.findMany({
        where: { toAddress: user.email, template: 'account-locked' },
      });
      expect(queued).toHaveLength(1);

      // Other tests of this worker's database may have queued mail too: drain until ours is out.
      const ours = () => received.filter((m) => m.to.includes(user.email));
      for (let round = 0; round < 100 && ours().length === 0; round++) {
        if ((await worker.drainOnce()) === 0) break;
      }
      expect(ours()).toHaveLength(1);
      const message = ours()[0]!;
      expect(message.headers.to).toBe(user.email);
      expect(message.headers.subject).toBe('Your account has been locked');
      expect(message.body).toContain(`locked until ${unlockAt}`);
      expect(await t.database.prisma.emailOutbox.findUniqueOrThrow({ where: { id: queued[0]!.id } })).toMatchObject({
        status: 'SENT',
        attempts: 1,
      });
    } finally {
      await worker.stop();
      await mailer.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });
});

/** Headers (unfolded, lower-case names) and the decoded text body of a raw RFC 5322 message. */
function parseMessage(chunks: Buffer[]): { headers: Record<string, string>; body: string } {
  const raw = Buffer.concat(chunks).toString('utf8');
  const split = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of raw
    .slice(0, split)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) {
    body = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  } else if (/base64/i.test(headers['content-transfer-encoding'] ?? '')) {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { headers, body };
}

// ------------------------------------------------------------------------------------ several instances

describe('two instances sharing one Redis namespace', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    // One deployment: the same secrets and pepper, the same Redis key prefix. Real Argon2 cost:
    // the concurrency test below depends on password checks taking as long as in production.
    const env = {
      TRUSTED_PROXIES: '127.0.0.1',
      JWT_SECRETS: strongSecret(),
      PASSWORD_PEPPER: strongSecret(),
    };
    const redisKeyPrefix = `test:${uniqueTag()}:`;
    a = await startTestApp(env, { actAs: 'anonymous', redisKeyPrefix });
    b = await startTestApp(env, { actAs: 'anonymous', redisKeyPrefix });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('failures on instance A lock the account on instance B (and failures add up across instances)', async () => {
    const user = await createTestUser(a, []);
    // The same password works on both: one deployment.
    expect(codeOf(await login(b, user.email, user.password, freshIp()))).toBeUndefined();
    for (let i = 0; i < 4; i++) {
      expect(codeOf(await login(a, user.email, 'wrong-password', freshIp()))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await login(a, user.email, 'wrong-password', freshIp()))).toBe('ACCOUNT_LOCKED');
    expect(codeOf(await login(b, user.email, user.password, freshIp()))).toBe('ACCOUNT_LOCKED');

    const other = await createTestUser(a, []);
    for (const [i, app] of [a, b, a, b].entries()) {
      expect(codeOf(await login(app, other.email, 'wrong-password', freshIp())), `failure ${i + 1}`).toBe(
        'UNAUTHENTICATED',
      );
    }
    expect(codeOf(await login(b, other.email, 'wrong-password', freshIp()))).toBe('ACCOUNT_LOCKED');
    expect(codeOf(await login(a, other.email, other.password, freshIp()))).toBe('ACCOUNT_LOCKED');
  });

  it('the IP limit counts the attempts made on both instances', async () => {
    const ip = freshIp();
    for (const app of [a, b, a, b, a]) {
      expect(codeOf(await login(app, freshEmail(), 'wrong-password', ip))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await login(b, freshEmail(), 'wrong-password', ip))).toBe('RATE_LIMITED');
    expect(codeOf(await login(a, freshEmail(), 'wrong-password', ip))).toBe('RATE_LIMITED');
  });

  // Each attempt counts as a failure before its password is checked, so a burst of concurrent
  // guesses from many addresses cannot get more passwords checked than the threshold.
  it('a burst of concurrent wrong passwords over both instances gets at most 5 of them checked', async () => {
    const user = await createTestUser(a, []);
    const burst = await Promise.all(
      Array.from({ length: 19 }, (_, i) => login(i % 2 === 0 ? a : b, user.email, `wrong-${i}`, freshIp())),
    );
    const afterwards = await login(b, user.email, user.password, freshIp());
    const audited = await a.database.prisma.auditLog.groupBy({
      by: ['eventType'],
      where: { userId: user.id, eventType: { in: ['auth.login.failure', 'auth.lockout'] } },
      _count: true,
    });
    const count = (type: string) => audited.find((row) => row.eventType === type)?._count ?? 0;
    // What PROP 10 requires: at most 5 guesses checked per lock, one lock, one email, and the
    // right password refused afterwards.
    expect({
      checked: count('auth.login.failure'),
      locks: count('auth.lockout'),
      emails: await a.database.prisma.emailOutbox.count({ where: { toAddress: user.email } }),
      answeredInvalid: burst.filter((res) => codeOf(res) === 'UNAUTHENTICATED').length,
      afterwards: codeOf(afterwards),
    }).toEqual({
      checked: LIMITS.lockoutThreshold,
      locks: 1,
      emails: 1,
      answeredInvalid: LIMITS.lockoutThreshold - 1,
      afterwards: 'ACCOUNT_LOCKED',
    });
  });
});

// ------------------------------------------------------------------------------------ Redis down

describe('Redis down: the limits hold per process, in memory', () => {
  const redisCapture = captureLogger('debug');
  let down: RedisClient;
  beforeAll(() => {
    // Nothing listens on port 1: every command fails at once (no offline queue).
    down = createRedis({ url: 'redis://127.0.0.1:1', logger: redisCapture.logger, keyPrefix: 'test:down:' });
  });
  afterAll(() => down.disconnect());

  async function withDownGuard<T>(work: (guard: LoginGuard, lines: () => string[]) => Promise<T>): Promise<T> {
    const capture = captureLogger('debug');
    const result = await work(createLoginGuard({ redis: down, logger: capture.logger, ...LIMITS }), capture.lines);
    // The degradation is logged once per process, not once per attempt.
    const degraded = logLines(capture.lines()).filter(
      (l) => l.message === 'login limits: redis unavailable, using per-instance memory',
    );
    expect(degraded).toHaveLength(1);
    expect(degraded[0]).toMatchObject({ level: 'warn' });
    return result;
  }

  it('PROP 9 holds in memory', async () => {
    await fc.assert(
      fc.asyncProperty(ipSequenceArb, (input) => withDownGuard((guard, lines) => checkIpLimit(guard, lines, input))),
      RUNS,
    );
  });

  it('PROP 10 holds in memory', async () => {
    await fc.assert(
      fc.asyncProperty(fc.emailAddress(), accountHistoryArb, (email, history) =>
        withDownGuard((guard) => checkLockout(guard, email, history)),
      ),
      RUNS,
    );
  });

  it('never throws anything but RATE_LIMITED or ACCOUNT_LOCKED, whatever the calls', async () => {
    const callArb = fc.record({
      op: fc.constantFrom('before', 'failure', 'success'),
      ip: fc.constantFrom('10.9.9.1', '10.9.9.2', '::1'),
      email: fc.constantFrom('a@example.com', 'A@EXAMPLE.COM', 'b@example.com'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { maxLength: 40 }), async (calls) => {
        const guard = createLoginGuard({ redis: down, logger: captureLogger().logger, ...LIMITS });
        for (const call of calls) {
          try {
            if (call.op === 'before') await guard.beforeAttempt(call.ip, call.email);
            else if (call.op === 'failure') await guard.recordFailure(call.ip, call.email);
            else await guard.recordSuccess(call.ip, call.email);
          } catch (error) {
            expect(error).toBeInstanceOf(AppError);
            expect([ErrorCode.RATE_LIMITED, ErrorCode.ACCOUNT_LOCKED]).toContain((error as AppError).code);
            expect(call.op).toBe('before');
          }
        }
      }),
      RUNS,
    );
  });
});

import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from '../../observability/logger.js';
import type { Prisma, PrismaTx } from '../db/client.js';
import type { Mailer } from './mailer.js';

export interface OutboxEmail {
  /** One recipient address. */
  to: string;
  /** One line; line breaks are replaced by spaces. At most 300 characters. */
  subject: string;
  text: string;
  /** What kind of email this is (`account-locked`), for logs and support. At most 100 characters. */
  template: string;
}

/** Column sizes of email_outbox (prisma/schema.prisma). */
const MAX_ADDRESS = 320;
const MAX_SUBJECT = 300;
const MAX_TEMPLATE = 100;
const MAX_ERROR = 2_000;
/** A single address, no display name, no list: nothing that could add recipients or headers. */
const ADDRESS = /^[^\s@,;:<>"()[\]\\]+@[^\s@,;:<>"()[\]\\]+$/;

/**
 * Adds an email to the outbox. Pass the transaction of the change the email is about (the
 * account lock of REQ 5.5): the email exists if and only if that change commits, and the
 * worker delivers it later, so a slow or failing mail server never fails or slows the request.
 */
export async function enqueueEmail(db: Prisma | PrismaTx, email: OutboxEmail): Promise<{ id: string }> {
  const to = email.to.trim();
  const subject = email.subject.replace(/[\r\n]+/g, ' ').trim();
  if (to.length > MAX_ADDRESS || !ADDRESS.test(to)) throw new RangeError('enqueueEmail: `to` is not one email address');
  if (subject.length === 0 || subject.length > MAX_SUBJECT) {
    throw new RangeError(`enqueueEmail: subject must have 1-${MAX_SUBJECT} characters`);
  }
  if (email.template.length === 0 || email.template.length > MAX_TEMPLATE) {
    throw new RangeError(`enqueueEmail: template must have 1-${MAX_TEMPLATE} characters`);
  }
  const row = await db.emailOutbox.create({
    data: { toAddress: to, subject, textBody: email.text, template: email.template },
    select: { id: true },
  });
  return row;
}

export interface OutboxWorkerOptions {
  prisma: Prisma;
  mailer: Mailer;
  logger: Logger;
  /** Wait between polls when the previous batch was not full. @default 1000 */
  pollIntervalMs?: number;
  /** Emails claimed and sent per batch. @default 20 */
  batchSize?: number;
  /** Delivery attempts before an email is marked FAILED. @default 5 */
  maxAttempts?: number;
}

export interface OutboxWorker {
  /** Starts polling; idempotent. */
  start(): void;
  /** Stops polling and resolves once the batch in flight (if any) has finished. */
  stop(): Promise<void>;
  /** Claims and sends one batch; resolves to the number of emails claimed (sent or failed). */
  drainOnce(): Promise<number>;
}

interface ClaimedEmail {
  id: string;
  toAddress: string;
  subject: string;
  textBody: string;
  template: string;
  attempts: number;
}

/**
 * A claimed row whose claim is older than this belongs to an instance that died mid-batch; the
 * next claim returns it to PENDING. While a row is SENDING, next_attempt_at holds its claim time.
 */
const CLAIM_EXPIRY = '5 minutes';
/**
 * A batch stops sending this long after its claim and hands the rest back, so that no row is
 * still being sent when its claim expires and another instance sends it again. With the mailer's
 * 60 s send timeout the last send ends by 3 minutes, well before the 5-minute expiry.
 */
const SEND_BUDGET_MS = 2 * 60_000;
/** Retry delay: 2^attempts seconds, at most 10 minutes. */
const MAX_BACKOFF_SECONDS = 600;

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/** The error as last_error holds it: Postgres text cannot hold NUL, so none gets that far. */
function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replaceAll('\0', ' ');
}

/**
 * Delivers the outbox. Several instances may run it at once: a claim is one UPDATE over rows
 * locked with FOR UPDATE SKIP LOCKED, so each row goes to exactly one instance. Delivery is at
 * least once: an instance that dies after sending but before recording it sends nothing more,
 * and its rows are sent again after the claim expires (with the same Message-ID).
 */
const tracer = trace.getTracer('erp-gateway.outbox');

export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { prisma, mailer } = options;
  const logger = options.logger.child({ component: 'outbox' });
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 20;
  const maxAttempts = options.maxAttempts ?? 5;

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<unknown>>();

  async function recoverExpiredClaims(): Promise<void> {
    const recovered = await prisma.$queryRaw<{ id: string; status: string }[]>`
      UPDATE email_outbox
         SET status = (CASE WHEN attempts >= ${maxAttempts} THEN 'FAILED' ELSE 'PENDING' END)::"OutboxStatus",
             next_attempt_at = now(),
             last_error = 'claim expired: the instance sending it stopped before recording the outcome'
       WHERE status = 'SENDING' AND next_attempt_at < now() - ${CLAIM_EXPIRY}::interval
      RETURNING id, status::text AS status`;
    for (const row of recovered) {
      logger.warn('outbox email claim expired; returned to the queue', { outboxId: row.id, status: row.status });
    }
  }

  async function claim(): Promise<ClaimedEmail[]> {
    await recoverExpiredClaims();
    return prisma.$queryRaw<ClaimedEmail[]>`
      UPDATE email_outbox
         SET status = 'SENDING', attempts = attempts + 1, next_attempt_at = now()
       WHERE id IN (
             SELECT id FROM email_outbox
              WHERE status = 'PENDING' AND next_attempt_at <= now()
              ORDER BY next_attempt_at
              LIMIT ${batchSize}
                FOR UPDATE SKIP LOCKED)
      RETURNING id, to_address AS "toAddress", subject, text_body AS "textBody", template, attempts`;
  }

  async function recordSent(email: ClaimedEmail, messageId: string): Promise<void> {
    // Unconditional: the message is out, whatever happened to the claim meanwhile.
    await prisma.$executeRaw`
      UPDATE email_outbox SET status = 'SENT', sent_at = now(), last_error = NULL WHERE id = ${email.id}::uuid`;
    logger.info('outbox email sent', {
      outboxId: email.id,
      template: email.template,
      attempts: email.attempts,
      messageId,
    });
  }

  async function recordFailure(email: ClaimedEmail, error: unknown): Promise<void> {
    const lastError = truncate(describe(error), MAX_ERROR);
    // Only the claim this worker holds (same attempt number) may record its outcome.
    const [row] = await prisma.$queryRaw<{ status: string; nextAttemptAt: Date }[]>`
      UPDATE email_outbox
         SET status = (CASE WHEN attempts >= ${maxAttempts} THEN 'FAILED' ELSE 'PENDING' END)::"OutboxStatus",
             next_attempt_at = CASE WHEN attempts >= ${maxAttempts} THEN next_attempt_at
                               ELSE now() + least(power(2, attempts), ${MAX_BACKOFF_SECONDS}) * interval '1 second' END,
             last_error = ${lastError}
       WHERE id = ${email.id}::uuid AND status = 'SENDING' AND attempts = ${email.attempts}
      RETURNING status::text AS status, next_attempt_at AS "nextAttemptAt"`;
    const fields = { outboxId: email.id, template: email.template, attempts: email.attempts, error: lastError };
    if (row?.status === 'FAILED') logger.error('outbox email failed for good', { ...fields, maxAttempts });
    else logger.warn('outbox email not sent; will retry', { ...fields, nextAttemptAt: row?.nextAttemptAt });
  }

  async function release(emails: ClaimedEmail[]): Promise<void> {
    // Not an attempt: hand the rows back as they were before this claim.
    await prisma.emailOutbox.updateMany({
      where: { id: { in: emails.map((e) => e.id) }, status: 'SENDING' },
      data: { status: 'PENDING', attempts: { decrement: 1 }, nextAttemptAt: new Date() },
    });
    logger.warn('outbox batch ran out of time; unsent emails returned to the queue', {
      outboxIds: emails.map((e) => e.id),
    });
  }

  async function deliver(email: ClaimedEmail): Promise<void> {
    // One span per delivery (the worker runs outside any request): SMTP and the outbox updates
    // are its children, and the email carries its trace context.
    const attributes = { 'messaging.message.id': email.id };
    await tracer.startActiveSpan('outbox.deliver', { attributes }, async (span) => {
      try {
        let messageId: string;
        try {
          ({ messageId } = await mailer.send({
            to: email.toAddress,
            subject: email.subject,
            text: email.textBody,
            id: email.id,
          }));
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          await recordFailure(email, error);
          return;
        }
        await recordSent(email, messageId);
      } finally {
        span.end();
      }
    });
  }

  async function runBatch(): Promise<number> {
    const claimedAt = performance.now();
    const emails = await claim();
    for (const [index, email] of emails.entries()) {
      if (performance.now() - claimedAt > SEND_BUDGET_MS) {
        await release(emails.slice(index)).catch((error: unknown) =>
          logger.error('outbox could not return unsent emails to the queue', { error }),
        );
        break;
      }
      // One email's trouble (even recording its outcome) never stops the others; a row left
      // SENDING is recovered when its claim expires.
      await deliver(email).catch((error: unknown) =>
        logger.error('outbox could not record the outcome of an email', { outboxId: email.id, error }),
      );
    }
    return emails.length;
  }

  function drainOnce(): Promise<number> {
    const batch = runBatch();
    inFlight.add(batch);
    void batch.finally(() => inFlight.delete(batch)).catch(() => undefined);
    return batch;
  }

  async function tick(): Promise<void> {
    timer = undefined;
    let claimed = 0;
    try {
      claimed = await drainOnce();
    } catch (error) {
      logger.error('outbox batch failed', { error });
    }
    if (!running) return;
    // A full batch means more may be waiting: go again at once.
    timer = setTimeout(() => void tick(), claimed >= batchSize ? 0 : pollIntervalMs);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      timer = setTimeout(() => void tick(), 0);
      timer.unref();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([...inFlight]);
    },
    drainOnce,
  };
}

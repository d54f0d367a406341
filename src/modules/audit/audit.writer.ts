import { randomUUID } from 'node:crypto';
import { Prisma as PrismaSql } from '../../generated/prisma/client.js';
import type { Logger } from '../../observability/logger.js';
import type { Prisma, PrismaTx } from '../../platform/db/index.js';
import { computeAuditHash, GENESIS_HASH, type AuditChainFields } from './audit.hash.js';

/**
 * The advisory lock that serializes appends to the chain across every instance: whoever holds
 * it reads the head, numbers and hashes the new rows and inserts them, and keeps it until
 * commit, so rows become visible in sequence order and each one links to its predecessor.
 * The bytes spell "AUDITCHN"; Prisma Migrate's lock (72707369) is the only other one in use.
 */
export const AUDIT_CHAIN_LOCK_KEY = '4707744067222718542';

/** One security-relevant event (REQ 18.1-18.3). */
export interface AuditEvent {
  /** Dotted kind, e.g. `auth.login.success`, `role.assigned`, `data.sensitive.read`. At most 100 characters. */
  eventType: string;
  /** What was done, e.g. `LOGIN`, `ASSIGN`, `READ`. At most 100 characters. */
  action: string;
  success: boolean;
  /** The acting user (a users.id); null for anonymous events such as a failed login. */
  userId?: string | null;
  /** What was acted on; longer values are cut to 255 characters. */
  resourceId?: string | null;
  /** Longer values are cut to 45 characters. */
  ipAddress?: string | null;
  /** Longer values are cut to 500 characters. */
  userAgent?: string | null;
  /** Event-specific facts (who changed what, before/after); stored as JSONB. */
  details?: Record<string, unknown> | null;
  /** When it happened. @default the moment record/recordBatched is called */
  timestamp?: Date;
}

/** Where a recorded event landed in the chain. */
export interface AuditRecorded {
  id: string;
  sequence: bigint;
  hash: string;
}

export interface AuditWriterOptions {
  prisma: Prisma;
  logger: Logger;
  /** How long recordBatched events may wait before they are written. @default 200 */
  flushIntervalMs?: number;
  /** Most events written in one transaction; reaching it starts a flush at once. @default 100 */
  maxBatch?: number;
  /** Most events held in memory while the database is failing; beyond it new ones are dropped and counted. @default 10000 */
  maxQueue?: number;
}

export interface AuditWriter {
  /**
   * Appends one event. With `tx` the row is written in the caller's transaction and commits or
   * rolls back with it (a role change and its audit row are one unit); the transaction must be
   * READ COMMITTED. The chain lock is then held until that transaction ends and every other
   * audit write in the cluster waits for it, so record last, just before commit. Without `tx`
   * the row is written in a short transaction of its own. Rejects when the row cannot be written.
   */
  record(event: AuditEvent, tx?: PrismaTx): Promise<AuditRecorded>;
  /**
   * Queues a high-volume event (sensitive field reads) to be written with others in one
   * transaction within `flushIntervalMs`. Never throws: failures are logged.
   */
  recordBatched(event: AuditEvent): void;
  /** Writes every queued event now. Never rejects: a failed batch is logged and retried once on the next tick. */
  flush(): Promise<void>;
  /** Flushes (retrying a failed batch once more at once) and stops the timer; later events are dropped and logged. */
  close(): Promise<void>;
}

/** An event cleaned to exactly what the database stores, so its hash verifies when read back. */
type AuditRowDraft = Omit<AuditChainFields, 'sequence' | 'prevHash'>;

interface Pending {
  row: AuditRowDraft;
  /** Failed flushes this event has been part of. */
  failures: number;
}

// Postgres text cannot hold NUL, and a lone UTF-16 surrogate would reach the database as U+FFFD
// (or be refused inside JSONB): replace both up front so what is hashed is what is stored.
// eslint-disable-next-line no-control-regex -- NUL is one of the characters to replace
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const UUID = /^[0-9a-f]{32}$/;
// Years Postgres and Date#toISOString write the same way (Date.UTC would read year 1 as 1901).
const MIN_TIMESTAMP = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_TIMESTAMP = Date.parse('9999-12-31T23:59:59.999Z');

function storableText(value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD');
}

/** VARCHAR(n) counts characters (code points), not UTF-16 units. */
function clip(value: string, max: number): string {
  const cleaned = storableText(value);
  if (cleaned.length <= max) return cleaned;
  const codePoints = Array.from(cleaned);
  return codePoints.length <= max ? cleaned : codePoints.slice(0, max).join('');
}

function optionalText(value: string | null | undefined, max: number): string | null {
  return value === undefined || value === null ? null : clip(String(value), max);
}

function requiredText(name: string, value: string, max: number): string {
  const cleaned = typeof value === 'string' ? storableText(value) : '';
  if (cleaned.length === 0 || Array.from(cleaned).length > max) {
    throw new TypeError(`audit event ${name} must be a non-empty string of at most ${max} characters`);
  }
  return cleaned;
}

/** Postgres accepts several UUID spellings and returns the lower-case hyphenated one. */
function canonicalUuid(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const hex = String(value).toLowerCase().replace(/[{}-]/g, '');
  if (!UUID.test(hex)) throw new TypeError('audit event userId must be a UUID');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A value as JSON.stringify would write it (toJSON, undefined and functions dropped from
 * objects and nulled in arrays, non-finite numbers as null) plus bigint as a decimal string,
 * with every string and key made storable. Built directly rather than through
 * JSON.parse(JSON.stringify(...)), which Node 24's JSON.parse can get wrong (see parseJsonText).
 */
function toStorableJson(input: unknown, key: string, ancestors: object[]): unknown {
  let value = input;
  if (value !== null && (typeof value === 'object' || typeof value === 'bigint')) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key);
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) {
    value = value.valueOf();
  }
  switch (typeof value) {
    case 'string':
      return storableText(value);
    case 'number':
      // -0 is written as 0 by JSON.stringify; keep the stored value and the hashed one equal.
      return Number.isFinite(value) ? value + 0 : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return null;
  if (ancestors.includes(value)) throw new TypeError('audit event details must not be circular');
  const path = [...ancestors, value];
  if (Array.isArray(value)) {
    return value.map((item, index) => toStorableJson(item, String(index), path) ?? null);
  }
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    const converted = toStorableJson(item, name, path);
    // defineProperty, not assignment: a "__proto__" key stays an ordinary key.
    if (converted !== undefined) {
      Object.defineProperty(out, storableText(name), {
        value: converted,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
}

/** details as JSONB will hold them. */
function storableDetails(details: Record<string, unknown> | null | undefined): unknown {
  if (details === undefined || details === null) return null;
  return toStorableJson(details, '', []) ?? null;
}

function toDraft(event: AuditEvent): AuditRowDraft {
  const timestamp = event.timestamp ?? new Date();
  const ms = timestamp instanceof Date ? timestamp.getTime() : Number.NaN;
  if (!(ms >= MIN_TIMESTAMP && ms <= MAX_TIMESTAMP)) {
    throw new TypeError('audit event timestamp must be a valid Date between years 1 and 9999');
  }
  return {
    id: randomUUID(),
    timestamp: new Date(ms),
    eventType: requiredText('eventType', event.eventType, 100),
    userId: canonicalUuid(event.userId),
    resourceId: optionalText(event.resourceId, 255),
    action: requiredText('action', event.action, 100),
    ipAddress: optionalText(event.ipAddress, 45),
    userAgent: optionalText(event.userAgent, 500),
    success: event.success === true,
    details: storableDetails(event.details),
  };
}

/**
 * Appends rows to the chain inside `tx`, in order: lock, read the head, number, hash, insert.
 * The table is append-only (an UPDATE is refused by trigger), so the sequence is drawn first
 * and inserted explicitly instead of hashing after the insert.
 */
async function appendRows(tx: PrismaTx, drafts: readonly AuditRowDraft[]): Promise<AuditRecorded[]> {
  // A statement of its own: a statement's snapshot is taken before it waits for the lock.
  const [lock] = await tx.$queryRaw<{ isolation: string }[]>`
    SELECT current_setting('transaction_isolation') AS isolation
    FROM pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY}::bigint)`;
  // Under REPEATABLE READ or SERIALIZABLE the snapshot predates the lock, so the head read below
  // could miss a row committed meanwhile and fork the chain.
  if (lock?.isolation !== 'read committed') {
    throw new Error(`audit rows must be written in a READ COMMITTED transaction, not ${lock?.isolation}`);
  }
  const [head] = await tx.$queryRaw<{ prev: string | null; seqs: string }[]>`
    SELECT (SELECT "hash" FROM "audit_logs" ORDER BY "sequence" DESC LIMIT 1) AS prev,
           (SELECT string_agg(nextval(pg_get_serial_sequence('"audit_logs"', 'sequence'))::text, ',')
              FROM generate_series(1, ${drafts.length}::int)) AS seqs`;
  const sequences = (head?.seqs ?? '')
    .split(',')
    .map((s) => BigInt(s))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let prevHash = head?.prev ?? GENESIS_HASH;
  const rows = drafts.map((draft, i) => {
    const sequence = sequences[i]!;
    const hash = computeAuditHash({ ...draft, sequence: sequence.toString(), prevHash });
    const row = { ...draft, sequence, prevHash, hash };
    prevHash = hash;
    return row;
  });
  const values = rows.map(
    (r) => PrismaSql.sql`(
      ${r.id}::uuid, ${r.sequence.toString()}::bigint, ${r.timestamp.toISOString()}::timestamptz,
      ${r.eventType}, ${r.userId}::uuid, ${r.resourceId}, ${r.action}, ${r.ipAddress}, ${r.userAgent},
      ${r.success}::boolean, ${r.details === null ? null : JSON.stringify(r.details)}::jsonb, ${r.prevHash}, ${r.hash})`,
  );
  await tx.$executeRaw`
    INSERT INTO "audit_logs" ("id", "sequence", "timestamp", "event_type", "user_id", "resource_id", "action",
      "ip_address", "user_agent", "success", "details", "prev_hash", "hash")
    VALUES ${PrismaSql.join(values)}`;
  return rows.map(({ id, sequence, hash }) => ({ id, sequence, hash }));
}

function describeForLog(row: AuditRowDraft) {
  return {
    eventType: row.eventType,
    action: row.action,
    success: row.success,
    userId: row.userId,
    resourceId: row.resourceId,
    timestamp: row.timestamp.toISOString(),
  };
}

/** The write side of the append-only, hash-chained audit log (REQ 18.1-18.4, PROP 16). */
export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const { prisma } = options;
  const logger = options.logger.child({ component: 'audit' });
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxBatch = Math.max(1, options.maxBatch ?? 100);
  const maxQueue = Math.max(maxBatch, options.maxQueue ?? 10_000);

  const queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let droppedQueueFull = 0;
  let closed = false;
  // Appends through one caller transaction run one after another: interleaved, two of them
  // would read the same head and fork the chain.
  const perTransaction = new WeakMap<object, Promise<unknown>>();

  function inOwnTransaction<T>(work: (tx: PrismaTx) => Promise<T>): Promise<T> {
    return prisma.$transaction(work, { isolationLevel: 'ReadCommitted' });
  }

  function schedule() {
    if (timer || closed || queue.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, flushIntervalMs);
    // Pending audit events must not keep a process alive; close() writes them on shutdown.
    timer.unref();
  }

  async function drain(): Promise<void> {
    // This flush takes everything queued; the tick that was waiting for it is not needed.
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (droppedQueueFull > 0) {
      logger.error('audit events dropped: the batch queue is full (the database is failing?)', {
        dropped: droppedQueueFull,
        maxQueue,
      });
      droppedQueueFull = 0;
    }
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        await inOwnTransaction((tx) =>
          appendRows(
            tx,
            batch.map((p) => p.row),
          ),
        );
      } catch (error) {
        const retry = batch.filter((p) => p.failures === 0);
        const dropped = batch.filter((p) => p.failures > 0);
        logger.error('audit batch could not be written', {
          error,
          events: batch.length,
          willRetry: retry.length,
          dropped: dropped.length,
        });
        if (dropped.length > 0) {
          logger.error('audit events dropped after a retry failed', {
            events: dropped.map((p) => describeForLog(p.row)),
          });
        }
        queue.unshift(...retry.map((p) => ({ row: p.row, failures: p.failures + 1 })));
        // The retry waits for the next tick rather than hammering a failing database.
        break;
      }
    }
    schedule();
  }

  function flush(): Promise<void> {
    // One flush at a time, in call order; drain never rejects.
    flushing = flushing.then(drain).catch((error: unknown) => {
      logger.error('audit flush failed', { error });
    });
    return flushing;
  }

  return {
    async record(event, tx) {
      const draft = toDraft(event);
      if (!tx) return (await inOwnTransaction((own) => appendRows(own, [draft])))[0]!;
      const before = perTransaction.get(tx) ?? Promise.resolve();
      const mine = before.catch(() => undefined).then(() => appendRows(tx, [draft]));
      perTransaction.set(tx, mine);
      return (await mine)[0]!;
    },

    recordBatched(event) {
      if (closed) {
        logger.error('audit event recorded after the writer was closed; dropped', { eventType: event.eventType });
        return;
      }
      let draft: AuditRowDraft;
      try {
        draft = toDraft(event);
      } catch (error) {
        logger.error('invalid audit event dropped', { error, eventType: event.eventType });
        return;
      }
      if (queue.length >= maxQueue) {
        droppedQueueFull += 1;
        return;
      }
      queue.push({ row: draft, failures: 0 });
      if (queue.length >= maxBatch) void flush();
      else schedule();
    },

    flush,

    async close() {
      if (closed) return flushing;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await flush();
      // No next tick after close: a failed batch gets its one retry now, then what is left goes.
      if (queue.length > 0) await flush();
      if (queue.length > 0) {
        logger.error('audit events dropped at close: the database is failing', {
          events: queue.splice(0).map((p) => describeForLog(p.row)),
        });
      }
    },
  };
}

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  computeAuditHash,
  createAuditWriter,
  parseJsonText,
  verifyAuditChain,
  type AuditEvent,
} from '../../src/modules/audit/index.js';
import {
  createDatabase,
  createTransactionRunner,
  describeDbFailure,
  type Database,
} from '../../src/platform/db/index.js';
import { dropDatabase } from '../helpers/databases.js';
import { captureLogger, ROOT, scratchDatabase, strongSecret, uniqueTag } from '../helpers/kit.js';

const EVENT_TYPES = [
  'auth.login.success',
  'auth.login.failure',
  'auth.lockout',
  'auth.logout',
  'auth.refresh.reuse',
  'auth.mfa.enabled',
  'auth.password.changed',
  'role.assigned',
  'permission.granted',
  'data.sensitive.read',
];

/** Characters Postgres cannot store as given (NUL, lone surrogates) mixed into ordinary ones. */
const nastyUnit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\u{1F600}', 'é', '"', '\\', ' '),
);
const nastyText = (maxLength: number) => fc.string({ unit: nastyUnit, maxLength });

function eventArbitrary(userIds: readonly string[]): fc.Arbitrary<AuditEvent> {
  return fc.record(
    {
      eventType: fc.constantFrom(...EVENT_TYPES),
      action: fc.constantFrom('LOGIN', 'LOGOUT', 'LOCK', 'ASSIGN', 'GRANT', 'READ', 'CHANGE'),
      success: fc.boolean(),
      // Upper case too: Postgres returns UUIDs in lower case, the hash must not care.
      userId: fc.option(fc.constantFrom(...userIds, ...userIds.map((id) => id.toUpperCase())), { nil: null }),
      resourceId: fc.option(nastyText(300), { nil: null }),
      ipAddress: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: null }),
      userAgent: fc.option(nastyText(600), { nil: null }),
      details: fc.option(fc.dictionary(nastyText(8), fc.jsonValue({ maxDepth: 3, stringUnit: nastyUnit })), {
        nil: null,
      }),
      timestamp: fc.date({
        min: new Date('1990-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      }),
    },
    { requiredKeys: ['eventType', 'action', 'success'] },
  ) as fc.Arbitrary<AuditEvent>;
}

/** Every row, exactly as Postgres holds it, in chain order. */
async function snapshot(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ j: string }>(`SELECT to_jsonb(a)::text AS j FROM audit_logs a ORDER BY sequence`);
  return rows.map((r) => r.j);
}

async function countRows(pool: pg.Pool, where = 'TRUE', params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_logs WHERE ${where}`, params);
  return Number(rows[0]!.n);
}

/** The change must be refused by the append-only trigger (SQLSTATE 42501), not silently ignored. */
async function expectRefused(attempt: () => Promise<unknown>, label: string) {
  const error = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${label} was accepted`).toBeDefined();
  expect(describeDbFailure(error)?.sqlState, `${label}: ${String(error)}`).toBe('42501');
}

interface Scratch {
  name: string;
  url: string;
  db: Database;
  pool: pg.Pool;
  userIds: string[];
}

const scratches: Scratch[] = [];
async function openScratch(label: string): Promise<Scratch> {
  const { url, name } = await scratchDatabase(label, { migrated: true });
  const db = createDatabase({ url, logger: captureLogger('error').logger, poolSize: 10 });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const tag = uniqueTag();
  const users = await Promise.all(
    [1, 2, 3].map((i) =>
      db.prisma.user.create({
        data: { email: `audit${i}.${tag}@example.com`, displayName: `u${i}`, passwordHash: 'x' },
      }),
    ),
  );
  const scratch = { name, url, db, pool, userIds: users.map((u) => u.id) };
  scratches.push(scratch);
  return scratch;
}
afterAll(async () => {
  for (const s of scratches) {
    await s.pool.end();
    await s.db.close();
    await dropDatabase(s.name);
  }
});

let main: Scratch;
beforeAll(async () => {
  main = await openScratch('audit');
});

type Attack = (s: Scratch, target: { id: string; sequence: string }) => Promise<unknown>;
const ATTACKS: Record<string, Attack> = {
  'prisma update': (s, t) => s.db.prisma.auditLog.update({ where: { id: t.id }, data: { action: 'FORGED' } }),
  'prisma upsert': (s, t) =>
    s.db.prisma.auditLog.upsert({
      where: { id: t.id },
      create: { eventType: 'x', action: 'x', success: true, prevHash: '0'.repeat(64), hash: '0'.repeat(64) },
      update: { success: false },
    }),
  'prisma updateMany': (s) => s.db.prisma.auditLog.updateMany({ data: { details: { forged: true } } }),
  'prisma delete': (s, t) => s.db.prisma.auditLog.delete({ where: { id: t.id } }),
  'prisma deleteMany': (s) => s.db.prisma.auditLog.deleteMany({}),
  'raw UPDATE (Prisma)': (s, t) =>
    s.db.prisma.$executeRaw`UPDATE audit_logs SET hash = repeat('a', 64) WHERE sequence = ${t.sequence}::bigint`,
  'raw DELETE (pg)': (s, t) => s.pool.query('DELETE FROM audit_logs WHERE id = $1', [t.id]),
  'raw TRUNCATE (pg)': (s) => s.pool.query('TRUNCATE audit_logs'),
  'raw TRUNCATE (Prisma)': (s) => s.db.prisma.$executeRawUnsafe('TRUNCATE TABLE audit_logs'),
  'INSERT … ON CONFLICT DO UPDATE': (s, t) =>
    s.pool.query(
      `INSERT INTO audit_logs SELECT * FROM audit_logs WHERE id = $1 ON CONFLICT (id) DO UPDATE SET action = 'FORGED'`,
      [t.id],
    ),
};

describe('PROP 16 audit log immutability', () => {
  it('rows written by record/recordBatched (some concurrently) cannot be updated, deleted or truncated; the chain verifies', async () => {
    const writer = createAuditWriter({
      prisma: main.db.prisma,
      logger: captureLogger('error').logger,
      flushIntervalMs: 10,
      maxBatch: 3,
    });
    let written = await countRows(main.pool);
    const step = fc.record({
      event: eventArbitrary(main.userIds),
      via: fc.constantFrom('record', 'batched', 'concurrent'),
    });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 1, maxLength: 8 }),
          fc.subarray(Object.keys(ATTACKS), { minLength: 1, maxLength: 3 }),
          fc.nat(),
          fc.integer({ min: 20, max: 5_000 }),
          fc.boolean(),
          async (steps, attacks, pick, pageSize, throughPool) => {
            let concurrent: Promise<unknown>[] = [];
            for (const { event, via } of steps) {
              if (via === 'concurrent') {
                concurrent.push(writer.record(event));
                continue;
              }
              await Promise.all(concurrent);
              concurrent = [];
              if (via === 'record') await writer.record(event);
              else writer.recordBatched(event);
            }
            await Promise.all(concurrent);
            await writer.flush();
            written += steps.length;

            const before = await snapshot(main.pool);
            expect(before).toHaveLength(written);
            const { rows } = await main.pool.query<{ id: string; sequence: string }>(
              'SELECT id::text, sequence::text FROM audit_logs a ORDER BY a.sequence',
            );
            const target = rows[pick % rows.length]!;
            for (const name of attacks) await expectRefused(() => ATTACKS[name]!(main, target), name);
            expect(await snapshot(main.pool)).toEqual(before);

            const report = await verifyAuditChain(throughPool ? main.pool : main.db.prisma, { pageSize });
            expect(report.problems).toEqual([]);
            expect(report).toMatchObject({ ok: true, rows: written, problemCount: 0 });
          },
        ),
        { numRuns: 100 },
      );
    } finally {
      await writer.close();
    }
    // Each run writes, attacks and verifies for real: about 0.2 s.
  }, 180_000);

  it('stores what Postgres can hold and hashes exactly that: NUL, lone surrogates, long text, UUID spellings, JSON oddities', async () => {
    const writer = createAuditWriter({ prisma: main.db.prisma, logger: captureLogger('error').logger });
    const userId = main.userIds[0]!;
    const resourceId = `res-${uniqueTag()}`;
    const at = new Date('2024-02-29T12:34:56.789Z');
    const recorded = await writer.record({
      eventType: 'data.sensitive.read',
      action: 'READ',
      success: true,
      userId: `{${userId.toUpperCase()}}`,
      resourceId,
      ipAddress: '2001:db8::1',
      userAgent: `a\u0000b\uD800c${'😀'.repeat(600)}`,
      details: {
        field: 'salary',
        when: at,
        big: 12345678901234567890n,
        skipped: undefined,
        ['__proto__']: { polluted: true },
        nested: [1.5, -0, 1e21, 'x\u0000y', null, { b: 2, a: 1 }],
      } as Record<string, unknown>,
      timestamp: at,
    });
    const row = await main.db.prisma.auditLog.findUniqueOrThrow({ where: { id: recorded.id } });
    expect(row.sequence).toBe(recorded.sequence);
    expect(row.hash).toBe(recorded.hash);
    expect(row.userId).toBe(userId);
    expect(row.timestamp.toISOString()).toBe(at.toISOString());
    expect(row.userAgent).toBe(`a\uFFFDb\uFFFDc${'😀'.repeat(495)}`);
    expect(row.details).toEqual({
      field: 'salary',
      when: at.toISOString(),
      big: '12345678901234567890',
      ['__proto__']: { polluted: true },
      nested: [1.5, 0, 1e21, 'x\uFFFDy', null, { a: 1, b: 2 }],
    });
    expect(Object.getPrototypeOf(row.details)).toBe(Object.prototype);
    expect((await verifyAuditChain(main.db.prisma)).ok).toBe(true);

    await expect(writer.record({ eventType: '', action: 'READ', success: true })).rejects.toThrow(/eventType/);
    await expect(writer.record({ eventType: 'x', action: 'READ', success: true, userId: 'alice' })).rejects.toThrow(
      /UUID/,
    );
    await expect(
      writer.record({ eventType: 'x', action: 'READ', success: true, timestamp: new Date(Number.NaN) }),
    ).rejects.toThrow(/timestamp/);
    await writer.close();
  });
});

describe('stored JSON is read without trusting JSON.parse', () => {
  it('parseJsonText reads back what JSON.stringify writes, whatever JSON.parse read before', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ stringUnit: fc.constantFrom('"', '\\', '/', 'a', '\n', '\u0001', 'é', '😀') }),
        (value) => {
          // Poison V8's key cache the way nodejs/node#63785 describes, then read.
          JSON.parse('{"h":[],"\\\\":0}');
          expect(canonicalJson(parseJsonText(JSON.stringify(value)))).toBe(canonicalJson(value));
          expect(canonicalJson(parseJsonText(JSON.stringify(value, null, 1)))).toBe(canonicalJson(value));
        },
      ),
      { numRuns: 300 },
    );
    JSON.parse('{"\\\\": 1}');
    expect(Object.keys(parseJsonText('{"\\"": 1}') as object)).toEqual(['"']);
    expect(Object.keys(parseJsonText('{"__proto__": {"x": 1}}') as object)).toEqual(['__proto__']);
    expect(() => parseJsonText('{"a\\q": 1}')).toThrow(SyntaxError);
  });

  it('a chain whose details have keys \\ and " verifies (the case that broke JSON.parse)', async () => {
    const writer = createAuditWriter({ prisma: main.db.prisma, logger: captureLogger('error').logger });
    await writer.record({ eventType: 'role.assigned', action: 'ASSIGN', success: true, details: { h: [], '\\': 0 } });
    await writer.record({ eventType: 'role.assigned', action: 'ASSIGN', success: true, details: { h: 1, '"': 2 } });
    await writer.close();
    JSON.parse('{"h":[],"\\\\":0}');
    const report = await verifyAuditChain(main.pool);
    expect(report.problems).toEqual([]);
  });
});

describe('audit chain concurrency and atomicity', () => {
  it('50 concurrent record calls from two instances produce one unbroken chain', async () => {
    // A second pool is a second gateway instance: only the advisory lock orders them.
    const other = createDatabase({ url: main.url, logger: captureLogger('error').logger, poolSize: 10 });
    const writers = [main.db, other].map((db) =>
      createAuditWriter({ prisma: db.prisma, logger: captureLogger('error').logger }),
    );
    try {
      const before = await countRows(main.pool);
      const resourceId = `burst-${uniqueTag()}`;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          writers[i % 2]!.record({ eventType: 'auth.login.success', action: 'LOGIN', success: true, resourceId }),
        ),
      );
      expect(new Set(results.map((r) => r.sequence)).size).toBe(50);
      expect(await countRows(main.pool, 'resource_id = $1', [resourceId])).toBe(50);
      const report = await verifyAuditChain(main.db.prisma);
      expect(report.problems).toEqual([]);
      expect(report.rows).toBe(before + 50);
      // Each returned hash is the one stored, and every row links to the one before it.
      const { rows } = await main.pool.query<{
        sequence: string;
        hash: string;
        prev: string | null;
        prev_hash: string;
      }>(
        `SELECT sequence::text, hash, prev_hash, lag(hash) OVER (ORDER BY a.sequence) AS prev
         FROM audit_logs a ORDER BY a.sequence`,
      );
      const bySequence = new Map(rows.map((r) => [r.sequence, r]));
      for (const r of results) expect(bySequence.get(r.sequence.toString())?.hash).toBe(r.hash);
      for (const r of rows.slice(1)) expect(r.prev_hash).toBe(r.prev);
    } finally {
      await Promise.all(writers.map((w) => w.close()));
      await other.close();
    }
  });

  it('record(event, tx) commits and rolls back with the caller transaction', async () => {
    const writer = createAuditWriter({ prisma: main.db.prisma, logger: captureLogger('error').logger });
    const run = createTransactionRunner({ prisma: main.db.prisma, logger: captureLogger('error').logger });
    const tag = uniqueTag();
    await expect(
      run(async (tx) => {
        await tx.warehouse.create({ data: { code: `RB-${tag}`, name: tag } });
        await writer.record(
          { eventType: 'role.assigned', action: 'ASSIGN', success: true, resourceId: `rb-${tag}` },
          tx,
        );
        throw new Error('business rule failed after the audit row');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await countRows(main.pool, 'resource_id = $1', [`rb-${tag}`])).toBe(0);
    expect(await main.db.prisma.warehouse.count({ where: { code: `RB-${tag}` } })).toBe(0);

    // Two audit rows in one transaction, even when started together, chain one after the other.
    await run(async (tx) => {
      await tx.warehouse.create({ data: { code: `OK-${tag}`, name: tag } });
      await Promise.all(
        ['role.assigned', 'permission.granted'].map((eventType) =>
          writer.record({ eventType, action: 'ASSIGN', success: true, resourceId: `ok-${tag}` }, tx),
        ),
      );
    });
    expect(await countRows(main.pool, 'resource_id = $1', [`ok-${tag}`])).toBe(2);
    // The rolled-back row used up a sequence number; a gap is not a break.
    expect((await verifyAuditChain(main.db.prisma)).ok).toBe(true);
    await writer.close();
  });

  it('refuses to append inside a REPEATABLE READ transaction, whose snapshot could miss the chain head', async () => {
    const writer = createAuditWriter({ prisma: main.db.prisma, logger: captureLogger('error').logger });
    const tag = uniqueTag();
    await expect(
      main.db.prisma.$transaction(
        (tx) => writer.record({ eventType: 'role.assigned', action: 'ASSIGN', success: true, resourceId: tag }, tx),
        { isolationLevel: 'RepeatableRead' },
      ),
    ).rejects.toThrow(/READ COMMITTED/);
    expect(await countRows(main.pool, 'resource_id = $1', [tag])).toBe(0);
    await writer.close();
  });
});

describe('recordBatched', () => {
  it('250 events with maxBatch 100 arrive in at most 3 transactions, all in the chain', async () => {
    const writer = createAuditWriter({
      prisma: main.db.prisma,
      logger: captureLogger('error').logger,
      flushIntervalMs: 60_000,
      maxBatch: 100,
    });
    const resourceId = `batch-${uniqueTag()}`;
    for (let i = 0; i < 250; i += 1) {
      writer.recordBatched({
        eventType: 'data.sensitive.read',
        action: 'READ',
        success: true,
        resourceId,
        details: { field: 'salary', i },
      });
    }
    await writer.flush();
    // Rows inserted by one transaction share its xmin.
    const { rows } = await main.pool.query<{ n: string; tx: string }>(
      'SELECT count(*)::text AS n, count(DISTINCT xmin::text)::text AS tx FROM audit_logs WHERE resource_id = $1',
      [resourceId],
    );
    expect(Number(rows[0]!.n)).toBe(250);
    expect(Number(rows[0]!.tx)).toBeLessThanOrEqual(3);
    // Queue order is chain order.
    const order = await main.pool.query<{ i: number }>(
      `SELECT (details->>'i')::int AS i FROM audit_logs WHERE resource_id = $1 ORDER BY sequence`,
      [resourceId],
    );
    expect(order.rows.map((r) => r.i)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    const report = await verifyAuditChain(main.db.prisma);
    expect(report.problems).toEqual([]);
    expect(report.rows).toBe(await countRows(main.pool));
    await writer.close();
  });

  it('flushes on its own within flushIntervalMs, and close() writes what is left and stops the timer', async () => {
    const { logger, lines } = captureLogger('error');
    const writer = createAuditWriter({ prisma: main.db.prisma, logger, flushIntervalMs: 30 });
    const ticked = `tick-${uniqueTag()}`;
    for (let i = 0; i < 5; i += 1)
      writer.recordBatched({ eventType: 'data.sensitive.read', action: 'READ', success: true, resourceId: ticked });
    const deadline = Date.now() + 5_000;
    while ((await countRows(main.pool, 'resource_id = $1', [ticked])) < 5 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await countRows(main.pool, 'resource_id = $1', [ticked])).toBe(5);

    const closing = `close-${uniqueTag()}`;
    writer.recordBatched({ eventType: 'data.sensitive.read', action: 'READ', success: true, resourceId: closing });
    await writer.close();
    expect(await countRows(main.pool, 'resource_id = $1', [closing])).toBe(1);
    writer.recordBatched({ eventType: 'data.sensitive.read', action: 'READ', success: true, resourceId: closing });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await countRows(main.pool, 'resource_id = $1', [closing])).toBe(1);
    expect(lines().some((line) => line.includes('after the writer was closed'))).toBe(true);
  });

  it('a failed flush is logged, never thrown, and retried once on the next tick; a second failure drops the events', async () => {
    let failures = 0;
    // The real client, except that the next `failures` transactions fail as if the database were gone.
    const flaky = new Proxy(main.db.prisma, {
      get(target, property, receiver) {
        if (property === '$transaction' && failures > 0) {
          return () => {
            failures -= 1;
            return Promise.reject(new Error('connection terminated unexpectedly'));
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const { logger, lines } = captureLogger('error');
    const writer = createAuditWriter({ prisma: flaky, logger, flushIntervalMs: 30 });

    const retried = `retry-${uniqueTag()}`;
    failures = 1;
    for (let i = 0; i < 3; i += 1)
      writer.recordBatched({ eventType: 'data.sensitive.read', action: 'READ', success: true, resourceId: retried });
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(await countRows(main.pool, 'resource_id = $1', [retried])).toBe(0);
    expect(
      lines().some((line) => line.includes('audit batch could not be written') && line.includes('"level":"error"')),
    ).toBe(true);
    const deadline = Date.now() + 5_000;
    while ((await countRows(main.pool, 'resource_id = $1', [retried])) < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await countRows(main.pool, 'resource_id = $1', [retried])).toBe(3);

    const dropped = `dropped-${uniqueTag()}`;
    failures = 2;
    writer.recordBatched({ eventType: 'data.sensitive.read', action: 'READ', success: true, resourceId: dropped });
    await writer.flush();
    await writer.flush();
    expect(failures).toBe(0);
    expect(await countRows(main.pool, 'resource_id = $1', [dropped])).toBe(0);
    expect(lines().some((line) => line.includes('dropped after a retry failed') && line.includes(dropped))).toBe(true);

    // An invalid event is logged and dropped, not thrown at the caller.
    expect(() => writer.recordBatched({ eventType: '', action: 'READ', success: true })).not.toThrow();
    expect(lines().some((line) => line.includes('invalid audit event dropped'))).toBe(true);
    await writer.close();
    expect((await verifyAuditChain(main.db.prisma)).ok).toBe(true);
  });
});

describe('tampering detection (REQ 18.4)', () => {
  let s: Scratch;
  beforeAll(async () => {
    s = await openScratch('audit_tamper');
    const writer = createAuditWriter({ prisma: s.db.prisma, logger: captureLogger('error').logger, maxBatch: 7 });
    for (let i = 0; i < 12; i += 1) {
      await writer.record({
        eventType: EVENT_TYPES[i % EVENT_TYPES.length]!,
        action: 'CHANGE',
        success: i % 3 !== 0,
        userId: i % 2 === 0 ? s.userIds[i % 3]! : null,
        resourceId: i % 4 === 0 ? null : `resource-${i}`,
        ipAddress: i % 5 === 0 ? null : `10.0.0.${i}`,
        userAgent: i % 2 === 0 ? 'Mozilla/5.0' : null,
        details: i % 3 === 0 ? null : { i, changed: ['role'], before: { role: 'viewer' } },
      });
    }
    for (let i = 0; i < 18; i += 1) {
      writer.recordBatched({
        eventType: 'data.sensitive.read',
        action: 'READ',
        success: true,
        resourceId: `field-${i}`,
      });
    }
    await writer.close();
  });

  /** Runs work as the superuser with the table's user triggers off, in one transaction. */
  async function withTriggersOff<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await s.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE audit_logs DISABLE TRIGGER USER');
      const result = await work(client);
      await client.query('ALTER TABLE audit_logs ENABLE TRIGGER USER');
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async function chain() {
    const { rows } = await s.pool.query<{ id: string; sequence: string }>(
      'SELECT id::text, sequence::text FROM audit_logs a ORDER BY a.sequence',
    );
    return rows;
  }

  /** Changes one column of one row (or deletes it); returns the row's id afterwards. */
  async function tamper(kind: string, target: { id: string }, client: pg.PoolClient): Promise<string | null> {
    const set: Record<string, string> = {
      eventType: `event_type = 'tampered.event'`,
      userId: `user_id = CASE WHEN user_id IS NULL THEN '${s.userIds[0]}'::uuid ELSE NULL END`,
      resourceId: `resource_id = coalesce(resource_id, '') || '!'`,
      action: `action = 'FORGED'`,
      ipAddress: `ip_address = '198.51.100.66'`,
      userAgent: `user_agent = coalesce(user_agent, '') || ' (forged)'`,
      success: `success = NOT success`,
      details: `details = coalesce(details, '{}'::jsonb) || '{"forged": true}'::jsonb`,
      timestamp: `"timestamp" = "timestamp" + interval '1 millisecond'`,
      id: `id = gen_random_uuid()`,
      prevHash: `prev_hash = repeat('f', 64)`,
      hash: `hash = repeat('e', 64)`,
    };
    if (kind === 'delete') {
      await client.query('DELETE FROM audit_logs WHERE id = $1', [target.id]);
      return null;
    }
    if (kind === 'rehash') {
      // A careful forger: changes the row and recomputes its hash with our own function.
      const { rows } = await client.query<{
        id: string;
        sequence: string;
        ms: string;
        event_type: string;
        user_id: string | null;
        resource_id: string | null;
        ip_address: string | null;
        user_agent: string | null;
        success: boolean;
        details: string | null;
        prev_hash: string;
      }>(
        `SELECT id::text, sequence::text, round(extract(epoch FROM "timestamp") * 1000)::bigint::text AS ms, event_type,
                user_id::text, resource_id, ip_address, user_agent, success, details::text, prev_hash
         FROM audit_logs WHERE id = $1`,
        [target.id],
      );
      const r = rows[0]!;
      const hash = computeAuditHash({
        id: r.id,
        sequence: r.sequence,
        timestamp: new Date(Number(r.ms)),
        eventType: r.event_type,
        userId: r.user_id,
        resourceId: r.resource_id,
        action: 'FORGED',
        ipAddress: r.ip_address,
        userAgent: r.user_agent,
        success: r.success,
        details: r.details === null ? null : parseJsonText(r.details),
        prevHash: r.prev_hash,
      });
      await client.query(`UPDATE audit_logs SET action = 'FORGED', hash = $2 WHERE id = $1`, [target.id, hash]);
      return target.id;
    }
    const { rows } = await client.query<{ id: string }>(
      `UPDATE audit_logs SET ${set[kind]} WHERE id = $1 RETURNING id::text`,
      [target.id],
    );
    return rows[0]!.id;
  }

  const CONTENT = [
    'eventType',
    'userId',
    'resourceId',
    'action',
    'ipAddress',
    'userAgent',
    'success',
    'details',
    'timestamp',
    'id',
  ];

  it('reports the exact sequence and kind of a changed, re-hashed or deleted row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CONTENT, 'prevHash', 'hash', 'rehash', 'delete'),
        fc.nat(),
        async (kind, pick) => {
          const rows = await chain();
          // Cutting rows off the end leaves no trace in the chain (see AuditChainReport.head).
          const candidates = ['hash', 'rehash', 'delete'].includes(kind) ? rows.slice(0, -1) : rows;
          const index = pick % candidates.length;
          const target = rows[index]!;
          const next = rows[index + 1];
          const {
            rows: [original],
          } = await s.pool.query<{ j: string }>('SELECT to_jsonb(a)::text AS j FROM audit_logs a WHERE id = $1', [
            target.id,
          ]);

          const currentId = await withTriggersOff((client) => tamper(kind, target, client));
          const expected =
            kind === 'prevHash'
              ? [
                  { sequence: target.sequence, kind: 'chain-break' },
                  { sequence: target.sequence, kind: 'hash-mismatch' },
                ]
              : kind === 'hash'
                ? [
                    { sequence: target.sequence, kind: 'hash-mismatch' },
                    { sequence: next!.sequence, kind: 'chain-break' },
                  ]
                : kind === 'rehash' || kind === 'delete'
                  ? [{ sequence: next!.sequence, kind: 'chain-break' }]
                  : [{ sequence: target.sequence, kind: 'hash-mismatch' }];
          const report = await verifyAuditChain(s.pool, { pageSize: 7 });
          expect(report.problems.map((p) => ({ sequence: p.sequence, kind: p.kind }))).toEqual(expected);
          expect(report).toMatchObject({ ok: false, rows: kind === 'delete' ? rows.length - 1 : rows.length });

          // Put the row back exactly as it was; the chain verifies again.
          await withTriggersOff(async (client) => {
            if (currentId) await client.query('DELETE FROM audit_logs WHERE id = $1', [currentId]);
            await client.query(
              'INSERT INTO audit_logs SELECT * FROM jsonb_populate_record(NULL::audit_logs, $1::jsonb)',
              [original!.j],
            );
          });
          expect(await verifyAuditChain(s.pool)).toMatchObject({ ok: true, rows: rows.length, problems: [] });
        },
      ),
      { numRuns: 100 },
    );
    // The triggers are back on.
    await expectRefused(() => s.pool.query('DELETE FROM audit_logs'), 'DELETE after re-enabling');
  });

  function runVerifyCli(url: string): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src', 'modules', 'audit', 'audit-verify.cli.ts')],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            NODE_ENV: 'test',
            LOG_FORMAT: 'json',
            DATABASE_URL: url,
            JWT_SECRETS: strongSecret(),
            PASSWORD_PEPPER: strongSecret(),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`audit:verify did not exit within 30 s:\n${output}`));
      }, 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  it('npm run audit:verify exits 0 on an intact chain and 1 after tampering, naming the row', async () => {
    const intact = await runVerifyCli(s.url);
    expect(intact.output).toContain('audit chain intact');
    expect(intact.code).toBe(0);

    const rows = await chain();
    const target = rows[3]!;
    await withTriggersOff((client) => client.query('DELETE FROM audit_logs WHERE id = $1', [target.id]));
    const broken = await runVerifyCli(s.url);
    expect(broken.code).toBe(1);
    expect(broken.output).toContain('audit chain broken');
    expect(broken.output).toContain(`"sequence":"${rows[4]!.sequence}"`);
    expect(broken.output).toContain('chain-break');
  }, 120_000);
});

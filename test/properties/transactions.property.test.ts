import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, toAppError } from '../../src/errors/index.js';
import {
  backoffDelay,
  classifyDatabaseError,
  createDatabase,
  createTransactionRunner,
  type Database,
  type PrismaTx,
} from '../../src/platform/db/index.js';
import { captureLogger, workerDatabaseUrl } from '../helpers/kit.js';

const RUNS = { numRuns: 100 };
const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

let database: Database;
beforeAll(async () => {
  database = createDatabase({ url: await workerDatabaseUrl(), logger: captureLogger('error').logger, poolSize: 6 });
});
afterAll(() => database.close());

/** Raises a real Postgres error with the given SQLSTATE inside the transaction. */
function raise(tx: PrismaTx, sqlState: string): Promise<unknown> {
  return tx.$executeRawUnsafe(
    `DO $$ BEGIN RAISE EXCEPTION 'injected ${sqlState}' USING ERRCODE = '${sqlState}'; END $$`,
  );
}

describe('PROP 7 transaction atomicity', () => {
  it('a multi-write operation commits all of its writes or none of them', async () => {
    const run = createTransactionRunner({ prisma: database.prisma, logger: captureLogger('error').logger });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        fc.constantFrom('throw', 'unique', 'check'),
        async (writes, failAt, how) => {
          const tag = `tx-${uniq()}`;
          const failing = failAt !== undefined && failAt < writes;
          const attempt = run(async (tx) => {
            for (let i = 0; i < writes; i += 1) {
              if (failing && i === failAt) {
                if (how === 'throw') throw new Error('business rule failed');
                if (how === 'unique') await tx.warehouse.create({ data: { code: `${tag}-0`, name: 'duplicate' } });
                if (how === 'check') await tx.$executeRawUnsafe(`SELECT 1 / 0`);
              }
              await tx.warehouse.create({ data: { code: `${tag}-${i}`, name: tag } });
            }
          });
          if (failing) await expect(attempt).rejects.toBeDefined();
          else await attempt;
          const written = await database.prisma.warehouse.count({ where: { name: tag } });
          expect(written).toBe(failing ? 0 : writes);
        },
      ),
      RUNS,
    );
  });
});

describe('PROP 8 deadlock retry logic', () => {
  it('retries deadlocks, serialization failures and write conflicts up to 3 times with 100/200/400 ms + jitter; never other errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('40P01', '40001', '23505', '22012', 'ok'), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        async (script, jitter) => {
          const delays: number[] = [];
          let attempts = 0;
          const run = createTransactionRunner({
            prisma: database.prisma,
            logger: captureLogger('error').logger,
            sleep: async (ms) => {
              delays.push(ms);
            },
            random: () => jitter,
          });
          const outcome = await run(async (tx) => {
            const step = script[Math.min(attempts, script.length - 1)]!;
            attempts += 1;
            if (step !== 'ok') await raise(tx, step);
            return 'done';
          }).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          // What the runner must have done, computed from the script independently.
          let expectedAttempts = 0;
          let expectedOk = false;
          for (let i = 0; i <= 3; i += 1) {
            const step = script[Math.min(i, script.length - 1)]!;
            expectedAttempts += 1;
            if (step === 'ok') {
              expectedOk = true;
              break;
            }
            if (step !== '40P01' && step !== '40001') break;
          }
          expect(attempts).toBe(expectedAttempts);
          expect('value' in outcome).toBe(expectedOk);
          expect(delays).toHaveLength(expectedAttempts - 1);
          delays.forEach((delay, i) => {
            const base = 100 * 2 ** i;
            expect(delay).toBe(backoffDelay(i + 1, 100, 0.25, () => jitter));
            expect(delay).toBeGreaterThanOrEqual(base);
            expect(delay).toBeLessThanOrEqual(base * 1.25);
          });
        },
      ),
      RUNS,
    );
  });

  it('a real deadlock between two concurrent transactions is retried and both complete', async () => {
    const tag = uniq();
    const [a, b] = await Promise.all(
      ['A', 'B'].map((code) =>
        database.prisma.warehouse.create({ data: { code: `DL-${code}-${tag}`, name: 'deadlock' } }),
      ),
    );
    const retries: string[] = [];
    const run = createTransactionRunner({
      prisma: database.prisma,
      logger: captureLogger('error').logger,
      baseDelayMs: 20,
      onRetry: (event) => retries.push(event.sqlState ?? 'unknown'),
    });
    // Both take their first lock, wait for each other at the barrier, then cross over.
    let arrived = 0;
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const firstRound = new Set<string>();
    const crossing = (first: string, second: string, label: string) =>
      run(async (tx) => {
        await tx.warehouse.update({ where: { id: first }, data: { name: `${label}-1` } });
        if (!firstRound.has(label)) {
          firstRound.add(label);
          arrived += 1;
          if (arrived === 2) release();
          await barrier;
        }
        await tx.warehouse.update({ where: { id: second }, data: { name: `${label}-2` } });
        return label;
      });
    const results = await Promise.all([crossing(a!.id, b!.id, 'ab'), crossing(b!.id, a!.id, 'ba')]);
    expect(results.sort()).toEqual(['ab', 'ba']);
    expect(retries).toContain('40P01');
    const names = (await database.prisma.warehouse.findMany({ where: { id: { in: [a!.id, b!.id] } } })).map(
      (w) => w.name,
    );
    expect(names.every((n) => /^(ab|ba)-[12]$/.test(n))).toBe(true);
  });

  it('a permanent deadlock fails after exactly 3 retries and is classified SERVICE_UNAVAILABLE', async () => {
    let attempts = 0;
    const delays: number[] = [];
    const run = createTransactionRunner({
      prisma: database.prisma,
      logger: captureLogger('error').logger,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const error = await run(async (tx) => {
      attempts += 1;
      await raise(tx, '40P01');
    }).catch((e: unknown) => e);
    expect(attempts).toBe(4);
    expect(delays).toHaveLength(3);
    expect(toAppError(error, [classifyDatabaseError]).code).toBe(ErrorCode.SERVICE_UNAVAILABLE);
  });
});

describe('cancellation and isolation (REQ 4.5)', () => {
  it('aborting rolls the transaction back at once, cancelling the statement in flight', async () => {
    const run = createTransactionRunner({ prisma: database.prisma, logger: captureLogger('error').logger });
    const tag = `abort-${uniq()}`;
    const controller = new AbortController();
    let sleepError: unknown;
    const pending = run(
      async (tx) => {
        await tx.warehouse.create({ data: { code: tag, name: tag } });
        setTimeout(() => controller.abort(new Error('client went away')), 50);
        await tx.$executeRawUnsafe(`SELECT pg_sleep(30)`).catch((e: unknown) => {
          sleepError = e;
          throw e;
        });
      },
      { signal: controller.signal },
    );
    const error = await pending.catch((e: unknown) => e);
    expect(toAppError(error).code).toBe(ErrorCode.REQUEST_CANCELLED);
    await expect.poll(() => sleepError, { timeout: 10_000 }).toBeDefined();
    // The statement was cancelled by the server (57014), not left to run for 30 s.
    expect(JSON.stringify(sleepError)).toMatch(/57014|cancel/i);
    expect(await database.prisma.warehouse.count({ where: { code: tag } })).toBe(0);
  });

  it('an already-aborted signal never starts the transaction', async () => {
    const run = createTransactionRunner({ prisma: database.prisma, logger: captureLogger('error').logger });
    const controller = new AbortController();
    controller.abort();
    let started = false;
    const error = await run(
      async () => {
        started = true;
      },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(started).toBe(false);
    expect(toAppError(error).code).toBe(ErrorCode.REQUEST_CANCELLED);
  });

  it('callers choose the isolation level', async () => {
    const run = createTransactionRunner({ prisma: database.prisma, logger: captureLogger('error').logger });
    for (const [level, expected] of [
      ['Serializable', 'serializable'],
      ['RepeatableRead', 'repeatable read'],
      ['ReadCommitted', 'read committed'],
    ] as const) {
      const seen = await run(
        async (tx) =>
          (await tx.$queryRaw<[{ level: string }]>`SELECT current_setting('transaction_isolation') AS level`)[0].level,
        { isolationLevel: level },
      );
      expect(seen).toBe(expected);
    }
  });
});

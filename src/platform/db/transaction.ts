import { RequestCancelledError } from '../../errors/index.js';
import type { Prisma as PrismaNamespace } from '../../generated/prisma/client.js';
import type { Logger } from '../../observability/logger.js';
import type { Prisma, PrismaTx } from './client.js';
import { describeDbFailure, isRetryableTransactionError } from './db-errors.js';

export type IsolationLevel = PrismaNamespace.TransactionIsolationLevel;

export interface TransactionOptions {
  /** @default 'ReadCommitted' */
  isolationLevel?: IsolationLevel;
  /** Aborting rolls the transaction back at once, cancelling the statement in flight (REQ 4.5). */
  signal?: AbortSignal;
  /** Overrides the runner's retry count for this call. */
  maxRetries?: number;
}

export interface TransactionRunnerOptions {
  prisma: Prisma;
  logger: Logger;
  /** Retries after the first attempt (spec 001 "Retry Strategy"). @default 3 */
  maxRetries?: number;
  /** First backoff; doubles each retry: 100, 200, 400 ms. @default 100 */
  baseDelayMs?: number;
  /** Up to this fraction of the delay is added at random so retries do not collide again. @default 0.25 */
  jitterRatio?: number;
  /** Injected for tests that check the schedule without waiting. @default setTimeout-based sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Math.random */
  random?: () => number;
  /** Called before each retry (metrics: rollbacks/retries). */
  onRetry?: (event: { attempt: number; delayMs: number; sqlState: string | undefined }) => void;
}

export type RunInTransaction = <T>(work: (tx: PrismaTx) => Promise<T>, options?: TransactionOptions) => Promise<T>;

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RequestCancelledError(signal.reason));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RequestCancelledError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The delay before retry number `retry` (1-based): base × 2^(retry-1), plus jitter. */
export function backoffDelay(retry: number, baseDelayMs: number, jitterRatio: number, random: () => number): number {
  const base = baseDelayMs * 2 ** (retry - 1);
  return Math.round(base + base * jitterRatio * random());
}

/**
 * Runs work in one interactive transaction (REQ 4.1, 4.2, 4.4), retrying the whole unit on
 * deadlock, serialization failure and write conflict up to `maxRetries` times with exponential
 * backoff and jitter (REQ 4.3, PROP 8); every other error is thrown at once, after rollback.
 */
export function createTransactionRunner(options: TransactionRunnerOptions): RunInTransaction {
  const { prisma, logger } = options;
  const maxRetriesDefault = options.maxRetries ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const jitterRatio = options.jitterRatio ?? 0.25;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;

  async function attempt<T>(work: (tx: PrismaTx) => Promise<T>, opts: TransactionOptions): Promise<T> {
    const { signal } = opts;
    if (signal?.aborted) throw new RequestCancelledError(signal.reason);
    return prisma.$transaction(
      async (tx) => {
        if (!signal) return work(tx);
        // Cancellation: reject at once so Prisma rolls back, and cancel the statement the
        // transaction is running so the rollback is not queued behind it.
        const [{ pid }] = await tx.$queryRaw<[{ pid: number }]>`SELECT pg_backend_pid() AS pid`;
        let onAbort: (() => void) | undefined;
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => {
            reject(new RequestCancelledError(signal.reason));
            prisma.$executeRaw`SELECT pg_cancel_backend(${pid}::int)`.catch((error: unknown) =>
              logger.warn('could not cancel the statement of an aborted transaction', { error }),
            );
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        });
        try {
          return await Promise.race([work(tx), aborted]);
        } finally {
          if (onAbort) signal.removeEventListener('abort', onAbort);
        }
      },
      opts.isolationLevel ? { isolationLevel: opts.isolationLevel } : undefined,
    );
  }

  return async function runInTransaction<T>(work: (tx: PrismaTx) => Promise<T>, opts: TransactionOptions = {}) {
    const maxRetries = opts.maxRetries ?? maxRetriesDefault;
    for (let retry = 0; ; retry += 1) {
      try {
        return await attempt(work, opts);
      } catch (error) {
        if (opts.signal?.aborted)
          throw error instanceof RequestCancelledError ? error : new RequestCancelledError(error);
        if (!isRetryableTransactionError(error) || retry >= maxRetries) throw error;
        const delayMs = backoffDelay(retry + 1, baseDelayMs, jitterRatio, random);
        const sqlState = describeDbFailure(error)?.sqlState;
        logger.warn('transaction conflict, retrying', { attempt: retry + 1, maxRetries, delayMs, sqlState });
        options.onRetry?.({ attempt: retry + 1, delayMs, sqlState });
        await sleep(delayMs, opts.signal);
      }
    }
  };
}

import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../platform/redis/redis.js';

/** What became of a job the processor took: finished (completed or failed for good) or handed back. */
export type SolveOutcome = 'done' | 'requeue';

/**
 * Runs one solve job by id. `signal` aborts when this instance shuts down: the processor then
 * gives the job back ('requeue') so that another instance, or this one after its restart, runs it.
 */
export type SolveProcessor = (jobId: string, signal: AbortSignal) => Promise<SolveOutcome>;

/** A processor error that retrying cannot fix (the job fails at once). */
export class PermanentSolveError extends Error {
  override name = 'PermanentSolveError';
}

export interface QueueDepth {
  waiting: number;
  active: number;
}

/**
 * The solve queue. Two implementations with this one interface: BullMQ over Redis (shared by
 * every instance, survives restarts) and an in-process queue for embedded mode (single instance
 * only: jobs live in this process, and the database rows bring them back after a restart).
 */
export interface SolveQueue {
  readonly kind: 'redis' | 'in-process';
  /** Adds a job by id; adding an id that is already queued or running does nothing. */
  enqueue(jobId: string): Promise<void>;
  /** Jobs waiting and running (all instances for the Redis queue); the last reading when Redis is slow. */
  depth(): Promise<QueueDepth>;
  /**
   * Starts taking jobs, `concurrency` at a time on this instance; `onFailed` runs once a job has
   * failed for good (after its retries). Not called, or concurrency 0: this instance only enqueues.
   */
  startWorker(
    processor: SolveProcessor,
    concurrency: number,
    onFailed: (jobId: string, error: unknown) => Promise<void>,
  ): void;
  /** Stops taking jobs, gives running ones back to the queue, then closes the queue's connections. */
  close(): Promise<void>;
  /** Removes every job and key of this queue (tests clean up with it). */
  obliterate(): Promise<void>;
}

const QUEUE_NAME = 'scheduling-solve';
/** Attempts per job: a processor error (database hiccup) is retried twice with backoff. */
const ATTEMPTS = 3;
/** Longest wait for Redis when enqueuing; past it generateSchedule answers SERVICE_UNAVAILABLE. */
const ENQUEUE_TIMEOUT_MS = 3_000;
const DEPTH_TIMEOUT_MS = 250;
/** Longest wait for the worker and the queue to close; past it (Redis down) their connections are cut. */
const CLOSE_TIMEOUT_MS = 5_000;
/** BullMQ reports a Redis outage on every retry: one log line per this interval is enough. */
const ERROR_LOG_INTERVAL_MS = 60_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface RedisSolveQueueOptions {
  /** The app's command connection: BullMQ's connections are duplicated from it (same server and credentials). */
  redis: RedisClient;
  /** BullMQ key prefix: the app's REDIS_KEY_PREFIX plus `bull`, so deployments sharing a Redis stay apart. */
  prefix: string;
  logger: Logger;
}

/**
 * BullMQ queue and worker. BullMQ refuses ioredis key prefixes (it namespaces with its own
 * `prefix`) and needs blocking commands without a command timeout, so it gets connections of its
 * own, duplicated from the app's. Jobs carry only the job id: the problem and the result live in
 * Postgres (schedule_jobs), and finished BullMQ jobs are removed.
 */
export function createRedisSolveQueue(options: RedisSolveQueueOptions): SolveQueue {
  const { redis, prefix, logger } = options;
  const log = logger.child({ component: 'scheduling-queue' });
  let lastErrorLog = 0;
  const logError = (what: string, error: Error) => {
    if (Date.now() - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    lastErrorLog = Date.now();
    log.warn(`${what} (repeats are not logged for a minute)`, { error: error.message });
  };
  const queueConnection = redis.duplicate({ keyPrefix: '', connectionName: 'erp-gateway-jobs', commandTimeout: 2_000 });
  queueConnection.on('error', () => undefined); // reported by the app's own connection
  const queue = new Queue(QUEUE_NAME, {
    connection: queueConnection,
    prefix,
    defaultJobOptions: {
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600, count: 1_000 },
    },
  });
  queue.on('error', (error) => logError('scheduling queue error', error));
  let worker: Worker<{ jobId: string }> | undefined;
  let workerConnection: RedisClient | undefined;
  let lastDepth: QueueDepth = { waiting: 0, active: 0 };

  return {
    kind: 'redis',
    async enqueue(jobId) {
      // The job id is the BullMQ id too, so adding it twice is a no-op.
      await withTimeout(queue.add('solve', { jobId }, { jobId }), ENQUEUE_TIMEOUT_MS, 'enqueueing a solve');
    },
    async depth() {
      try {
        const counts = await withTimeout(
          queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          DEPTH_TIMEOUT_MS,
          'reading the queue depth',
        );
        lastDepth = {
          waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
        };
      } catch {
        // Keep the last reading: a scrape must not hang or fail on Redis.
      }
      return lastDepth;
    },
    startWorker(processor, concurrency, onFailed) {
      if (concurrency <= 0 || worker) return;
      workerConnection = redis.duplicate({
        keyPrefix: '',
        connectionName: 'erp-gateway-jobs-worker',
        maxRetriesPerRequest: null,
        enableOfflineQueue: true,
        commandTimeout: undefined,
      });
      workerConnection.on('error', () => undefined);
      worker = new Worker<{ jobId: string }>(
        QUEUE_NAME,
        // Not a sandboxed processor: the solver runs in its own worker thread already.
        async (job: Job<{ jobId: string }>, token?: string, signal?: AbortSignal) => {
          let outcome: SolveOutcome;
          try {
            outcome = await processor(job.data.jobId, signal ?? new AbortController().signal);
          } catch (error) {
            if (error instanceof PermanentSolveError) throw new UnrecoverableError(error.message);
            throw error;
          }
          if (outcome === 'requeue') {
            await job.moveToWait(token);
            throw new WaitingError();
          }
        },
        { connection: workerConnection, prefix, concurrency },
      );
      worker.on('failed', (job, error) => {
        if (!job) return;
        const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
        if (!final) {
          log.warn('schedule solve attempt failed; retrying', { jobId: job.data.jobId, error: error.message });
          return;
        }
        void onFailed(job.data.jobId, error).catch((failure: unknown) =>
          log.error('could not record a failed schedule solve', { jobId: job.data.jobId, error: failure }),
        );
      });
      worker.on('error', (error) => logError('scheduling worker error', error));
    },
    async close() {
      // Running solves are aborted and handed back to the queue, so shutdown does not wait for them.
      worker?.cancelAllJobs('shutdown');
      const connections = [workerConnection, queueConnection].filter((c): c is RedisClient => c !== undefined);
      // With Redis down, BullMQ's close waits for a connection that never comes: cut them first.
      const reachable = connections.every((c) => c.status === 'ready');
      if (!reachable) for (const connection of connections) connection.disconnect();
      const closed = await withTimeout(
        (async () => {
          await worker?.close(!reachable);
          await queue.close();
        })(),
        reachable ? CLOSE_TIMEOUT_MS : 1_000,
        'closing the scheduling queue',
      ).then(
        () => true,
        (error: unknown) => {
          if (reachable) log.warn('scheduling queue did not close in time; cutting its connections', { error });
          return false;
        },
      );
      for (const connection of connections) {
        if (closed && reachable)
          await withTimeout(connection.quit(), 1_000, 'quit').catch(() => connection.disconnect());
        else connection.disconnect();
      }
    },
    async obliterate() {
      await queue.obliterate({ force: true });
    },
  };
}

/**
 * The same queue inside this process, for embedded mode (`npm start` without REDIS_URL): single
 * instance only. Jobs are not retried here; a job running at shutdown goes back to QUEUED in the
 * database and is enqueued again by the runtime's recovery at the next start.
 */
export function createInProcessSolveQueue(logger: Logger): SolveQueue {
  const log = logger.child({ component: 'scheduling-queue' });
  const waiting: string[] = [];
  const active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let processor: SolveProcessor | undefined;
  let failed: ((jobId: string, error: unknown) => Promise<void>) | undefined;
  let concurrency = 0;
  let closed = false;

  function pump(): void {
    while (!closed && processor && active.size < concurrency && waiting.length > 0) {
      const jobId = waiting.shift()!;
      const controller = new AbortController();
      const run = processor;
      const done = (async () => {
        try {
          await run(jobId, controller.signal);
        } catch (error) {
          log.error('schedule solve failed', { jobId, error });
          await failed?.(jobId, error).catch((failure: unknown) =>
            log.error('could not record a failed schedule solve', { jobId, error: failure }),
          );
        } finally {
          active.delete(jobId);
          pump();
        }
      })();
      active.set(jobId, { controller, done });
    }
  }

  return {
    kind: 'in-process',
    async enqueue(jobId) {
      if (closed) throw new Error('the scheduling queue is closed');
      if (!waiting.includes(jobId) && !active.has(jobId)) waiting.push(jobId);
      pump();
    },
    async depth() {
      return { waiting: waiting.length, active: active.size };
    },
    startWorker(run, slots, onFailed) {
      processor = run;
      failed = onFailed;
      concurrency = slots;
      pump();
    },
    async close() {
      closed = true;
      waiting.length = 0;
      for (const { controller } of active.values()) controller.abort(new Error('shutdown'));
      await Promise.allSettled([...active.values()].map((a) => a.done));
    },
    async obliterate() {
      waiting.length = 0;
    },
  };
}

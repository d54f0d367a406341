import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import { ScheduleJobStatus, SolveMethod } from '../../generated/prisma/enums.js';
import type { Logger } from '../../observability/logger.js';
import type { Prisma } from '../../platform/db/index.js';
import type { RedisClient } from '../../platform/redis/redis.js';
import { createSolutionCache, type SolutionCache } from './scheduling.cache.js';
import {
  createInProcessSolveQueue,
  createRedisSolveQueue,
  PermanentSolveError,
  type QueueDepth,
  type SolveOutcome,
  type SolveQueue,
} from './scheduling.queue.js';
import { solveSchedule } from './solver/index.js';
import type { SchedulingProblem, SchedulingResult } from './solver/index.js';

/** The scheduling part of the configuration (AppConfig['scheduling']). */
export interface SchedulingSettings {
  /** Budget of a solve when the request names none. @default 10000 */
  solveBudgetMs: number;
  /** Heap limit of a solver worker thread. @default 2048 */
  memoryLimitMb: number;
  /** Solves this instance runs at once; 0: it only enqueues. @default 1 */
  concurrency: number;
  /** @default 660 */
  minRestMinutes: number;
  /** 0 turns the solution cache off. @default 86400 */
  cacheTtlSeconds: number;
}

export type SolveOutcomeLabel = 'optimal' | 'feasible' | 'heuristic' | 'failed';

/** Where solve outcomes are counted (the app's Prometheus metrics). */
export interface SchedulingMetrics {
  solved(outcome: SolveOutcomeLabel, durationSeconds?: number): void;
}

export interface SchedulingRuntime {
  readonly settings: SchedulingSettings;
  readonly cache: SolutionCache;
  readonly queue: SolveQueue;
  /** Jobs waiting and running, for the queue depth gauge. */
  depth(): Promise<QueueDepth>;
  /**
   * Starts this instance's worker (SCHEDULING_CONCURRENCY > 0) and, for the in-process queue, enqueues
   * the jobs a previous process left unfinished. Called once the app is ready; idempotent.
   */
  start(): void;
  /** Stops the worker (running solves go back to the queue) and closes the queue's connections. */
  close(): Promise<void>;
}

export interface SchedulingRuntimeOptions {
  prisma: Prisma;
  logger: Logger;
  settings: SchedulingSettings;
  metrics: SchedulingMetrics;
  /** With Redis: the BullMQ queue and the cache every instance shares; without: in-process (embedded mode). */
  redis?: { client: RedisClient; keyPrefix: string };
  /**
   * Enqueue the database's QUEUED and RUNNING jobs at start. Right for the in-process queue, which
   * dies with its process; with Redis, BullMQ keeps them. @default true without redis
   */
  recoverPending?: boolean;
}

export const SOLVE_METHOD: Readonly<Record<SchedulingResult['method'], SolveMethod>> = {
  optimal: SolveMethod.OPTIMAL,
  feasible: SolveMethod.FEASIBLE,
  heuristic: SolveMethod.HEURISTIC,
};

/** How long ago a job may have been queued and still be recovered at start. */
const RECOVERY_WINDOW_MS = 24 * 3600 * 1000;
/** The user-safe message of a failed job; the cause is in the logs under the job id. */
const FAILED_MESSAGE = 'The solve failed; the logs have the cause under this job id.';

const tracer = trace.getTracer('erp-gateway.scheduling');

/** The result columns of schedule_jobs for a solver result. */
export function resultColumns(result: SchedulingResult) {
  return {
    method: SOLVE_METHOD[result.method],
    gap: result.gap !== null && Number.isFinite(result.gap) ? result.gap : null,
    fallbackReason: result.fallbackReason?.slice(0, 100) ?? null,
    quality: result.quality as unknown as PrismaTypes.InputJsonValue,
    assignments: result.assignments as unknown as PrismaTypes.InputJsonValue,
    durationMs: Math.round(result.durationMs),
  };
}

/** Records a job that failed for good, unless it already finished. */
export async function markJobFailed(prisma: Prisma, jobId: string, message = FAILED_MESSAGE): Promise<boolean> {
  const { count } = await prisma.scheduleJob.updateMany({
    where: { id: jobId, status: { in: [ScheduleJobStatus.QUEUED, ScheduleJobStatus.RUNNING] } },
    data: { status: ScheduleJobStatus.FAILED, error: message, finishedAt: new Date() },
  });
  return count > 0;
}

const ABORTED = Symbol('aborted');

function whenAborted(signal: AbortSignal): Promise<typeof ABORTED> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(ABORTED);
    else signal.addEventListener('abort', () => resolve(ABORTED), { once: true });
  });
}

/**
 * The job processor: reads the job's problem from Postgres, answers from the solution cache when
 * an identical problem was solved, otherwise solves it (in the solver's worker thread, within the
 * job's time budget) and keeps the solution; one `scheduling.solve` span per job.
 */
function createSolveProcessor(options: {
  prisma: Prisma;
  logger: Logger;
  settings: SchedulingSettings;
  metrics: SchedulingMetrics;
  cache: SolutionCache;
}) {
  const { prisma, settings, metrics, cache } = options;
  const log = options.logger.child({ component: 'scheduling-worker' });
  return async function processSolveJob(jobId: string, signal: AbortSignal): Promise<SolveOutcome> {
    const job = await prisma.scheduleJob.findUnique({
      where: { id: jobId },
      select: { status: true, problem: true, problemHash: true, timeBudgetMs: true, scheduleId: true },
    });
    // Deleted, or a duplicate delivery of a job that already finished: nothing to do.
    if (!job || job.status === ScheduleJobStatus.COMPLETED || job.status === ScheduleJobStatus.FAILED) return 'done';
    const problem = job.problem as unknown as SchedulingProblem;
    await prisma.scheduleJob.update({
      where: { id: jobId },
      data: { status: ScheduleJobStatus.RUNNING, startedAt: new Date(), attempts: { increment: 1 } },
    });
    const attributes = {
      'scheduling.job_id': jobId,
      'scheduling.employees': problem.employees.length,
      'scheduling.shifts': problem.shifts.length,
      'scheduling.time_budget_ms': job.timeBudgetMs,
    };
    return tracer.startActiveSpan('scheduling.solve', { attributes }, async (span) => {
      try {
        let result = await cache.get(job.problemHash, job.timeBudgetMs);
        const cached = result !== undefined;
        if (!result) {
          const solved = await Promise.race([
            solveSchedule(
              problem,
              { timeBudgetMs: job.timeBudgetMs, memoryLimitMb: settings.memoryLimitMb },
              { signal },
            ).catch((error: unknown) => {
              throw signal.aborted ? error : new PermanentSolveError(`solver error: ${(error as Error).message}`);
            }),
            whenAborted(signal),
          ]);
          if (solved === ABORTED) {
            // Shutdown: the job goes back to the queue and starts over wherever it is taken next.
            await prisma.scheduleJob.update({
              where: { id: jobId },
              data: { status: ScheduleJobStatus.QUEUED, startedAt: null },
            });
            span.setAttribute('scheduling.requeued', true);
            log.info('schedule solve interrupted by shutdown; handed back to the queue', { jobId });
            return 'requeue';
          }
          result = solved;
          metrics.solved(result.method, result.durationMs / 1000);
          await cache.set(job.problemHash, job.timeBudgetMs, result);
        }
        await prisma.scheduleJob.update({
          where: { id: jobId },
          data: { status: ScheduleJobStatus.COMPLETED, cached, ...resultColumns(result), finishedAt: new Date() },
        });
        span.setAttributes({
          'scheduling.cached': cached,
          'scheduling.method': result.method,
          'scheduling.duration_ms': Math.round(result.durationMs),
          'scheduling.unfilled_slots': result.quality.unfilledSlots,
          ...(result.gap !== null && Number.isFinite(result.gap) ? { 'scheduling.gap': result.gap } : {}),
          ...(result.fallbackReason ? { 'scheduling.fallback_reason': result.fallbackReason } : {}),
        });
        log.info('schedule solved', {
          jobId,
          cached,
          method: result.method,
          durationMs: result.durationMs,
          fallbackReason: result.fallbackReason,
        });
        return 'done';
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}

/**
 * Wires the solve queue (BullMQ over Redis, else in-process), the solution cache and, when this
 * instance solves (SCHEDULING_CONCURRENCY > 0), the worker. createApp creates it before the
 * metrics, starts it last, and App.close closes it right after the HTTP drain (docs/lifecycle.md).
 */
export function createSchedulingRuntime(options: SchedulingRuntimeOptions): SchedulingRuntime {
  const { prisma, logger, settings, metrics, redis } = options;
  const log = logger.child({ component: 'scheduling' });
  const cache = createSolutionCache({ redis: redis?.client, ttlSeconds: settings.cacheTtlSeconds, logger: log });
  const queue = redis
    ? createRedisSolveQueue({ redis: redis.client, prefix: `${redis.keyPrefix}bull`, logger })
    : createInProcessSolveQueue(logger);
  if (!redis) log.warn('scheduling jobs run in this process only (no REDIS_URL): single instance only');
  const processor = createSolveProcessor({ prisma, logger, settings, metrics, cache });
  let started = false;
  let recovery: Promise<void> = Promise.resolve();
  const start = () => {
    if (started) return;
    started = true;
    queue.startWorker(processor, settings.concurrency, async (jobId, error) => {
      log.error('schedule solve failed', { jobId, error });
      if (await markJobFailed(prisma, jobId)) metrics.solved('failed');
    });
    if (!(options.recoverPending ?? !redis) || settings.concurrency <= 0) return;
    recovery = (async () => {
      const pending = await prisma.scheduleJob.findMany({
        where: {
          status: { in: [ScheduleJobStatus.QUEUED, ScheduleJobStatus.RUNNING] },
          createdAt: { gte: new Date(Date.now() - RECOVERY_WINDOW_MS) },
        },
        orderBy: { createdAt: 'asc' },
        select: { id: true },
      });
      for (const { id } of pending) await queue.enqueue(id);
      if (pending.length > 0) log.info('unfinished schedule solves enqueued again', { jobs: pending.length });
    })().catch((error: unknown) => {
      log.error('could not recover unfinished schedule solves', { error });
    });
  };
  return {
    settings,
    cache,
    queue,
    depth: () => queue.depth(),
    start,
    async close() {
      await recovery;
      await queue.close();
    },
  };
}

import type { FastifyInstance } from 'fastify';
import { getMigrationStatus, type Database, type Migration } from '../platform/db/index.js';
import type { RedisClient } from '../platform/redis/redis.js';

export interface HealthRouteOptions {
  database: Pick<Database, 'prisma' | 'pool'>;
  /** Absent in development without REDIS_URL: reported as not configured. */
  redis?: RedisClient;
  /** The migrations this build ships; any not applied makes the instance not ready. */
  migrations: readonly Migration[];
  /** True once shutdown has begun: readiness answers 503 at once (REQ 8.4). */
  isShuttingDown(): boolean;
  /** Told every readiness verdict (metrics: readiness flapping alerts). */
  onVerdict?(status: Readiness, checks: Checks | undefined): void;
  /** Per-check budgets; all checks run in parallel, so the answer comes within 1 s (REQ 8.5). */
  timeouts?: { databaseMs: number; redisMs: number; migrationsMs: number };
}

export type CheckStatus = 'up' | 'down' | 'not_configured';

export interface CheckResult {
  status: CheckStatus;
  latencyMs: number;
  /** Why a check is down: `timeout` or a short reason (never a connection string). */
  error?: string;
  /** Migrations of this build not applied to the database. */
  pending?: string[];
}

export interface Checks {
  database: CheckResult;
  redis: CheckResult;
  migrations: CheckResult;
}

export type Readiness = 'ready' | 'degraded' | 'not_ready' | 'shutting_down';

/**
 * The readiness rule (REQ 8, PROP 13): shutting down or a database that does not answer (or
 * lacks this build's migrations) is 503; Redis down is `degraded` but still 200, because every
 * request still succeeds on database and in-memory fallbacks.
 */
export function readiness(checks: Checks, shuttingDown: boolean): { status: Readiness; httpStatus: 200 | 503 } {
  if (shuttingDown) return { status: 'shutting_down', httpStatus: 503 };
  if (checks.database.status === 'down' || checks.migrations.status === 'down') {
    return { status: 'not_ready', httpStatus: 503 };
  }
  if (checks.redis.status === 'down') return { status: 'degraded', httpStatus: 200 };
  return { status: 'ready', httpStatus: 200 };
}

const DEFAULT_TIMEOUTS = { databaseMs: 800, redisMs: 300, migrationsMs: 800 };

async function timed(work: () => Promise<Partial<CheckResult> | void>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 100) / 100;
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return { status: 'up', ...outcome, latencyMs: latency() };
  } catch (error) {
    const message = (error as Error).message;
    return { status: 'down', latencyMs: latency(), error: message === 'timeout' ? 'timeout' : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness and readiness for orchestrators (REQ 8.1-8.5). */
export function registerHealthRoutes(server: FastifyInstance, options: HealthRouteOptions): void {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  // The migrations on disk never change while the process runs: once all are applied, they stay
  // applied unless someone rolls the database back, which the next periodic recheck notices.
  let migrationsCheckedAt = 0;
  const MIGRATIONS_RECHECK_MS = 30_000;

  async function checkMigrations(): Promise<Partial<CheckResult>> {
    if (Date.now() - migrationsCheckedAt < MIGRATIONS_RECHECK_MS) return {};
    const status = await getMigrationStatus(options.database.pool, [...options.migrations]);
    if (status.pending.length > 0 || status.problems.length > 0) {
      migrationsCheckedAt = 0;
      return {
        status: 'down',
        error: status.pending.length > 0 ? 'pending migrations' : 'migration history has problems',
        pending: status.pending.map((m) => m.name),
      };
    }
    migrationsCheckedAt = Date.now();
    return {};
  }

  server.get('/health/live', async () => ({ status: 'ok' }));
  server.get('/health/ready', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    if (options.isShuttingDown()) {
      options.onVerdict?.('shutting_down', undefined);
      return reply.code(503).send({ status: 'shutting_down' });
    }
    const redis = options.redis;
    const [database, redisCheck, migrations] = await Promise.all([
      timed(async () => {
        await options.database.prisma.$queryRaw`SELECT 1`;
      }, timeouts.databaseMs),
      redis
        ? timed(async () => {
            await redis.ping();
          }, timeouts.redisMs)
        : Promise.resolve<CheckResult>({ status: 'not_configured', latencyMs: 0 }),
      timed(checkMigrations, timeouts.migrationsMs),
    ]);
    const checks: Checks = { database, redis: redisCheck, migrations };
    const verdict = readiness(checks, options.isShuttingDown());
    options.onVerdict?.(verdict.status, checks);
    return reply.code(verdict.httpStatus).send({ status: verdict.status, checks });
  });
}

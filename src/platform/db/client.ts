import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../../generated/prisma/client.js';
import type { Logger } from '../../observability/logger.js';

export interface DatabaseOptions {
  url: string;
  /** @default 10 */
  poolSize?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /** Postgres statement_timeout of every connection. @default 15000 */
  statementTimeoutMs?: number;
  /** REQ 6.4. @default 100 */
  slowQueryMs?: number;
  /** @default 2000 */
  txMaxWaitMs?: number;
  /** @default 10000 */
  txTimeoutMs?: number;
  /** Shown in pg_stat_activity. @default 'erp-gateway' */
  applicationName?: string;
  logger: Logger;
}

/** One completed SQL statement as Prisma sent it (used by metrics and the statement-count tests). */
export interface StatementEvent {
  sql: string;
  durationMs: number;
}

function createPrismaClient(
  pool: pg.Pool,
  options: DatabaseOptions,
  logger: Logger,
  onStatement: (event: StatementEvent) => void,
) {
  const slowMs = options.slowQueryMs ?? 100;
  const adapter = new PrismaPg(pool, {
    onPoolError: (err) => logger.error('database pool error', { error: err }),
    onConnectionError: (err) => logger.error('database connection error', { error: err }),
  });
  const base = new PrismaClient({
    adapter,
    log: [{ emit: 'event', level: 'query' }],
    transactionOptions: { maxWait: options.txMaxWaitMs ?? 2_000, timeout: options.txTimeoutMs ?? 10_000 },
  });
  // $on exists only on the base client, so subscribe before extending.
  base.$on('query', (event) => onStatement({ sql: event.query, durationMs: event.duration }));
  // REQ 6.4: slow operations are logged with model, operation and duration; arguments are
  // never logged (they hold customer data), only their shape.
  return base.$extends({
    name: 'slow-operation-log',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const started = performance.now();
          try {
            return await query(args);
          } finally {
            const durationMs = performance.now() - started;
            if (durationMs >= slowMs) {
              logger.warn('slow database operation', {
                model,
                operation,
                durationMs: Math.round(durationMs),
                argumentKeys: args && typeof args === 'object' ? Object.keys(args) : [],
              });
            }
          }
        },
      },
    },
  });
}

export type Prisma = ReturnType<typeof createPrismaClient>;
/** The client inside an interactive transaction. */
export type PrismaTx = Parameters<Parameters<Prisma['$transaction']>[0]>[0];

export interface Database {
  prisma: Prisma;
  pool: pg.Pool;
  /** The connection string, for the few connections that live outside the pool (LISTEN). */
  url: string;
  /**
   * Subscribes to every SQL statement Prisma completes (statements that fail raise an error
   * instead, which the error path logs); returns the unsubscribe function.
   */
  onStatement(listener: (event: StatementEvent) => void): () => void;
  /**
   * Runs one read statement on the pool, outside Prisma, and returns its first row's first
   * column as text (null without a row): for statements that build a whole answer as JSON, which
   * Prisma would parse and map value by value. The statement is reported to `onStatement`
   * listeners and the slow-statement log as Prisma's are. `name` prepares it once per connection.
   */
  readText(sql: string, values: readonly unknown[], name?: string): Promise<string | null>;
  /** Pool gauges for health and metrics (REQ 6.5). */
  poolStats(): { size: number; idle: number; inUse: number; waiting: number; max: number };
  close(): Promise<void>;
}

/** How often a pool-exhaustion warning may repeat. */
const EXHAUSTION_LOG_INTERVAL_MS = 10_000;

/**
 * The one Prisma client factory (Prisma 7, engine-free client over @prisma/adapter-pg).
 * The pg pool is ours so pool sizes, timeouts and exhaustion are observable.
 */
export function createDatabase(options: DatabaseOptions): Database {
  const logger = options.logger.child({ component: 'db' });
  const max = options.poolSize ?? 10;
  const pool = new pg.Pool({
    connectionString: options.url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    application_name: options.applicationName ?? 'erp-gateway',
  });
  pool.on('error', (err) => logger.error('idle database connection failed', { error: err }));

  // REQ 6.5: a request waiting for a connection means the pool is exhausted.
  let lastExhaustionLog = 0;
  let exhaustionEvents = 0;
  pool.on('acquire', () => {
    // Waiting while the pool is still growing is connection set-up, not exhaustion.
    if (pool.waitingCount > 0 && pool.totalCount >= max) {
      exhaustionEvents += 1;
      const now = Date.now();
      if (now - lastExhaustionLog >= EXHAUSTION_LOG_INTERVAL_MS) {
        lastExhaustionLog = now;
        logger.warn('database pool exhausted: requests are waiting for a connection', {
          waiting: pool.waitingCount,
          max,
          exhaustionEvents,
        });
      }
    }
  });

  const listeners = new Set<(event: StatementEvent) => void>();
  const slowMs = options.slowQueryMs ?? 100;
  const reportStatement = (statement: StatementEvent) => {
    if (statement.durationMs >= slowMs) {
      logger.warn('slow SQL statement', { sql: statement.sql, durationMs: statement.durationMs, params: '[REDACTED]' });
    }
    for (const listener of listeners) listener(statement);
  };
  const prisma = createPrismaClient(pool, options, logger, reportStatement);

  return {
    prisma,
    pool,
    url: options.url,
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async readText(sql, values, name) {
      const started = performance.now();
      // Every column as text: the caller parses what it asked for.
      const result = await pool.query<unknown[]>({ text: sql, values: [...values], name, rowMode: 'array' });
      reportStatement({ sql, durationMs: Math.round(performance.now() - started) });
      const value = result.rows[0]?.[0];
      return value === undefined || value === null ? null : String(value);
    },
    poolStats: () => ({
      size: pool.totalCount,
      idle: pool.idleCount,
      inUse: pool.totalCount - pool.idleCount,
      waiting: pool.waitingCount,
      max,
    }),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

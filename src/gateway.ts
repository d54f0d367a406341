import { join } from 'node:path';
import { createApp, type App } from './app.js';
import type { AppConfig } from './config/index.js';
import { createPasswordHasher, DEMO_PASSWORD, seedDemoUsers } from './modules/identity/index.js';
import type { Logger } from './observability/logger.js';
import { createDatabase, ensureMigrated, loadMigrations, type Database } from './platform/db/index.js';

export { MigrationError } from './platform/db/index.js';
import type { EmbeddedPostgres } from './platform/db/embedded.js';
import { DEMO_SEED, isCatalogEmpty, seedDatabase } from './platform/db/seed.js';
import { createMailer, createOutboxWorker, type Mailer, type OutboxWorker } from './platform/mail/index.js';
import { readPackageVersion } from './platform/project-root.js';
import { createRedis, waitForRedis, type RedisClient } from './platform/redis/redis.js';

// The gateway's processes and connections, started and stopped in order (docs/lifecycle.md).
// main.ts imports this module only after tracing has started, so that the libraries loaded here
// (http, pg, ioredis, graphql) are instrumented.

/** Pool size against the embedded database: PGlite runs one statement at a time anyway. */
const EMBEDDED_POOL_SIZE = 4;

export interface Running {
  app?: App;
  database?: Database;
  embedded?: EmbeddedPostgres;
  redis?: { client: RedisClient; subscriber: RedisClient };
  outbox?: OutboxWorker;
  mailer?: Mailer;
}

/**
 * Startup order (docs/lifecycle.md): config → logger → database (embedded if none configured)
 * → migrations gate → demo seed → Redis → mailer and outbox worker → app (its schedule solve
 * queue on connections duplicated from Redis, the worker started last) → listen.
 * Shutdown runs the same list backwards: app.close() hands running solves back to the queue.
 */
export async function start(config: AppConfig, logger: Logger, rootDir: string, running: Running): Promise<void> {
  if (config.generatedSecrets.length > 0) {
    logger.warn('no secrets configured: using generated development secrets kept in .data/dev-secrets.json', {
      generated: config.generatedSecrets,
    });
  }
  let url = config.database.url;
  if (url === undefined) {
    // Loaded only here: PGlite's modules cost every instance ~10 MB of RSS (1.5 MB of heap)
    // that a configured database never uses.
    const { startEmbeddedPostgres } = await import('./platform/db/embedded.js');
    running.embedded = await startEmbeddedPostgres({ ...config.database.embedded, logger });
    url = running.embedded.connectionString;
  }
  running.database = createDatabase({
    ...config.database,
    url,
    poolSize: config.database.url === undefined ? EMBEDDED_POOL_SIZE : config.database.poolSize,
    logger,
  });
  const applied = await ensureMigrated(running.database.pool, loadMigrations(join(rootDir, 'prisma', 'migrations')), {
    logger,
    migrateOnStart: config.database.migrateOnStart,
    allowDestructive: config.database.allowDestructiveMigrations,
  });
  if (applied.length > 0) logger.info('migrations applied at startup', { migrations: applied });
  if (config.database.seedDemoData && (await isCatalogEmpty(running.database.pool))) {
    await seedDatabase(running.database.pool, DEMO_SEED, logger);
  }
  if (config.database.seedDemoData) {
    const passwords = createPasswordHasher({
      pepper: config.auth.passwordPepper,
      memoryKib: config.auth.password.argon2MemoryKib,
      timeCost: config.auth.password.argon2TimeCost,
    });
    if ((await seedDemoUsers(running.database.prisma, passwords, logger)) > 0) {
      logger.info(
        `demo sign-in: admin@example.com (and desk@, warehouse@, catalog@, auditor@, customer1@) / ${DEMO_PASSWORD}`,
      );
    }
  }
  if (config.redis.url !== undefined) {
    const options = { url: config.redis.url, keyPrefix: config.redis.keyPrefix, logger };
    running.redis = { client: createRedis(options), subscriber: createRedis({ ...options, name: 'erp-gateway-sub' }) };
    // Not fatal: a Redis outage degrades (DESIGN.md section 1); the connection keeps retrying.
    if (!(await waitForRedis(running.redis.client))) logger.warn('redis not reachable at startup; starting degraded');
  } else {
    logger.warn(
      'REDIS_URL not set: rate limits, lockouts, caches and schedule solve jobs are per process (development only)',
    );
  }
  if (config.mail.smtpUrl === undefined && config.isProductionLike) {
    logger.warn('SMTP_URL not set: notification emails are logged, not sent');
  }
  running.mailer = createMailer({ url: config.mail.smtpUrl, from: config.mail.from, logger });
  running.outbox = createOutboxWorker({
    prisma: running.database.prisma,
    mailer: running.mailer,
    logger,
    pollIntervalMs: config.mail.outboxPollMs,
  });
  running.outbox.start();
  running.app = await createApp(config, {
    logger,
    database: running.database,
    runtime: { version: readPackageVersion(rootDir), startedAt: new Date() },
    ...(running.redis ? { redis: running.redis } : {}),
  });
  const address = await running.app.server.listen({ host: config.http.host, port: config.http.port });
  logger.info('gateway listening', { address, env: config.env });
  if (running.app.metricsServer) {
    const metricsAddress = await running.app.metricsServer.listen({
      host: config.http.host,
      port: config.metrics.port,
    });
    logger.info('metrics listening', { address: `${metricsAddress}/metrics` });
  }
  if (config.graphql.sandbox) {
    const host = config.http.host === '0.0.0.0' || config.http.host === '127.0.0.1' ? 'localhost' : config.http.host;
    logger.info(`Apollo Sandbox: http://${host}:${config.http.port}/graphql`);
  }
}

export async function stop(running: Running, logger: Logger): Promise<void> {
  await running.app?.close();
  await running.outbox?.stop();
  await running.mailer?.close();
  await running.redis?.subscriber.quit().catch(() => undefined);
  await running.redis?.client.quit().catch(() => undefined);
  await running.database?.close();
  await running.embedded?.stop();
  logger.info('shutdown complete');
}

// Decorator metadata for type-graphql must exist before any resolver module is evaluated.
import 'reflect-metadata';
import { join } from 'node:path';
import { createApp, type App } from './app.js';
import { ConfigError, loadConfig, type AppConfig } from './config/index.js';
import { createPasswordHasher, DEMO_PASSWORD, seedDemoUsers } from './modules/identity/index.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createDatabase, ensureMigrated, loadMigrations, MigrationError, type Database } from './platform/db/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './platform/db/embedded.js';
import { DEMO_SEED, isCatalogEmpty, seedDatabase } from './platform/db/seed.js';
import { createMailer, createOutboxWorker, type Mailer, type OutboxWorker } from './platform/mail/index.js';
import { findProjectRoot, readPackageVersion } from './platform/project-root.js';
import { createRedis, waitForRedis, type RedisClient } from './platform/redis/redis.js';

/** Pool size against the embedded database: PGlite runs one statement at a time anyway. */
const EMBEDDED_POOL_SIZE = 4;

interface Running {
  app?: App;
  database?: Database;
  embedded?: EmbeddedPostgres;
  redis?: { client: RedisClient; subscriber: RedisClient };
  outbox?: OutboxWorker;
  mailer?: Mailer;
}

/**
 * Startup order (docs/lifecycle.md): config → logger → database (embedded if none configured)
 * → migrations gate → demo seed → Redis → mailer and outbox worker → app → listen.
 * Shutdown runs the same list backwards.
 */
async function start(config: AppConfig, logger: Logger, rootDir: string, running: Running): Promise<void> {
  if (config.generatedSecrets.length > 0) {
    logger.warn('no secrets configured: using generated development secrets kept in .data/dev-secrets.json', {
      generated: config.generatedSecrets,
    });
  }
  let url = config.database.url;
  if (url === undefined) {
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
    logger.warn('REDIS_URL not set: rate limits, lockouts and caches are per process (development only)');
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

async function stop(running: Running, logger: Logger): Promise<void> {
  await running.app?.close();
  await running.outbox?.stop();
  await running.mailer?.close();
  await running.redis?.subscriber.quit().catch(() => undefined);
  await running.redis?.client.quit().catch(() => undefined);
  await running.database?.close();
  await running.embedded?.stop();
  logger.info('shutdown complete');
}

async function main(): Promise<void> {
  const rootDir = findProjectRoot();
  let config: AppConfig;
  try {
    config = loadConfig({ rootDir });
  } catch (error) {
    // REQ 15.3: every problem named, then a non-zero exit. Messages never contain values.
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    secretValues: config.secretValues,
  });
  const running: Running = {};

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutdown started', { signal });
    const force = setTimeout(
      () => {
        logger.error('shutdown timed out; exiting', { timeoutMs: config.shutdownTimeoutMs });
        process.exit(1);
      },
      config.shutdownReadinessGraceMs + config.shutdownTimeoutMs + 5_000,
    );
    force.unref();
    stop(running, logger).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  try {
    await start(config, logger, rootDir, running);
  } catch (error) {
    if (error instanceof MigrationError)
      logger.error(error.message, { kind: error.kind, migrations: error.migrations });
    else logger.error('startup failed', { error });
    await stop(running, logger).catch(() => undefined);
    process.exitCode = 1;
    // Let the logger flush before the process ends.
    setTimeout(() => process.exit(1), 100).unref();
  }
}

void main();

import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppConfig } from './config/index.js';
import { compareForReload, reloadableSettings } from './config/reload.js';
import { createContextFactory, type GraphQLContext, type RuntimeInfo } from './graphql/context.js';
import { formatGraphQLError } from './graphql/errors.js';
import { createOperationLimitsPlugin } from './graphql/operation-limits.js';
import { createErrorReportingPlugin } from './graphql/plugins/error-reporting.plugin.js';
import { createCachePolicyPlugin, createOperationPolicies } from './graphql/plugins/cache-policy.plugin.js';
import { createCompiledReadsPlugin } from './graphql/plugins/compiled-reads.plugin.js';
import { createHttpCachePlugin } from './graphql/plugins/http-cache.plugin.js';
import { createRateLimitPlugin, createRequestCharger } from './graphql/plugins/rate-limit.plugin.js';
import { cacheDependenciesPlugin, createCachedReadLane } from './graphql/cached-read-lane.js';
import { mergeProjections } from './graphql/projections.js';
import {
  createDocumentStore,
  createPersistedOperationsGate,
  loadPersistedOperations,
  withManifestOperations,
  type PersistedOperationStats,
} from './graphql/persisted-operations.js';
import { registerApiDocsRoute } from './http/api-docs.js';
import { createAdmission } from './http/admission.js';
import { createGraphQLHandler } from './http/graphql-handler.js';
import { applyRateLimitDirectives } from './graphql/directives/rate-limit.directive.js';
import { createRedisCache } from './platform/redis/redis-cache.js';
import { watchVersion } from './platform/db/version-watch.js';
import { createResponseCachePlugin } from './graphql/response-cache.js';
import { createSlidingLog } from './platform/redis/sliding-log.js';
import { createWindowCounter } from './platform/redis/window-counter.js';
import { buildGraphQLSchema } from './graphql/schema.js';
import { registerHealthRoutes } from './http/health.routes.js';
import { registerRequestId, REQUEST_ID_HEADER } from './http/request-id.js';
import { registerSecurity } from './http/security.js';
import { createDrainPlugin } from './http/shutdown-drain.js';
import { createAuditWriter, type AuditWriter } from './modules/audit/index.js';
import { catalogProjections } from './modules/catalog/index.js';
import { customerProjections } from './modules/customers/index.js';
import { createIdentity, type Identity } from './modules/identity/index.js';
import { salesProjections } from './modules/sales/index.js';
import { createSchedulingRuntime, type SchedulingRuntime } from './modules/scheduling/index.js';
import type { Logger } from './observability/logger.js';
import {
  createMetrics,
  createMetricsPlugin,
  newRateLimitStats,
  registerHttpMetrics,
  readBackupStatus,
  registerMetricsRoute,
  statementKind,
  timeRootFields,
  type Metrics,
} from './observability/metrics.js';
import type { RedisClient } from './platform/redis/redis.js';
import { createTransactionRunner, loadMigrations, type Database } from './platform/db/index.js';
import { findProjectRoot } from './platform/project-root.js';

export interface AppDependencies {
  logger: Logger;
  database: Database;
  runtime: RuntimeInfo;
  /** Shared state across instances; absent in development without REDIS_URL (fallbacks in memory). */
  redis?: { client: RedisClient; subscriber: RedisClient };
}

export interface App {
  server: FastifyInstance;
  /** The /metrics listener when METRICS_PORT is set (main.ts listens on it). */
  metricsServer: FastifyInstance | undefined;
  metrics: Metrics;
  identity: Identity;
  audit: AuditWriter;
  /** Schedule solving (issue 8): the solve queue, its worker on this instance and the solution cache. */
  scheduling: SchedulingRuntime;
  /**
   * Applies a freshly loaded configuration's log level, operation limits and rate limits at once;
   * returns what changed and what (connections, secrets, ports…) needs a restart instead.
   */
  reload(next: AppConfig): { changed: string[]; needsRestart: string[] };
  /** The catalog version the response caches key by (`unknown` while not known or caching is off). */
  catalogVersion(): string;
  /** Stops accepting, drains in-flight operations, then closes the HTTP server. */
  close(): Promise<void>;
}

/**
 * Wires the gateway from its configuration and already-created dependencies. Reads no
 * environment and opens no connection of its own: main.ts and the test kit own those.
 */
export async function createApp(config: AppConfig, deps: AppDependencies): Promise<App> {
  const { logger, database, runtime } = deps;
  const server = Fastify({
    logger: false,
    bodyLimit: config.http.bodyLimitBytes,
    // Client IPs come from X-Forwarded-For only when the peer is a configured proxy.
    trustProxy: config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
  });
  registerRequestId(server, logger);
  // Metrics hooks first, so requests refused by the hardening below are counted too.
  const metrics = createMetrics();
  registerHttpMetrics(server, metrics);
  const stopStatementMetrics = database.onStatement((event) => {
    const operation = statementKind(event.sql);
    metrics.db.queries.inc({ operation });
    metrics.db.duration.observe({ operation }, event.durationMs / 1000);
  });
  // Hardening before any route: headers, CORS, overload guard.
  await registerSecurity(server, config, logger, (reason) => metrics.http.shed.inc({ reason }));
  let shuttingDown = false;
  registerHealthRoutes(server, {
    database,
    redis: deps.redis?.client,
    migrations: loadMigrations(join(findProjectRoot(), 'prisma', 'migrations')),
    isShuttingDown: () => shuttingDown,
    onVerdict: (status) => metrics.readiness(status),
  });

  const runInTransaction = createTransactionRunner({ prisma: database.prisma, logger });
  const audit = createAuditWriter({ prisma: database.prisma, logger });
  const identity = createIdentity({
    auth: config.auth,
    prisma: database.prisma,
    redis: deps.redis?.client,
    subscriber: deps.redis?.subscriber,
    audit,
    logger,
    redisKeyPrefix: config.redis.keyPrefix,
  });
  // The solve queue (BullMQ on connections duplicated from deps.redis, else in-process); its
  // worker starts only once the app is ready (below).
  const scheduling = createSchedulingRuntime({
    prisma: database.prisma,
    logger,
    settings: config.scheduling,
    redis: deps.redis ? { client: deps.redis.client, keyPrefix: config.redis.keyPrefix } : undefined,
    metrics: {
      solved(outcome, durationSeconds) {
        metrics.scheduling.solves.inc({ outcome });
        if (durationSeconds !== undefined) {
          metrics.scheduling.solveDuration.observe({ method: outcome }, durationSeconds);
        }
      },
    },
  });
  // Settings a configuration reload may change (SIGHUP, REQ 15.4): the plugins read them per request.
  let running = config;
  const live = reloadableSettings(config);
  const parseOptions = { maxTokens: live.limits.tokens };
  const slidingLog = createSlidingLog({ redis: deps.redis?.client, logger });
  const windowCounter = createWindowCounter({ redis: deps.redis?.client, logger });
  const rateLimitStats = newRateLimitStats(() => slidingLog.stats.degradedCalls + windowCounter.stats.degradedCalls);
  // Per-field @rateLimit needs the shared store, so it is applied here rather than in the schema build.
  const schema = timeRootFields(
    applyRateLimitDirectives(await buildGraphQLSchema(), slidingLog, {
      limits: live.rateLimits,
      stats: rateLimitStats,
    }),
    metrics,
  );
  const persisted = config.graphql.persisted;
  // Parsed and validated once here; a stale or tampered manifest stops startup.
  const manifestOperations =
    persisted.mode === 'off' ? undefined : loadPersistedOperations(persisted.manifests, schema);
  const persistedStats: PersistedOperationStats = { hits: 0, unknown: 0, rejected: 0 };
  const apqStore =
    persisted.mode === 'apq'
      ? createRedisCache({ name: 'apq', redis: deps.redis?.client, logger, timeoutMs: persisted.storeTimeoutMs })
      : undefined;
  // Each document's cache policy, from the schema's hints, computed once (Apollo's own plugin is off).
  const policyOf = createOperationPolicies(schema);
  // Whole responses of cacheable reads, keyed by the catalog version the database announces.
  const responseCache = config.graphql.responseCache.enabled
    ? (() => {
        const version = watchVersion({
          url: database.url,
          channel: 'catalog_change',
          sequence: 'catalog_version_seq',
          coalesceMs: config.graphql.responseCache.coalesceMs,
          logger,
        });
        const cache = createRedisCache({ name: 'responses', redis: deps.redis?.client, logger, timeoutMs: 100 });
        return { version, cache, ...createResponseCachePlugin({ cache, catalogVersion: version.current, policyOf }) };
      })()
    : undefined;

  const rateLimitOptions = { counter: windowCounter, logger, limits: live.rateLimits, stats: rateLimitStats };
  // One charge for Apollo's requests and the cached-read lane's: the same windows and budget.
  const charge = createRequestCharger(rateLimitOptions);
  // Plugin order matters only where noted; each plugin owns one concern.
  const plugins: ApolloServerPlugin<GraphQLContext>[] = [
    // Drain first so shutdown waits for every in-flight operation before anything closes.
    createDrainPlugin(server, {
      timeoutMs: config.shutdownTimeoutMs,
      idleGraceMs: config.shutdownIdleGraceMs,
      logger,
    }),
    createErrorReportingPlugin(),
    // Limits before execution: nothing of an oversized operation runs.
    createOperationLimitsPlugin(live.limits),
    // After the limits: the budget spends the cost they measured.
    createRateLimitPlugin({ ...rateLimitOptions, charge }),
    // Operation names are labels only when a manifest knows them (bounded cardinality).
    createMetricsPlugin(metrics, new Set([...(manifestOperations?.byId.values() ?? [])].map((o) => o.operation.name))),
    // Cache-Control from the schema's hints, computed per document.
    createCachePolicyPlugin(policyOf),
    // After the policy: ETag and 304 for cacheable GET queries.
    createHttpCachePlugin(),
    // The shared cache's hits skip execution: the lane then knows nothing of what they depend on.
    ...(responseCache ? [responseCache.plugin, cacheDependenciesPlugin] : []),
    // After the response cache: a hit is cheaper still. One statement per query it can compile.
    ...(config.graphql.compiledReads
      ? [
          createCompiledReadsPlugin({
            schema,
            projections: mergeProjections(customerProjections, salesProjections, catalogProjections),
            database,
            policyOf,
            metrics,
          }),
        ]
      : []),
    config.graphql.sandbox
      ? ApolloServerPluginLandingPageLocalDefault({
          embed: { initialState: { pollForSchemaUpdates: false, sharedHeaders: config.graphql.sandboxHeaders } },
          includeCookies: false,
        })
      : ApolloServerPluginLandingPageDisabled(),
    // Its per-field hooks made Apollo instrument every field; createCachePolicyPlugin does its job.
    ApolloServerPluginCacheControlDisabled(),
  ];
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    plugins,
    formatError: formatGraphQLError,
    includeStacktraceInErrorResponses: false,
    introspection: config.graphql.introspection,
    // Field suggestions ("Did you mean …?") leak the schema when introspection is off.
    hideSchemaDetailsFromClientErrors: !config.graphql.introspection,
    // Safelist/audit are the persisted-operations plugin; APQ is Apollo's protocol over a Redis
    // store shared by every instance (never Apollo's per-instance memory cache).
    persistedQueries: apqStore
      ? { cache: withManifestOperations(apqStore, manifestOperations), ttl: persisted.apqTtlSeconds }
      : false,
    // Parsed and validated documents by hash, with the manifest's documents always present.
    documentStore: createDocumentStore(manifestOperations),
    // The parser stops counting at this many tokens: huge documents cost no more than that.
    parseOptions,
    // main.ts owns the signals and the shutdown order (docs/lifecycle.md).
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const buildContext = createContextFactory({
    logger,
    database,
    runInTransaction,
    runtime,
    config,
    identity,
    scheduling,
  });
  const gateMode = persisted.mode === 'safelist' || persisted.mode === 'audit' ? persisted.mode : undefined;
  // Public manifest reads answered in front of Apollo; needs the gate to name the operation.
  const cachedReads =
    responseCache && manifestOperations && gateMode
      ? createCachedReadLane({
          catalog: responseCache.version,
          authenticate: identity.authenticate,
          charge,
          limits: live.rateLimits,
          metrics,
          stats: responseCache.stats,
          maxCoalesceWaitMs: config.graphql.executionTimeoutMs,
        })
      : undefined;
  // After every component it reads: a mirrored metric reads its source once when registered.
  metrics.observe({
    pool: () => database.poolStats(),
    permissionCache: identity.permissions.stats,
    login: identity.guard.stats,
    rateLimits: rateLimitStats,
    persisted: persistedStats,
    apqStoreErrors: () => apqStore?.stats.errors ?? 0,
    responseCache: () => ({
      hits: responseCache?.stats.hits ?? 0,
      misses: responseCache?.stats.misses ?? 0,
      coalesced: responseCache?.stats.coalesced ?? 0,
      errors: responseCache?.cache.stats.errors ?? 0,
    }),
    // Exported without a lane too (0), so that dashboards find it whatever the mode.
    localResponses: () => cachedReads?.stats() ?? { entries: 0, bytes: 0 },
    backupStatus: () => readBackupStatus(join(config.backup.dir, 'backup-status.json')),
    scheduling: { queueDepth: () => scheduling.depth(), cache: scheduling.cache.stats },
  });
  server.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    handler: createGraphQLHandler({
      apollo,
      buildContext,
      timeoutMs: config.graphql.executionTimeoutMs,
      logger,
      cachedReads,
      admission: createAdmission({
        maxInFlight: config.http.overload.maxInFlight,
        onShed: () => metrics.http.shed.inc({ reason: 'in_flight' }),
      }),
      gate:
        manifestOperations && gateMode
          ? createPersistedOperationsGate({
              mode: gateMode,
              operations: manifestOperations,
              logger,
              parseOptions,
              stats: persistedStats,
            })
          : undefined,
    }),
  });
  // The API reference, rendered once from the SDL the gateway serves (every environment).
  registerApiDocsRoute(server, { schema, operationsDir: join(findProjectRoot(), 'schema', 'operations') });
  if (config.graphql.sandbox) {
    server.get('/', (_request, reply) => reply.redirect('/graphql'));
  }
  // /metrics on the main port, or alone on METRICS_PORT (a private network), which main.ts opens.
  let metricsServer: FastifyInstance | undefined;
  if (config.metrics.port > 0) {
    metricsServer = Fastify({ logger: false });
    registerMetricsRoute(metricsServer, metrics, config.metrics.token);
    await metricsServer.ready();
  } else {
    registerMetricsRoute(server, metrics, config.metrics.token);
  }

  await server.ready();
  // Last, so a startup that failed above never took a job.
  scheduling.start();
  logger.debug('app created', { requestIdHeader: REQUEST_ID_HEADER });
  return {
    server,
    metricsServer,
    catalogVersion: () => responseCache?.version.current() ?? 'unknown',
    metrics,
    identity,
    audit,
    scheduling,
    reload(next) {
      const { changed, needsRestart } = compareForReload(running, next);
      const settings = reloadableSettings(next);
      Object.assign(live.limits, settings.limits);
      Object.assign(live.rateLimits, settings.rateLimits);
      parseOptions.maxTokens = settings.limits.tokens;
      logger.level = settings.logLevel;
      running = next;
      logger.info('configuration reloaded', { changed });
      if (needsRestart.length > 0) {
        logger.warn('configuration changes that need a restart were not applied', { settings: needsRestart });
      }
      return { changed, needsRestart };
    },
    async close() {
      // Readiness answers 503 from here on, so load balancers stop sending (REQ 8.4, 9.1); during
      // the grace period requests are still served, then the listener closes and drains.
      shuttingDown = true;
      if (config.shutdownReadinessGraceMs > 0) {
        logger.info('shutdown: readiness is 503, waiting before closing the listener', {
          graceMs: config.shutdownReadinessGraceMs,
        });
        await new Promise((resolve) => setTimeout(resolve, config.shutdownReadinessGraceMs));
      }
      await apollo.stop();
      await server.close();
      // Drained: no request enqueues any more. Running solves go back to the queue for another instance.
      await scheduling.close();
      await metricsServer?.close();
      stopStatementMetrics();
      await responseCache?.version.close();
      await audit.close();
    },
  };
}

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds buckets for request-scale latencies: 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds buckets for schedule solves: budgets run from 0.1 s to 30 s. */
const SOLVE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60];
/** Outcomes of a schedule solve job (issue 8); cache hits are counted as cache lookups, not solves. */
const SOLVE_OUTCOMES = ['optimal', 'feasible', 'heuristic', 'failed'] as const;

type Labels = Record<string, string>;

/**
 * A metric whose values are read, at scrape time, from a component's own counts (`stats`
 * objects), so components need no metrics dependency of their own. Counters mirror monotonic
 * counts (exposed as counters, so `rate()` applies); gauges mirror current values.
 */
function mirrored(
  kind: 'counter' | 'gauge',
  registry: Registry,
  name: string,
  help: string,
  read: () => [Labels, number][],
): void {
  const labelNames = [...new Set(read().flatMap(([labels]) => Object.keys(labels)))];
  const config = { name, help, labelNames, registers: [registry] };
  if (kind === 'counter') {
    new Counter({
      ...config,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  } else {
    new Gauge({
      ...config,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  }
}

const mirroredCounter = (registry: Registry, name: string, help: string, read: () => [Labels, number][]) =>
  mirrored('counter', registry, name, help, read);
const mirroredGauge = (registry: Registry, name: string, help: string, read: () => [Labels, number][]) =>
  mirrored('gauge', registry, name, help, read);

/** The monotonic counts and gauges the gateway's components keep, read at scrape time. */
export interface MetricSources {
  pool(): { size: number; idle: number; inUse: number; waiting: number; max: number };
  permissionCache: { hits: number; misses: number; redisErrors: number };
  login: { success: number; failure: number; rateLimited: number; locked: number; lockouts: number };
  rateLimits: RateLimitStats;
  persisted: { hits: number; unknown: number; rejected: number };
  apqStoreErrors(): number;
  responseCache?(): { hits: number; misses: number; coalesced: number; errors: number };
  /** The cached-read lane's entries in this instance's memory (src/graphql/cached-read-lane.ts). */
  localResponses(): { entries: number; bytes: number };
  /** The backup job's status file, if any (`npm run backup` writes it). */
  backupStatus?(): BackupStatus | undefined;
  /** Schedule solving: jobs waiting and running (the queue all instances share) and the solution cache. */
  scheduling?: {
    queueDepth(): Promise<{ waiting: number; active: number }>;
    cache: { hits: number; misses: number; errors: number };
  };
}

/** BACKUP_DIR/backup-status.json, written by every `npm run backup` attempt. */
export interface BackupStatus {
  lastAttemptAt: string;
  lastSuccessAt: string | null;
  ok: boolean;
  error?: string;
  file?: string;
}

/** Reads a backup status file; absent or unreadable means no backup has run here. */
export function readBackupStatus(path: string): BackupStatus | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BackupStatus;
  } catch {
    return undefined;
  }
}

/** Requests refused by each rate-limit layer, and calls counted in memory while Redis was down. */
export interface RateLimitStats {
  ip: number;
  user: number;
  cost: number;
  field: number;
  degradedCalls(): number;
}

export function newRateLimitStats(degradedCalls: () => number): RateLimitStats {
  return { ip: 0, user: 0, cost: 0, field: 0, degradedCalls };
}

const STATEMENT_KINDS = new Set(['select', 'insert', 'update', 'delete', 'begin', 'commit', 'rollback']);

/** A statement's kind from its first keyword (bounded label values; never SQL text). */
export function statementKind(sql: string): string {
  const first = /^\s*([a-z]+)/i.exec(sql)?.[1]?.toLowerCase() ?? 'other';
  return STATEMENT_KINDS.has(first) ? first : 'other';
}

/**
 * The gateway's Prometheus metrics (REQ 11, spec 001 "Key Metrics"): one registry per app, so
 * several apps in one process (tests) do not mix their counts. Label values are bounded: routes
 * as declared, operation names only from the persisted-operation manifests, statement kinds.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const http = {
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being served.',
      registers: [registry],
    }),
    shed: new Counter({
      name: 'http_requests_shed_total',
      help: 'Requests refused with 503 by overload protection, by reason (in_flight, event_loop_delay, heap).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  const graphql = {
    operations: new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by name (manifest names; other/anonymous otherwise), type and status (success, partial, error).',
      labelNames: ['operation_name', 'type', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operation duration by name and type.',
      labelNames: ['operation_name', 'type'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    compiledReads: new Counter({
      name: 'graphql_compiled_reads_total',
      help: 'Queries by how they were answered: answered (one compiled statement), executed (not compilable), failed (the statement failed; executed instead).',
      labelNames: ['result'],
      registers: [registry],
    }),
    rootFields: new Histogram({
      name: 'graphql_resolver_duration_seconds',
      help: 'Duration of root field resolvers (Query.*, Mutation.*), where slow fields show first.',
      labelNames: ['field'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
  const db = {
    queries: new Counter({
      name: 'db_queries_total',
      help: 'SQL statements completed, by kind (select, insert, update, delete, begin, commit, rollback, other).',
      labelNames: ['operation'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'SQL statement duration by kind.',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };

  const scheduling = {
    solveDuration: new Histogram({
      name: 'scheduling_solve_duration_seconds',
      help: 'Wall time of schedule solves, fallback included, by method (optimal, feasible, heuristic).',
      labelNames: ['method'],
      buckets: SOLVE_BUCKETS,
      registers: [registry],
    }),
    solves: new Counter({
      name: 'scheduling_solves_total',
      help: 'Schedule solve jobs by outcome: optimal, feasible, heuristic (the greedy fallback) or failed.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
  for (const outcome of SOLVE_OUTCOMES) scheduling.solves.inc({ outcome }, 0);

  const ready = new Gauge({
    name: 'gateway_ready',
    help: 'Last readiness verdict: 1 ready or degraded, 0 not ready or shutting down (alerts on flapping).',
    registers: [registry],
  });
  ready.set(1);
  const readinessChecks = new Counter({
    name: 'gateway_readiness_checks_total',
    help: 'Readiness checks answered, by verdict (ready, degraded, not_ready, shutting_down).',
    labelNames: ['status'],
    registers: [registry],
  });

  return {
    registry,
    http,
    graphql,
    db,
    scheduling,

    /** Records a readiness verdict of /health/ready. */
    readiness(status: string): void {
      readinessChecks.inc({ status });
      ready.set(status === 'ready' || status === 'degraded' ? 1 : 0);
    },

    /** Counts and gauges kept by the components themselves, mirrored at scrape time. */
    observe(sources: MetricSources): void {
      const pool = (pick: (p: ReturnType<MetricSources['pool']>) => number): [Labels, number][] => [
        [{}, pick(sources.pool())],
      ];
      mirroredGauge(registry, 'db_connection_pool_size', 'Open connections in the pool.', () => pool((p) => p.size));
      mirroredGauge(registry, 'db_connection_pool_max', 'Most connections the pool may open.', () =>
        pool((p) => p.max),
      );
      mirroredGauge(registry, 'db_connection_pool_in_use', 'Connections lent out.', () => pool((p) => p.inUse));
      mirroredGauge(registry, 'db_connection_pool_waiting', 'Requests waiting for a connection.', () =>
        pool((p) => p.waiting),
      );
      const cache = sources.permissionCache;
      mirroredCounter(
        registry,
        'cache_operations_total',
        'Cache lookups by cache and result (hit, miss, error).',
        () => [
          [{ cache: 'permissions', result: 'hit' }, cache.hits],
          [{ cache: 'permissions', result: 'miss' }, cache.misses],
          [{ cache: 'permissions', result: 'error' }, cache.redisErrors],
          [{ cache: 'apq', result: 'error' }, sources.apqStoreErrors()],
          [{ cache: 'responses', result: 'hit' }, sources.responseCache?.().hits ?? 0],
          [{ cache: 'responses', result: 'miss' }, sources.responseCache?.().misses ?? 0],
          // Reads that waited for the same read already running (the cached-read lane's single flight).
          [{ cache: 'responses', result: 'coalesced' }, sources.responseCache?.().coalesced ?? 0],
          [{ cache: 'responses', result: 'error' }, sources.responseCache?.().errors ?? 0],
          [{ cache: 'schedules', result: 'hit' }, sources.scheduling?.cache.hits ?? 0],
          [{ cache: 'schedules', result: 'miss' }, sources.scheduling?.cache.misses ?? 0],
          [{ cache: 'schedules', result: 'error' }, sources.scheduling?.cache.errors ?? 0],
        ],
      );
      mirroredGauge(registry, 'cache_hit_ratio', 'Hits over lookups since start, by cache.', () => [
        [{ cache: 'permissions' }, cache.hits + cache.misses === 0 ? 1 : cache.hits / (cache.hits + cache.misses)],
      ]);
      const lane = sources.localResponses;
      mirroredGauge(registry, 'response_cache_local_entries', "Responses held in this instance's memory.", () => [
        [{}, lane().entries],
      ]);
      mirroredGauge(
        registry,
        'response_cache_local_bytes',
        "Bytes of responses held in this instance's memory.",
        () => [[{}, lane().bytes]],
      );
      const login = sources.login;
      mirroredCounter(registry, 'auth_attempts_total', 'Login attempts by result.', () => [
        [{ result: 'success' }, login.success],
        [{ result: 'failure' }, login.failure],
        [{ result: 'rate_limited' }, login.rateLimited],
        [{ result: 'locked' }, login.locked],
      ]);
      mirroredCounter(registry, 'auth_account_lockouts_total', 'Accounts locked after repeated failures.', () => [
        [{}, login.lockouts],
      ]);
      const limits = sources.rateLimits;
      mirroredCounter(registry, 'rate_limit_rejections_total', 'Requests refused by a rate limit, by scope.', () => [
        [{ scope: 'ip' }, limits.ip],
        [{ scope: 'user' }, limits.user],
        [{ scope: 'cost' }, limits.cost],
        [{ scope: 'field' }, limits.field],
        [{ scope: 'login' }, login.rateLimited],
      ]);
      mirroredCounter(
        registry,
        'rate_limit_degraded_total',
        'Rate-limit checks counted in this instance only because Redis was unavailable.',
        () => [[{}, limits.degradedCalls()]],
      );
      if (sources.backupStatus) {
        const read = sources.backupStatus;
        mirroredGauge(
          registry,
          'backup_last_success_timestamp_seconds',
          'When the last verified backup finished (0: never), from BACKUP_DIR/backup-status.json.',
          () => {
            const lastSuccessAt = read()?.lastSuccessAt;
            return [[{}, lastSuccessAt ? Date.parse(lastSuccessAt) / 1000 : 0]];
          },
        );
        mirroredGauge(
          registry,
          'backup_last_attempt_success',
          'Whether the last backup attempt succeeded (1) or failed after its retry (0); 1 before any attempt.',
          () => [[{}, read()?.ok === false ? 0 : 1]],
        );
      }
      if (sources.scheduling) {
        const { queueDepth } = sources.scheduling;
        new Gauge({
          name: 'scheduling_queue_jobs',
          help: 'Schedule solve jobs by state (waiting, active) in the queue every instance shares (take max, not sum, across instances).',
          labelNames: ['state'],
          registers: [registry],
          // Read at scrape time; queueDepth answers from its last reading when Redis is slow or down.
          async collect() {
            const depth = await queueDepth();
            this.set({ state: 'waiting' }, depth.waiting);
            this.set({ state: 'active' }, depth.active);
          },
        });
      }
      const persisted = sources.persisted;
      mirroredCounter(
        registry,
        'persisted_operations_total',
        'Requests by persisted-operation outcome: hit (manifest), unknown (audit mode), rejected (safelist).',
        () => [
          [{ result: 'hit' }, persisted.hits],
          [{ result: 'unknown' }, persisted.unknown],
          [{ result: 'rejected' }, persisted.rejected],
        ],
      );
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** HTTP RED metrics from Fastify's hooks; routes are the declared patterns, never raw URLs. */
export function registerHttpMetrics(server: FastifyInstance, metrics: Metrics): void {
  server.addHook('onRequest', async () => {
    metrics.http.inFlight.inc();
  });
  server.addHook('onResponse', async (request, reply) => {
    metrics.http.inFlight.dec();
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    metrics.http.requests.inc(labels);
    metrics.http.duration.observe(labels, reply.elapsedTime / 1000);
  });
}

/**
 * Times the root fields (Query.*, Mutation.*) by wrapping only their resolvers. A plugin's
 * `willResolveField` would do the same, but its mere presence makes Apollo Server instrument every
 * field of every operation (issue 7: about an eighth of an order history's allocations).
 */
export function timeRootFields(schema: GraphQLSchema, metrics: Metrics): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.ROOT_FIELD]: (fieldConfig, fieldName, typeName) => {
      const resolve = fieldConfig.resolve;
      if (!resolve) return fieldConfig;
      const field = `${typeName}.${fieldName}`;
      return {
        ...fieldConfig,
        resolve(source, args, context, info) {
          const started = performance.now();
          const observe = () => metrics.graphql.rootFields.observe({ field }, (performance.now() - started) / 1000);
          let result: unknown;
          try {
            result = resolve(source, args, context, info);
          } catch (error) {
            observe();
            throw error;
          }
          if (result instanceof Promise) return result.finally(observe);
          observe();
          return result;
        },
      };
    },
  });
}

/** GraphQL operation metrics; names outside `knownNames` are `other` (root fields: `timeRootFields`). */
export function createMetricsPlugin(metrics: Metrics, knownNames: ReadonlySet<string>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, response }) {
          const name = operationName ? (knownNames.has(operationName) ? operationName : 'other') : 'anonymous';
          const type = operation?.operation ?? 'unknown';
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const status = !result?.errors ? 'success' : result.data ? 'partial' : 'error';
          metrics.graphql.operations.inc({ operation_name: name, type, status });
          metrics.graphql.duration.observe({ operation_name: name, type }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

/**
 * `GET /metrics` in the Prometheus text format; with a token, only for `Authorization: Bearer
 * <token>` (compared in constant time).
 */
export function registerMetricsRoute(server: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
  server.get('/metrics', async (request, reply) => {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'metrics need the bearer token' });
      }
    }
    void reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store');
    return metrics.registry.metrics();
  });
}

// What the edge layers cost per request, measured in one run against a seeded database and the real Redis:
//   1. latency saved by safelist mode (a manifest id: parse and validate skipped) against full documents,
//   2. the operation-limit (measureOperation) and rate-limit (three Redis window counters) layers per request,
//      as a share of the end-to-end latency of a safelisted CatalogPage request.
//
//   DATABASE_URL=postgres://…/erp_bench npm run bench:edge [-- --runs 200 --warmup 20]
//
// Seed the database first: npm run db:migrate && npm run db:seed -- --products 10000 --orders 100000
// Redis comes from REDIS_URL (default redis://127.0.0.1:6379); every key goes under a prefix of this run's
// own, deleted at the end. Requests are sequential (one in flight) and the variants of a case take turns
// (round-robin, rotating which goes first), so machine noise hits them all alike.
// Prints a table and writes the same numbers to load/results/edge-<timestamp>.json.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Kind, parse, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import * as ops from '../schema/generated/operations.js';
import { createApp } from '../src/app.js';
import { loadConfig, type AppConfig } from '../src/config/index.js';
import { measureOperation } from '../src/graphql/operation-limits.js';
import { normalizeDocument } from '../src/graphql/persisted-operations.js';
import { buildGraphQLSchema } from '../src/graphql/schema.js';
import { createLogger } from '../src/observability/logger.js';
import { createDatabase } from '../src/platform/db/index.js';
import { findProjectRoot } from '../src/platform/project-root.js';
import { createRedis, waitForRedis, type RedisClient } from '../src/platform/redis/redis.js';
import { createWindowCounter } from '../src/platform/redis/window-counter.js';
import { endBenchSession, signInBenchAdmin, type BenchSession } from './bench/fixtures.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
  },
});
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs must be a positive whole number');
if (!Number.isInteger(WARMUP) || WARMUP < 1) throw new Error('--warmup must be a positive whole number');
/** measureOperation calls timed (after as many warm-up calls). */
const MEASURE_ITERATIONS = 2_000;
/** Rate-limit rounds (one addAll of three windows each) timed, after a tenth as many warm-up rounds. */
const COUNTER_ITERATIONS = 1_000;
const HOUR = 3_600;

const url = process.env.DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL to a seeded database');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `bench:edge:${randomBytes(6).toString('hex')}:`;

const rootDir = findProjectRoot();
// One environment for both apps (the same signing secrets, so one token serves both); only the mode differs.
const sharedEnv = {
  NODE_ENV: 'test',
  DATABASE_URL: url,
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: keyPrefix,
  JWT_SECRETS: randomBytes(48).toString('base64url'),
  PASSWORD_PEPPER: randomBytes(48).toString('base64url'),
  DATABASE_SLOW_QUERY_MS: '100000',
  GRAPHQL_EXECUTION_TIMEOUT_MS: '60000',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  // Limits high enough never to refuse, but still counted in Redis on every request.
  RATE_LIMIT_IP_PER_MINUTE: '100000000',
  RATE_LIMIT_USER_PER_HOUR: '100000000',
  COST_BUDGET_PER_HOUR: '100000000000',
};
const offConfig = loadConfig({ rootDir, env: { ...sharedEnv, PERSISTED_OPERATIONS_MODE: 'off' } });
const safeConfig = loadConfig({ rootDir, env: { ...sharedEnv, PERSISTED_OPERATIONS_MODE: 'safelist' } });

const logger = createLogger({ level: 'error' });
const database = createDatabase({ ...offConfig.database, url, poolSize: 10, logger });
const redisClients: RedisClient[] = [];

async function connectRedis(name: string, prefix: string): Promise<RedisClient> {
  const client = createRedis({ url: redisUrl, keyPrefix: prefix, logger, name });
  redisClients.push(client);
  if (!(await waitForRedis(client))) throw new Error(`Redis is not reachable at ${redisUrl}`);
  return client;
}

/** An app as an instance would run it: its own Redis connections (shared prefix), the shared database. */
async function startApp(config: AppConfig, name: string) {
  const redis = {
    client: await connectRedis(`bench-edge-${name}`, keyPrefix),
    subscriber: await connectRedis(`bench-edge-${name}-sub`, keyPrefix),
  };
  const app = await createApp(config, {
    logger,
    database,
    redis,
    runtime: { version: 'bench', startedAt: new Date() },
  });
  const base = await app.server.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, redis };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const off = await startApp(offConfig, 'off');
const safe = await startApp(safeConfig, 'safelist');
let session: BenchSession | undefined;
try {
  // Every request is made as a bench administrator with a real session.
  session = await signInBenchAdmin(database, offConfig);
  const { token } = session;
  const benchUser = { id: session.userId };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

  // Realistic variables from the data itself.
  const busiest = await database.prisma.$queryRaw<{ customer_id: string }[]>`
    SELECT customer_id FROM orders GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1`;
  const aProduct = await database.prisma.product.findFirstOrThrow({
    where: { status: 'ACTIVE' },
    orderBy: { sku: 'desc' },
  });

  // The manifest the safelist app serves: each case sends exactly its body, or its id.
  const manifestPath = safeConfig.graphql.persisted.manifests[0]!;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    operations: { id: string; name: string; body: string }[];
  };
  function manifestOperation(name: string, document: DocumentNode) {
    const entry = manifest.operations.find((o) => o.name === name);
    if (!entry) throw new Error(`${name} is not in ${relative(rootDir, manifestPath)}`);
    if (normalizeDocument(parse(entry.body)) !== normalizeDocument(document)) {
      throw new Error(`${name} in the manifest differs from schema/generated/operations.ts: run npm run codegen`);
    }
    return entry;
  }

  const cases = [
    {
      name: 'CatalogPage (50 products)',
      operation: manifestOperation('CatalogPage', ops.CatalogPageDocument),
      variables: { page: 3, limit: 50 } as Record<string, unknown>,
    },
    {
      name: 'ProductDetail',
      operation: manifestOperation('ProductDetail', ops.ProductDetailDocument),
      variables: { sku: aProduct.sku },
    },
    {
      name: 'OrderHistory (20 orders)',
      operation: manifestOperation('OrderHistory', ops.OrderHistoryDocument),
      variables: { customerId: busiest[0]!.customer_id, limit: 20 },
    },
  ];

  const VARIANTS = [
    { key: 'unique', label: 'a) off, unique document (parse+validate)' },
    { key: 'repeated', label: 'b) off, same document (document cache)' },
    { key: 'id', label: 'c) safelist, id only' },
  ] as const;
  type VariantKey = (typeof VARIANTS)[number]['key'];
  interface VariantResult {
    label: string;
    medianMs: number;
    p95Ms: number;
    requestBytes: number;
  }
  interface CaseResult {
    name: string;
    operationId: string;
    variables: Record<string, unknown>;
    variants: Record<VariantKey, VariantResult>;
    ratios: { uniqueOverId: number; repeatedOverId: number };
    savedMs: number;
  }

  /** One POST; throws unless it is a 200 with data and no errors. Returns the latency and the data. */
  async function request(base: string, body: string, what: string): Promise<{ ms: number; data: string }> {
    const started = performance.now();
    const response = await fetch(`${base}/graphql`, { method: 'POST', headers, body });
    const text = await response.text();
    const ms = performance.now() - started;
    let parsed: { data?: unknown; errors?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new Error(`${what} answered ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
    if (response.status !== 200 || parsed.errors !== undefined || parsed.data == null) {
      throw new Error(`${what} answered ${response.status} with errors: ${text.slice(0, 300)}`);
    }
    return { ms, data: JSON.stringify(parsed.data) };
  }

  const caseResults: CaseResult[] = [];
  for (const c of cases) {
    const { id, name: operationName, body: query } = c.operation;
    const send: Record<VariantKey, { base: string; body: (i: number) => string }> = {
      // A comment makes each document new to Apollo's document cache: parsed and validated every time.
      unique: {
        base: off.base,
        body: (i) => JSON.stringify({ query: `${query}\n# n${i}`, variables: c.variables, operationName }),
      },
      repeated: {
        base: off.base,
        body: () => JSON.stringify({ query, variables: c.variables, operationName }),
      },
      id: {
        base: safe.base,
        body: () =>
          JSON.stringify({
            extensions: { persistedQuery: { version: 1, sha256Hash: id } },
            variables: c.variables,
            operationName,
          }),
      },
    };
    const timings: Record<VariantKey, number[]> = { unique: [], repeated: [], id: [] };
    const bytes: Record<VariantKey, number> = { unique: 0, repeated: 0, id: 0 };
    let reference: string | undefined;
    for (let i = 0; i < WARMUP + RUNS; i += 1) {
      for (let k = 0; k < VARIANTS.length; k += 1) {
        const { key, label } = VARIANTS[(i + k) % VARIANTS.length]!;
        const body = send[key].body(i);
        const { ms, data } = await request(send[key].base, body, `${c.name} ${label}`);
        // The three variants run the same operation: they must answer the same data.
        reference ??= data;
        if (data !== reference) throw new Error(`${c.name} ${label} answered different data than the other variants`);
        if (i >= WARMUP) timings[key].push(ms);
        bytes[key] = Buffer.byteLength(body, 'utf8');
      }
    }
    const variants = {} as Record<VariantKey, VariantResult>;
    for (const { key, label } of VARIANTS) {
      const sorted = timings[key].sort((a, b) => a - b);
      variants[key] = {
        label,
        medianMs: percentile(sorted, 50),
        p95Ms: percentile(sorted, 95),
        requestBytes: bytes[key],
      };
    }
    caseResults.push({
      name: c.name,
      operationId: id,
      variables: c.variables,
      variants,
      ratios: {
        uniqueOverId: variants.unique.medianMs / variants.id.medianMs,
        repeatedOverId: variants.repeated.medianMs / variants.id.medianMs,
      },
      savedMs: variants.unique.medianMs - variants.id.medianMs,
    });
  }

  // 2a. The operation-limit layer: measureOperation over CatalogPage, as its plugin calls it per request.
  const catalogCase = cases[0]!;
  const schema = await buildGraphQLSchema();
  const catalogDocument = parse(catalogCase.operation.body);
  const operation = catalogDocument.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const fragments = new Map(
    catalogDocument.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const limits = safeConfig.graphql.limits;
  const measureOnce = () =>
    measureOperation(
      operation,
      fragments,
      schema.getQueryType(),
      (name) => schema.getType(name) ?? undefined,
      catalogCase.variables,
      limits.depth,
    );
  const measured = measureOnce();
  if (measured.cost > limits.cost || measured.depth > limits.depth) {
    throw new Error(`CatalogPage exceeds the configured limits: ${JSON.stringify(measured)}`);
  }
  let sink = 0;
  for (let i = 0; i < MEASURE_ITERATIONS; i += 1) sink += measureOnce().cost;
  let started = performance.now();
  for (let i = 0; i < MEASURE_ITERATIONS; i += 1) sink += measureOnce().cost;
  const measureUs = ((performance.now() - started) * 1_000) / MEASURE_ITERATIONS;
  if (sink !== measured.cost * MEASURE_ITERATIONS * 2) throw new Error('measureOperation is not deterministic');

  // 2b. The rate-limit layer: the plugin's three window counters in Redis, charged in one script.
  const counter = createWindowCounter({ redis: safe.redis.client, logger });
  const unlimited = Number.MAX_SAFE_INTEGER;
  const rateLimitOnce = async () => {
    await counter.addAll([
      { key: 'rl:ip:127.0.0.1', amount: 1, windowSeconds: 60, limit: unlimited },
      { key: `rl:user:${benchUser.id}`, amount: 1, windowSeconds: HOUR, limit: unlimited },
      { key: `rl:cost:user:${benchUser.id}`, amount: measured.cost, windowSeconds: HOUR, limit: unlimited },
    ]);
  };
  for (let i = 0; i < COUNTER_ITERATIONS / 10; i += 1) await rateLimitOnce();
  started = performance.now();
  for (let i = 0; i < COUNTER_ITERATIONS; i += 1) await rateLimitOnce();
  const rateLimitUs = ((performance.now() - started) * 1_000) / COUNTER_ITERATIONS;
  if (counter.stats.degradedCalls > 0) throw new Error('Redis failed during the rate-limit timing (counted in memory)');

  const catalogIdMedianUs = caseResults[0]!.variants.id.medianMs * 1_000;
  const layers = {
    reference: { case: caseResults[0]!.name, variant: 'c) safelist, id only', medianMs: catalogIdMedianUs / 1_000 },
    operationLimits: {
      what: 'measureOperation over CatalogPage',
      iterations: MEASURE_ITERATIONS,
      cost: measured.cost,
      usPerRequest: measureUs,
      percentOfMedian: (measureUs / catalogIdMedianUs) * 100,
    },
    rateLimits: {
      what: 'one addAll script on Redis for 3 windows (ip/minute, user/hour, cost/hour)',
      iterations: COUNTER_ITERATIONS,
      usPerRequest: rateLimitUs,
      percentOfMedian: (rateLimitUs / catalogIdMedianUs) * 100,
    },
  };

  // The table.
  const ms = (n: number) => n.toFixed(2).padStart(10);
  console.log(
    `\nEdge latency: ${RUNS} sequential runs per variant (round-robin), after ${WARMUP} warm-up rounds; ` +
      `bench admin; Redis prefix ${keyPrefix}\n`,
  );
  console.log(
    `${'operation / variant'.padEnd(46)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(10)}  request bytes`,
  );
  for (const r of caseResults) {
    console.log(r.name);
    for (const { key } of VARIANTS) {
      const v = r.variants[key];
      console.log(`  ${v.label.padEnd(44)} ${ms(v.medianMs)} ${ms(v.p95Ms)} ${String(v.requestBytes).padStart(14)}`);
    }
    console.log(
      `  median a/c ${r.ratios.uniqueOverId.toFixed(2)}x   b/c ${r.ratios.repeatedOverId.toFixed(2)}x   ` +
        `saved by safelist vs unseen documents (a-c) ${r.savedMs.toFixed(2)} ms/request`,
    );
  }
  console.log(
    `\nPer-request layers, against the median of ${layers.reference.case} ${layers.reference.variant} ` +
      `(${layers.reference.medianMs.toFixed(2)} ms)\n`,
  );
  console.log(`${'layer'.padEnd(80)} ${'µs/request'.padStart(10)} ${'% of median'.padStart(12)}`);
  for (const layer of [layers.operationLimits, layers.rateLimits]) {
    const what = `${layer.what} (${layer.iterations}x)`;
    console.log(
      `${what.padEnd(80)} ${layer.usPerRequest.toFixed(1).padStart(10)} ${`${layer.percentOfMedian.toFixed(2)}%`.padStart(12)}`,
    );
  }

  // The same numbers as JSON.
  const now = new Date();
  const resultsDir = join(rootDir, 'load', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(
    resultsDir,
    `edge-${now
      .toISOString()
      .replace(/\.\d+Z$/, 'Z')
      .replace(/:/g, '-')}.json`,
  );
  const dbUrl = new URL(url);
  const results = {
    measuredAt: now.toISOString(),
    runs: RUNS,
    warmup: WARMUP,
    node: process.version,
    database: `${dbUrl.hostname}:${dbUrl.port || '5432'}${dbUrl.pathname}`,
    redisKeyPrefix: keyPrefix,
    cases: caseResults,
    layers,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${relative(rootDir, file)}`);
} finally {
  await endBenchSession(database, session).catch(() => undefined);
  await safe.app.close();
  await off.app.close();
  // Delete this run's keys (SCAN + DEL without the client-side prefix, which SCAN does not apply).
  const cleaner = await connectRedis('bench-edge-cleanup', '');
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1_000);
    if (keys.length > 0) deleted += await cleaner.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  console.log(`deleted ${deleted} Redis keys under ${keyPrefix}`);
  for (const client of redisClients) await client.quit().catch(() => undefined);
  await database.close();
}

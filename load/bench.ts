// Throughput benchmark (REQ 17.4, 17.5): the gateway against two references, in one run, on the same
// seeded database and the same closed-loop load.
//
//   npm run bench [-- --duration 10 --warmup 3 --connections 10 --gate | --record --peers --only raw,apollo,CatalogPage
//                    --set NAME=VALUE (a gateway setting for this run, for an A/B; repeatable)]
//
// Database: BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/erp_bench; Redis:
// REDIS_URL, else redis://127.0.0.1:6379. Seed first (see load/measure-operations.ts):
//   npm run db:migrate && npm run db:seed -- --products 10000 --orders 100000
//
// Servers, each in a child process of its own (the load generator does not share their event loop),
// started one after the other:
//   1. a raw Node HTTP server answering a fixed JSON body (the ceiling of machine and load generator),
//   2. Apollo Server 5 on Fastify with `type Query { hello: String }` (the ratio baseline; measured again,
//      idle in between, after the gateway: the baseline is the mean, and a drift between the two is reported),
//   3. the gateway as src/main.ts starts it, with the image's V8 heap flags (load/gateway-command.ts),
//      NODE_ENV=production, PERSISTED_OPERATIONS_MODE=safelist,
//      introspection off, tracing off, LOG_LEVEL=warn, pool 10, a Redis key prefix of its own; rate limits
//      and budgets raised so they never refuse (they are still counted in Redis on every request) and the
//      event-loop overload guard off (so a busy shared machine measures latency instead of shedding load).
//      Operations (manifest ids only, as the bench administrator): CatalogPage (50 products with variants
//      and stock, pages 1-20), ProductDetail (100 SKUs), OrderHistory (20 orders with items, variants and
//      payments; the 50 busiest customers), Me (with permissions), Checkout (submitCart of a fresh
//      2-item cart per request). Then once more with RESPONSE_CACHE_ENABLED=false for CatalogPage and
//      ProductDetail (keys CatalogPage:uncached, ProductDetail:uncached): every request executes, as
//      a cache miss does and as the peer does on every request.
//   4. with --peers, and when load/peers/postgraphile.ts exists: PostGraphile's catalog and order history.
// Each target: a warm-up, then a measured closed loop (autocannon). Every answer is checked: a non-2xx or a
// body with "errors" is an error. The gateway process reports what each request cost it (CPU, heap,
// SQL statements, pool connection time, Redis commands; load/bench/gateway-server.ts).
//
// Prints a table and writes the same to load/results/bench-<timestamp>.json (server logs next to it).
// Ratios are each target's requests/s ÷ the Apollo hello requests/s of the same run, so machines compare
// (the machine is shared: compare ratios, not absolute numbers).
// --gate: exit 1 when a gateway operation's ratio is more than 25% below load/bench-baseline.json or it
// answered errors. --record: rewrite the baseline from this run.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { format } from 'prettier';
import { configSpec, loadConfig, SECRET_VARIABLES, type AppConfig } from '../src/config/index.js';
import { createLogger } from '../src/observability/logger.js';
import { createDatabase, type Database } from '../src/platform/db/index.js';
import { findProjectRoot } from '../src/platform/project-root.js';
import { createRedis, waitForRedis } from '../src/platform/redis/redis.js';
import type { CapacityWindow } from './bench/capacity.js';
import { killAllServers, startServer, type ServerProcess } from './bench/child.js';
import { drive, type DriveResult } from './bench/drive.js';
import {
  checkSeed,
  cleanupCheckout,
  endBenchSession,
  prepareCheckout,
  readVariables,
  signInBenchAdmin,
  type BenchSession,
  type CheckoutCarts,
} from './bench/fixtures.js';
import { GATEWAY_HEAP_FLAGS } from './gateway-command.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    gate: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    peers: { type: 'boolean', default: false },
    only: { type: 'string' },
    // A gateway setting for this run, e.g. --set DATABASE_POOL_SIZE=20 (A/B of one change).
    set: { type: 'string', multiple: true, default: [] },
  },
});
const DURATION = Number(values.duration);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
if (!Number.isInteger(DURATION) || DURATION < 1) throw new Error('--duration must be a whole number of seconds >= 1');
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('--warmup must be a whole number of seconds >= 0');
if (!Number.isInteger(CONNECTIONS) || CONNECTIONS < 1) throw new Error('--connections must be a whole number >= 1');
if (values.gate && values.record) throw new Error('--gate and --record exclude each other');
const ONLY = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
if (values.record && ONLY) throw new Error('--record needs a full run (no --only)');
if (values.record && values.set.length > 0) throw new Error('--record records the defaults (no --set)');

/** REQ 17.4: a gateway operation may lose at most this share of its recorded ratio. */
const GATE_TOLERANCE = 0.25;
/** Apollo hello before and after the gateway may differ this much (of their mean) before a run counts as unsteady. */
const MAX_DRIFT = 0.2;
/** Checkout carts made before the warm-up; topped up from the warm-up's rate before the measured run. */
const INITIAL_CARTS = 4_000;
const HELLO_BODY = JSON.stringify({ query: '{ hello }' });
const GATEWAY_OPERATIONS = ['CatalogPage', 'ProductDetail', 'OrderHistory', 'Me', 'Checkout'] as const;
type GatewayOperation = (typeof GATEWAY_OPERATIONS)[number];
/** Measured again on a gateway with the response cache off (key suffix UNCACHED): every request executes. */
const UNCACHED_OPERATIONS: GatewayOperation[] = ['CatalogPage', 'ProductDetail'];
const UNCACHED = ':uncached';

const rootDir = findProjectRoot();
const baselinePath = join(rootDir, 'load', 'bench-baseline.json');
const databaseUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/erp_bench';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = randomBytes(6).toString('hex');
const keyPrefix = `bench:${runId}:`;
const startedAt = new Date();
const stamp = startedAt
  .toISOString()
  .replace(/\.\d+Z$/, 'Z')
  .replace(/:/g, '-');
const resultsDir = join(rootDir, 'load', 'results');
mkdirSync(resultsDir, { recursive: true });
const notes: string[] = [];
const note = (text: string) => {
  notes.push(text);
  console.log(`  note: ${text}`);
};

// ------------------------------------------------------------------------------------------ the gateway's environment

/**
 * Production refuses weak secrets, including the passwords in DATABASE_URL and REDIS_URL. A local
 * Postgres on trust auth and a Redis without requirepass ignore a password, so a URL without one gets
 * a random one for the gateway; a URL with a password is used as it is.
 */
function withPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) return url;
  // Redis: AUTH as the ACL user `default`, which a server without requirepass accepts with any password.
  if (!parsed.username) parsed.username = parsed.protocol.startsWith('postgres') ? 'postgres' : 'default';
  parsed.password = randomBytes(24).toString('base64url');
  return parsed.toString();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The parent's environment without any gateway setting, so only what the bench sets reaches the servers. */
function cleanEnvironment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of [...Object.keys(configSpec), ...Object.keys(SECRET_VARIABLES)]) {
    delete env[name];
    delete env[`${name}_FILE`];
  }
  return env;
}

const gatewayPort = await freePort();
const gatewaySettings: Record<string, string> = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: String(gatewayPort),
  DATABASE_URL: withPassword(databaseUrl),
  REDIS_URL: withPassword(redisUrl),
  REDIS_KEY_PREFIX: keyPrefix,
  JWT_SECRETS: randomBytes(48).toString('base64url'),
  PASSWORD_PEPPER: randomBytes(48).toString('base64url'),
  PERSISTED_OPERATIONS_MODE: 'safelist',
  GRAPHQL_INTROSPECTION: 'false',
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  DATABASE_POOL_SIZE: '10',
  TRACING_OTLP_ENDPOINT: '',
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  RATE_LIMIT_IP_PER_MINUTE: '1000000000',
  RATE_LIMIT_USER_PER_HOUR: '1000000000',
  COST_BUDGET_PER_HOUR: '1000000000000',
  FIELD_RATE_LIMIT_SCALE: '100000',
  CONFIG_FILE_WATCH: 'false',
  ...Object.fromEntries(
    values.set.map((setting) => {
      const [name, ...value] = setting.split('=');
      if (!name || value.length === 0 || !Object.hasOwn(configSpec, name)) {
        throw new Error(`--set ${setting}: expected NAME=VALUE with a setting of src/config/spec.ts`);
      }
      return [name, value.join('=')];
    }),
  ),
};
/** Same secrets as the gateway child: tokens the harness signs verify there. Validates the settings first. */
const gatewayConfig: AppConfig = loadConfig({ rootDir, env: gatewaySettings });
const serverEnv = { ...cleanEnvironment(), NODE_ENV: 'production' };
const gatewayEnv = { ...cleanEnvironment(), ...gatewaySettings };

// ------------------------------------------------------------------------------------------ cleanup on every path

const logger = createLogger({ level: 'error' });
const database: Database = createDatabase({ url: databaseUrl, poolSize: 4, logger, applicationName: 'erp-bench' });
let session: BenchSession | undefined;
let running: ServerProcess | undefined;
let apolloServer: ServerProcess | undefined;
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Stops the servers and removes the bench data; every caller awaits the same run of it. */
function cleanup(): Promise<void> {
  cleaning ??= removeEverything();
  return cleaning;
}

async function removeEverything(): Promise<void> {
  await running?.stop().catch(() => undefined);
  await apolloServer?.stop().catch(() => undefined);
  killAllServers();
  try {
    await endBenchSession(database, session);
    const undone = await cleanupCheckout(database);
    if (undone.orders > 0 || undone.carts > 0) {
      console.log(`cleanup: removed ${undone.orders} bench orders and ${undone.carts} carts, stock restored`);
    }
  } catch (error) {
    console.error(`cleanup of the bench data failed (the next run retries it): ${String(error)}`);
  }
  // This run's Redis keys (SCAN + DEL without the client-side prefix, which SCAN does not apply).
  const cleaner = createRedis({ url: redisUrl, logger, name: 'erp-bench-cleanup' });
  try {
    if (await waitForRedis(cleaner)) {
      let cursor = '0';
      let deleted = 0;
      do {
        const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1_000);
        if (keys.length > 0) deleted += await cleaner.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      console.log(`cleanup: deleted ${deleted} Redis keys under ${keyPrefix}`);
    }
  } finally {
    await cleaner.quit().catch(() => undefined);
  }
  await database.close().catch(() => undefined);
}

process.on('exit', killAllServers);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers and cleaning up`);
    interrupted = true;
    killAllServers();
    void cleanup().finally(() => process.exit(130));
  });
}

// ------------------------------------------------------------------------------------------ targets and rows

interface Row {
  key: string;
  name: string;
  server: 'raw' | 'apollo' | 'gateway' | 'peer';
  /** Gateway operations are gated against the baseline. */
  gated: boolean;
  skipped?: string;
  load?: DriveResult;
  ratio?: number;
  capacity?: ReturnType<typeof perRequest>;
  window?: CapacityWindow;
}
const rows: Row[] = [];
const wanted = (key: string) => !ONLY || ONLY.has(key);

function perRequest(window: CapacityWindow) {
  const n = Math.max(1, window.requests);
  const e = window.extra;
  const per = (value: number | undefined) => (value === undefined ? undefined : value / n);
  return {
    requests: window.requests,
    cpuMs: (window.cpuUserMs + window.cpuSystemMs) / n,
    allocatedBytes: window.allocatedBytes / n,
    gcMs: window.gcMs / n,
    heapPeakDeltaBytes: window.heapUsedPeakBytes - window.heapUsedStartBytes,
    eventLoopUtilization: window.eventLoopUtilization,
    dbStatements: per(e.dbStatements),
    prismaQueries: per(e.prismaQueries),
    dbQueryMs: per(e.prismaQueryMs),
    poolAcquisitions: per(e.poolAcquisitions),
    poolWaitMs: per(e.poolWaitMs),
    poolHoldMs: per(e.poolHoldMs),
    poolWaitMaxMs: e.poolWaitMaxMs,
    poolMaxWaiting: e.poolMaxWaiting,
    redisCommands: per(e.redisCommands),
  };
}

interface Target {
  key: string;
  name: string;
  url: string;
  headers: Record<string, string>;
  nextBody(): string;
  /** Between the warm-up and the measured run (checkout tops up its carts). */
  afterWarmup?(warmup: DriveResult): Promise<void>;
}

async function measure(
  target: Target,
  server: ServerProcess | undefined,
  row: Row,
  warmupSeconds = WARMUP,
): Promise<void> {
  console.log(`→ ${target.name}: ${warmupSeconds} s warm-up, ${DURATION} s measured, ${CONNECTIONS} connections`);
  const base = { url: target.url, connections: CONNECTIONS, headers: target.headers, nextBody: target.nextBody };
  const warm = warmupSeconds > 0 ? await drive({ ...base, durationSeconds: warmupSeconds }) : undefined;
  if (warm && target.afterWarmup) await target.afterWarmup(warm);
  await server?.begin();
  row.load = await drive({ ...base, durationSeconds: DURATION });
  if (server) {
    row.window = await server.end();
    row.capacity = perRequest(row.window);
  }
  const r = row.load;
  console.log(
    `  ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors` +
      (r.errorSample ? ` (first: ${r.errorSample.slice(0, 200)})` : ''),
  );
}

/** Round-robin over prepared bodies. */
function rotate(bodies: string[]): () => string {
  let i = 0;
  return () => bodies[i++ % bodies.length]!;
}

function persistedBody(id: string, operationName: string, variables: Record<string, unknown>): string {
  return JSON.stringify({ operationName, variables, extensions: { persistedQuery: { version: 1, sha256Hash: id } } });
}

/** Operation name → id, from every manifest the gateway serves. */
function manifestIds(config: AppConfig): Map<string, string> {
  const ids = new Map<string, string>();
  for (const path of config.graphql.persisted.manifests) {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { operations: { id: string; name: string }[] };
    for (const op of manifest.operations) ids.set(op.name, op.id);
  }
  return ids;
}

// ------------------------------------------------------------------------------------------ the run

let exitCode = 0;
try {
  console.log(
    `Benchmark ${stamp}: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ` +
      `${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}, Node ${process.version}`,
  );
  const seed = await checkSeed(database);
  for (const text of seed.notes) note(text);
  const undone = await cleanupCheckout(database);
  if (undone.orders > 0 || undone.carts > 0) {
    note(`repaired an interrupted earlier run: removed ${undone.orders} bench orders and ${undone.carts} carts`);
  }
  session = await signInBenchAdmin(database, gatewayConfig);
  const variables = await readVariables(database);
  const ids = manifestIds(gatewayConfig);
  const logFile = (name: string) => join(resultsDir, `bench-${stamp}-${name}.log`);

  // 1 and 2: the references.
  const references = [
    { key: 'raw', name: 'raw Node http (fixed JSON)', script: 'load/bench/raw-server.ts', server: 'raw' as const },
    {
      key: 'apollo',
      name: 'Apollo Server 5 + Fastify hello',
      script: 'load/bench/apollo-hello-server.ts',
      server: 'apollo' as const,
    },
  ];
  const gatewayOps = GATEWAY_OPERATIONS.filter(wanted);
  // The gateway is started twice: as deployed (response cache on), then with the response cache off for the catalog
  // reads: what a cache miss costs, and the same work PostGraphile does on every request.
  const gatewayRuns = [
    { label: '', keySuffix: '', log: 'gateway', env: {}, operations: gatewayOps },
    {
      label: ' (no cache)',
      keySuffix: UNCACHED,
      log: 'gateway-uncached',
      env: { RESPONSE_CACHE_ENABLED: 'false' },
      operations: UNCACHED_OPERATIONS.filter((operation) => wanted(`${operation}${UNCACHED}`)),
    },
  ].filter((run) => run.operations.length > 0);
  for (const ref of references) {
    if (!wanted(ref.key)) continue;
    const row: Row = { key: ref.key, name: ref.name, server: ref.server, gated: false };
    rows.push(row);
    const server = await startServer({
      name: ref.key,
      script: ref.script,
      cwd: rootDir,
      env: serverEnv,
      logFile: logFile(ref.key),
    });
    running = server;
    await measure(
      { key: ref.key, name: ref.name, url: server.url, headers: {}, nextBody: () => HELLO_BODY },
      server,
      row,
    );
    running = undefined;
    // Apollo hello stays up (idle) to be measured again after the gateway: the baseline is the mean of both.
    if (ref.key === 'apollo' && gatewayRuns.length > 0) apolloServer = server;
    else await server.stop();
  }

  // 3: the gateway.
  for (const gatewayRun of gatewayRuns) {
    const { keySuffix } = gatewayRun;
    const carts: CheckoutCarts | undefined = gatewayRun.operations.includes('Checkout')
      ? await prepareCheckout(database)
      : undefined;
    if (carts) await carts.add(INITIAL_CARTS);
    console.log(`→ starting the gateway${gatewayRun.label} (NODE_ENV=production, safelist, Redis prefix ${keyPrefix})`);
    const started = performance.now();
    running = await startServer({
      name: 'gateway',
      script: 'load/bench/gateway-server.ts',
      cwd: rootDir,
      env: { ...gatewayEnv, ...gatewayRun.env },
      logFile: logFile(gatewayRun.log),
      // The heap flags production starts with: their GC is part of what a request costs.
      nodeFlags: GATEWAY_HEAP_FLAGS,
    });
    console.log(`  listening at ${running.url} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const headers = { authorization: `Bearer ${session.token}` };
    let lastCart: string | undefined;
    let cartsRanOut = false;
    const bodies: Record<GatewayOperation, () => string> = {
      CatalogPage: rotate(
        variables.catalogPages.map((page) =>
          persistedBody(ids.get('CatalogPage') ?? '', 'CatalogPage', { page, limit: 50 }),
        ),
      ),
      ProductDetail: rotate(
        variables.productSkus.map((sku) => persistedBody(ids.get('ProductDetail') ?? '', 'ProductDetail', { sku })),
      ),
      OrderHistory: rotate(
        variables.orderCustomers.map((customerId) =>
          persistedBody(ids.get('OrderHistory') ?? '', 'OrderHistory', { customerId, limit: 20 }),
        ),
      ),
      Me: rotate([persistedBody(ids.get('Me') ?? '', 'Me', {})]),
      Checkout: () => {
        const cartId = carts?.next();
        if (cartId) lastCart = cartId;
        else cartsRanOut = true;
        // Out of carts: a used one, which the gateway refuses (counted as an error, never hidden).
        return persistedBody(ids.get('Checkout') ?? '', 'Checkout', {
          cartId: cartId ?? lastCart ?? '00000000-0000-0000-0000-000000000000',
          warehouseId: carts?.warehouseId,
        });
      },
    };
    for (const operation of gatewayRun.operations) {
      const row: Row = {
        key: `${operation}${keySuffix}`,
        name: `gateway ${operation}${gatewayRun.label}`,
        server: 'gateway',
        gated: true,
      };
      rows.push(row);
      if (!ids.has(operation)) {
        row.skipped = `${operation} is not in ${gatewayConfig.graphql.persisted.manifests.map((p) => relative(rootDir, p)).join(', ')} (run npm run codegen)`;
        note(`skipped gateway ${operation}: ${row.skipped}`);
        continue;
      }
      // One request first: a broken operation is reported with its answer before it is measured.
      const probe = await fetch(running.url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: bodies[operation](),
      });
      const probeText = await probe.text();
      if (!probe.ok || probeText.includes('"errors"')) {
        note(`gateway ${operation} answers ${probe.status} ${probeText.slice(0, 300)}`);
      }
      const target: Target = {
        key: row.key,
        name: row.name,
        url: running.url,
        headers,
        nextBody: bodies[operation],
      };
      if (operation === 'Checkout' && carts) {
        target.afterWarmup = async (warm) => {
          const needed = Math.ceil(warm.requestsPerSecond * DURATION * 1.5) + 500;
          const made = await carts.add(needed - carts.remaining());
          if (carts.remaining() < needed) {
            note(`checkout: the stock allows ${carts.capacity} carts; the measured run may run out`);
          }
          if (made > 0) console.log(`  made ${made} more carts (${carts.remaining()} ready)`);
        };
      }
      await measure(target, running, row);
      if (operation === 'Checkout' && cartsRanOut) note('checkout ran out of fresh carts: requests reused a cart');
    }
    await running.stop();
    running = undefined;
  }
  if (apolloServer) {
    const row: Row = { key: 'apollo:after', name: 'Apollo hello, again after gateway', server: 'apollo', gated: false };
    rows.push(row);
    const server = apolloServer;
    const target = { key: row.key, name: row.name, url: server.url, headers: {}, nextBody: () => HELLO_BODY };
    await measure(target, server, row, Math.min(WARMUP, 1));
    apolloServer = undefined;
    await server.stop();
  }

  // 4: peers.
  if (values.peers) {
    const peerFile = join(rootDir, 'load', 'peers', 'postgraphile.ts');
    if (!existsSync(peerFile)) {
      note('--peers: load/peers/postgraphile.ts does not exist; no peer rows');
    } else {
      interface Peer {
        url: string;
        documents: { catalog: string; orderHistory: string };
        variables: {
          catalog: Record<string, unknown>;
          orderHistory: (customerId: string) => Record<string, unknown>;
        };
        stop(): Promise<void>;
      }
      const peerModule = (await import(pathToFileURL(peerFile).href)) as {
        startPostGraphile?: (databaseUrl: string) => Promise<Peer>;
      };
      if (typeof peerModule.startPostGraphile !== 'function') {
        note('--peers: load/peers/postgraphile.ts does not export startPostGraphile; no peer rows');
      } else {
        console.log('→ starting PostGraphile (load/peers/postgraphile.ts)');
        const peer = await peerModule.startPostGraphile(databaseUrl);
        try {
          const peerTargets = [
            {
              key: 'peer:catalog',
              name: 'PostGraphile catalog',
              query: peer.documents.catalog,
              vars: [peer.variables.catalog],
            },
            {
              key: 'peer:orderHistory',
              name: 'PostGraphile order history',
              query: peer.documents.orderHistory,
              vars: variables.orderCustomers.map((id) => peer.variables.orderHistory(id)),
            },
          ];
          for (const t of peerTargets) {
            const row: Row = { key: t.key, name: t.name, server: 'peer', gated: false };
            rows.push(row);
            const bodies = t.vars.map((v) => JSON.stringify({ query: t.query, variables: v }));
            await measure(
              { key: t.key, name: t.name, url: peer.url, headers: {}, nextBody: rotate(bodies) },
              undefined,
              row,
            );
          }
        } finally {
          await peer.stop();
        }
      }
    }
  }
} catch (error) {
  exitCode = 1;
  if (!interrupted) {
    console.error(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
} finally {
  await cleanup();
}

// ------------------------------------------------------------------------------------------ report

const helloRates = rows.filter((r) => r.server === 'apollo' && r.load).map((r) => r.load!.requestsPerSecond);
/** The ratio baseline: Apollo hello req/s, the mean of its measurements before and after the gateway. */
const apollo = helloRates.length > 0 ? helloRates.reduce((a, b) => a + b, 0) / helloRates.length : undefined;
for (const row of rows) {
  if (row.load && apollo) row.ratio = row.load.requestsPerSecond / apollo;
}
if (!apollo && rows.length > 0) note('no Apollo hello baseline in this run: ratios are not computed');
/** How far apart the two Apollo hello measurements are, as a share of their mean. */
const drift = apollo && helloRates.length > 1 ? (Math.max(...helloRates) - Math.min(...helloRates)) / apollo : 0;
if (drift > MAX_DRIFT) {
  note(
    `Apollo hello moved ${(drift * 100).toFixed(0)}% between its two measurements: the machine's load changed ` +
      'during the run, so the ratios of this run are less trustworthy (rerun before trusting a gate failure)',
  );
}
/** Ratios span 2 (raw) to 0.003 (checkout): three significant digits keep a 25% gate meaningful for all. */
const roundRatio = (ratio: number) => Number(ratio.toPrecision(3));
const fmtRatio = (ratio: number | undefined) =>
  ratio === undefined ? '-' : ratio >= 1 ? ratio.toFixed(2) : String(roundRatio(ratio));

const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const table: string[] = [];
table.push(
  `${'target'.padEnd(34)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'bytes'.padStart(8)} ${'ratio'.padStart(7)}`,
);
for (const row of rows) {
  const r = row.load;
  if (!r) {
    table.push(`${row.name.padEnd(34)} skipped: ${row.skipped ?? 'failed'}`);
    continue;
  }
  table.push(
    `${row.name.padEnd(34)} ${fmt(r.requestsPerSecond, 0).padStart(9)} ${fmt(r.p50Ms, 0).padStart(8)} ${fmt(r.p99Ms, 0).padStart(8)} ${String(r.errors).padStart(7)} ${fmt(r.meanResponseBytes, 0).padStart(8)} ${fmtRatio(row.ratio).padStart(7)}`,
  );
}
const capacityTable: string[] = [];
capacityTable.push(
  `${'per request'.padEnd(34)} ${'CPU ms'.padStart(7)} ${'alloc KB'.padStart(9)} ${'heap Δ MB'.padStart(10)} ${'SQL'.padStart(6)} ${'pool wait ms'.padStart(13)} ${'pool held ms'.padStart(13)} ${'Redis'.padStart(6)} ${'ELU'.padStart(5)}`,
);
for (const row of rows) {
  const c = row.capacity;
  if (!c) continue;
  capacityTable.push(
    `${row.name.padEnd(34)} ${fmt(c.cpuMs, 3).padStart(7)} ${fmt(c.allocatedBytes / 1024, 1).padStart(9)} ${fmt(c.heapPeakDeltaBytes / 1_048_576, 1).padStart(10)} ${fmt(c.dbStatements, 1).padStart(6)} ${fmt(c.poolWaitMs, 3).padStart(13)} ${fmt(c.poolHoldMs, 2).padStart(13)} ${fmt(c.redisCommands, 1).padStart(6)} ${fmt(c.eventLoopUtilization, 2).padStart(5)}`,
  );
}

// The gate (REQ 17.4) and the baseline.
interface Baseline {
  note: string;
  recordedAt: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  ratios: Record<string, number>;
}
const gate: {
  operation: string;
  ratio?: number;
  baseline?: number;
  verdict: 'pass' | 'fail' | 'no baseline';
  reason?: string;
}[] = [];
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.platform()} ${os.release()}`,
  node: process.version,
  loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
};
const settings = { durationSeconds: DURATION, warmupSeconds: WARMUP, connections: CONNECTIONS };
if (values.gate && exitCode === 0 && !existsSync(baselinePath)) {
  note(`--gate: ${relative(rootDir, baselinePath)} is missing (npm run bench -- --record)`);
  exitCode = 1;
} else if (values.gate && exitCode === 0) {
  const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Baseline;
  const gatedRows = rows.filter((r) => r.gated);
  const names = new Set([...Object.keys(baseline.ratios), ...gatedRows.map((r) => r.key)]);
  for (const operation of names) {
    if (ONLY && !ONLY.has(operation)) continue;
    const row = gatedRows.find((r) => r.key === operation);
    const recorded = baseline.ratios[operation];
    if (!row?.load || row.ratio === undefined) {
      gate.push({
        operation,
        baseline: recorded,
        verdict: 'fail',
        reason: `not measured: ${row?.skipped ?? 'missing'}`,
      });
    } else if (recorded === undefined) {
      gate.push({ operation, ratio: row.ratio, verdict: 'no baseline' });
    } else if (row.load.errors > 0) {
      gate.push({
        operation,
        ratio: row.ratio,
        baseline: recorded,
        verdict: 'fail',
        reason: `${row.load.errors} errors`,
      });
    } else if (row.ratio < recorded * (1 - GATE_TOLERANCE)) {
      const drop = (1 - row.ratio / recorded) * 100;
      gate.push({
        operation,
        ratio: row.ratio,
        baseline: recorded,
        verdict: 'fail',
        reason: `${drop.toFixed(0)}% below the baseline`,
      });
    } else {
      gate.push({ operation, ratio: row.ratio, baseline: recorded, verdict: 'pass' });
    }
  }
  if (gate.some((g) => g.verdict === 'fail')) exitCode = 1;
}
if (values.record && exitCode === 0) {
  const gatedRows = rows.filter((r) => r.gated && r.load && r.ratio !== undefined);
  const failing = gatedRows.filter((r) => r.load!.errors > 0);
  if (failing.length > 0) {
    console.error(`--record refused: ${failing.map((r) => r.key).join(', ')} answered errors`);
    exitCode = 1;
  } else if (drift > MAX_DRIFT) {
    console.error('--record refused: the machine was not steady during the run (see the note); record again');
    exitCode = 1;
  } else {
    const baseline: Baseline = {
      note:
        `Recorded by npm run bench -- --record on ${startedAt.toISOString().slice(0, 10)}, ` +
        `${machine.cpus} CPUs (${machine.cpuModel}), ${machine.platform}, Node ${machine.node}, ` +
        `load average ${machine.loadAverageAtStart.join(' ')} at the start. Ratios are requests/s of each gateway ` +
        `operation ÷ requests/s of Apollo Server 5 hello in the same run (mean of its measurements before and after ` +
        `the gateway), to 3 significant digits; --gate fails below 75% of them.`,
      recordedAt: startedAt.toISOString(),
      machine,
      settings,
      ratios: Object.fromEntries(gatedRows.map((r) => [r.key, roundRatio(r.ratio!)])),
    };
    // Formatted as `npm run format:check` expects: the file is committed.
    writeFileSync(baselinePath, await format(JSON.stringify(baseline), { parser: 'json' }));
    console.log(`\nrecorded ${relative(rootDir, baselinePath)}`);
  }
}

const resultFile = join(resultsDir, `bench-${stamp}.json`);
const logs = ['raw', 'apollo', 'gateway', 'gateway-uncached']
  .map((name) => join(resultsDir, `bench-${stamp}-${name}.log`))
  .filter((file) => existsSync(file) && statSync(file).size > 0)
  .map((file) => relative(rootDir, file));
writeFileSync(
  resultFile,
  `${JSON.stringify(
    {
      measuredAt: startedAt.toISOString(),
      machine,
      settings,
      database: (() => {
        const u = new URL(databaseUrl);
        return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
      })(),
      redisKeyPrefix: keyPrefix,
      gateway: {
        env: 'production',
        persistedOperations: 'safelist',
        poolSize: gatewayConfig.database.poolSize,
        logLevel: gatewayConfig.log.level,
        overloadGuard: 'off',
        rateLimits: 'raised, still counted in Redis',
      },
      rows: rows.map((r) => ({
        key: r.key,
        name: r.name,
        server: r.server,
        gated: r.gated,
        ...(r.skipped ? { skipped: r.skipped } : {}),
        ...(r.load
          ? {
              requestsPerSecond: r.load.requestsPerSecond,
              p50Ms: r.load.p50Ms,
              p99Ms: r.load.p99Ms,
              meanMs: r.load.meanMs,
              errors: r.load.errors,
              responseBytes: r.load.meanResponseBytes,
              ratioToApolloHello: r.ratio,
              load: r.load,
            }
          : {}),
        ...(r.capacity ? { capacityPerRequest: r.capacity, capacityWindow: r.window } : {}),
      })),
      gate: values.gate ? gate : undefined,
      notes,
      serverLogs: logs,
    },
    null,
    2,
  )}\n`,
);

console.log(
  `\nClosed loop: ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s measured per target; ratio = req/s ÷ Apollo hello req/s (mean of its runs)\n`,
);
console.log(table.join('\n'));
if (capacityTable.length > 1) {
  console.log(`\nCapacity (REQ 17.5), measured in the server process over the measured run, per request\n`);
  console.log(capacityTable.join('\n'));
}
if (gate.length > 0) {
  console.log(
    `\nGate (REQ 17.4): ratio may not fall more than ${GATE_TOLERANCE * 100}% below ${relative(rootDir, baselinePath)}\n`,
  );
  for (const g of gate) {
    console.log(
      `  ${g.verdict.toUpperCase().padEnd(11)} ${g.operation.padEnd(14)} ratio ${fmtRatio(g.ratio)} baseline ${fmtRatio(g.baseline)}${g.reason ? `  ${g.reason}` : ''}`,
    );
  }
}
if (notes.length > 0) console.log(`\nNotes:\n${notes.map((n) => `  - ${n}`).join('\n')}`);
console.log(`\nwrote ${relative(rootDir, resultFile)}${logs.length > 0 ? ` (server logs: ${logs.join(', ')})` : ''}`);
process.exit(interrupted ? 130 : exitCode);

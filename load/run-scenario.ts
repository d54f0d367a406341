// Runs one artillery load scenario (load/scenarios/<name>.yml) with signed-in virtual users.
//
//   npm run load -- <scenario> [--target URL] [--users N] [--keep-data] [--flow NAME]
//                              [--instances N] [--stop-one-at SECONDS] [--rate-scale F]
//                              [--generator artillery|lean]
//   npm run load -- short                          # the < 2 minute regression run
//   npm run load -- short --generator lean         # the same files, generated at a fraction of the CPU
//   npm run load -- baseline --target http://127.0.0.1:4000
//   npm run load -- baseline --instances 3 --stop-one-at 60   # behind nginx, one SIGTERMed
//
// Scenarios: short, baseline, peak, stress, spike, soak (load/README.md has the numbers).
//
// Without --target the runner starts the gateway itself, compiled as production runs it
// (GATEWAY_COMMAND, below), against DATABASE_URL (default: the seeded erp_bench
// on 127.0.0.1) and REDIS_URL, in safelist mode with the production defaults of src/config/spec.ts,
// except what a single load generator on one address needs (rate limits and cost budgets out of the
// way, overload shedding off); any gateway setting of src/config/spec.ts set in the environment wins
// over both.
// With --instances N (N >= 2) it starts N such gateways (one Redis key prefix: one deployment) behind
// nginx (load/cluster/nginx.ts, deploy/nginx/gateway.conf.template) and sends the load to nginx;
// --stop-one-at SECONDS sends SIGTERM to the first instance that far into the run, which must exit 0
// without a single failed request. --rate-scale F multiplies every phase's arrival rate (what a small
// machine sustains; the thresholds stay those of the scenario). --generator lean sends the load with
// load/lean-generator.ts instead of artillery: the same scenario files, arguments and report shape.
// With --target the gateway runs elsewhere: DATABASE_URL must be its database and the signing
// secret (JWT_SECRETS, JWT_ISSUER, JWT_AUDIENCE) its own, read like the gateway reads them
// (a local `npm start` in development keeps its generated secret in .data/, found automatically).
//
// Before the run, in the database: N shoppers (users load-vu-NNNN@load-test.invalid with the
// CUSTOMER role, each linked to a seeded customer that has orders), one session each and an
// access token signed for it (no login: Argon2 and the login rate limit are not what is measured),
// and stock topped up for the variants checkouts buy. Every run ends (and begins) by removing
// what load runs leave behind: their carts, orders, stock movements and sessions, with the stock
// put back as it was; the users stay for the next run. One load run per database at a time.
//
// While the load generator runs, each started gateway's RSS and CPU are sampled from /proc every second and
// its heap from its own metrics listener (METRICS_PORT) every second (heapOf: post-GC floors).
//
// The generator's report goes to load/results/load-<scenario>-<time>.json, the summary printed at
// the end to ...summary.json, the started gateway's output to ...gateway.log. Exits 1 when a
// threshold of the scenario fails (the ensure checks of the generator, or the runnerChecks), 2 on bad usage.
// Imported (load/measure-overload.ts), it runs nothing: the exported helpers start gateways the
// same way and prepare and clean up the same data.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parse as parseDotenv } from 'dotenv';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { loadConfig, type AppConfig } from '../src/config/index.js';
import { configSpec, SECRET_VARIABLES } from '../src/config/spec.js';
import { createPasswordHasher } from '../src/modules/identity/passwords.js';
import { createTokenService } from '../src/modules/identity/tokens.js';
import { createLogger } from '../src/observability/logger.js';
import { findProjectRoot } from '../src/platform/project-root.js';
import { createRedis, waitForRedis } from '../src/platform/redis/redis.js';
import { startNginx, type RunningNginx } from './cluster/nginx.js';
import { GATEWAY_COMMAND } from './gateway-command.js';
import {
  type ArtilleryReport,
  LOAD_GENERATORS,
  type LoadGenerator,
  type Phase,
  phaseSeconds as seconds,
  runAsCommand,
} from './lean-generator.js';

// ------------------------------------------------------------------ constants

const env = process.env;
const rootDir = findProjectRoot();
const scenariosDir = join(rootDir, 'load', 'scenarios');
export const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/erp_bench';
export const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The shoppers: load-vu-0001@load-test.invalid, ... (.invalid never delivers mail). */
const USER_EMAIL_LIKE = 'load-vu-%@load-test.invalid';
const userEmail = (n: number) => `load-vu-${String(n).padStart(4, '0')}@load-test.invalid`;
/** Marks the stock top-ups in the ledger, so that cleanup can take them back. */
const TOP_UP_NOTE = 'load test top-up (load/run-scenario.ts)';
/** Units on hand, at least, of every variant checkouts buy (one unit per checkout). */
const TOP_UP_TO = 1_000_000;
/** How many variants checkouts spread over (row locks: not all on one stock row). */
const CHECKOUT_VARIANTS = 200;
/** Catalog page size of the browse flow (the web shop's grid). */
export const PAGE_SIZE = 20;
/** Gateway memory and CPU sampling interval (two reads of /proc). */
const SAMPLE_MS = 1_000;
/** Gateway heap sampling interval (a scrape of its own metrics listener, METRICS_PORT: ~40 kB, a few ms). */
const HEAP_SAMPLE_MS = 1_000;
/** Heap floors of a window without a major GC: the minima of slices this long (heapOf explains). */
const HEAP_FLOOR_SLICE_MS = 30_000;
/** Behind nginx: how often its readiness check runs (load/cluster/nginx.ts). */
const READINESS_INTERVAL_MS = 200;
/**
 * Behind nginx: how long a stopping gateway keeps serving after /health/ready turned 503. It must
 * cover nginx noticing (up to ~2 s on a saturated machine), the connects nginx began before that
 * (proxy_connect_timeout, 4 s) and accepting what they queued: with 3 s, a stop in an overloaded
 * run reset 188 queued requests (deploy/nginx/gateway.conf.template).
 */
const READINESS_GRACE_MS = 10_000;

/** The persisted operations the traffic mix sends (schema/operations/web-shop.graphql). */
export const OPERATIONS = [
  'CatalogPage',
  'ProductDetail',
  'OrderHistory',
  'Me',
  'CreateCart',
  'AddCartItem',
  'Checkout',
];

interface ScenarioFile {
  config?: {
    phases?: Phase[];
    runnerChecks?: {
      maxP999Ms?: number;
      maxRssMb?: number;
      maxRssGrowthPercent?: number;
      maxHeapGrowthPercent?: number;
    };
  };
}

// ------------------------------------------------------------------ the gateway's settings

/**
 * The gateway's environment when the runner starts it (all but PORT, which is each instance's own).
 * NODE_ENV=test (fresh secrets, no dev seeding), but every setting config/test.env changes is put
 * back to its production default (src/config/spec.ts) before the load profile applies: what runs
 * is production but for the profile below.
 */
export function gatewayEnvironment(
  redisKeyPrefix: string,
  instances: number,
  options: { overloadShedding?: boolean } = {},
): { env: Record<string, string>; fromUser: string[] } {
  const testEnv = parseDotenv(readFileSync(join(rootDir, 'config', 'test.env')));
  const productionDefaults: Record<string, string> = {};
  for (const key of Object.keys(testEnv)) {
    const spec = (configSpec as Record<string, { default?: unknown }>)[key];
    if (spec && spec.default !== undefined) productionDefaults[key] = String(spec.default);
  }
  const profile: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    // METRICS_PORT: each instance's own free port (startGateway), where the runner samples the heap.
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    PERSISTED_OPERATIONS_MODE: 'safelist',
    GRAPHQL_INTROSPECTION: 'false',
    GRAPHQL_SANDBOX: 'false',
    DATABASE_MIGRATE_ON_START: 'false',
    SEED_DEMO_DATA: 'false',
    // One load generator, one address, N users: the per-IP and per-user limits would measure
    // themselves. They are still counted in Redis on every request, as in production.
    RATE_LIMIT_IP_PER_MINUTE: '1000000000',
    RATE_LIMIT_USER_PER_HOUR: '1000000000',
    COST_BUDGET_PER_HOUR: '1000000000000',
    FIELD_RATE_LIMIT_SCALE: '100000',
    LOGIN_IP_MAX_ATTEMPTS: '1000000',
    // Load shedding answers 503 by design; the scenarios measure the gateway, not the shedding
    // (load/measure-overload.ts measures the shedding: it keeps the production default).
    ...(options.overloadShedding ? {} : { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' }),
    TRACING_OTLP_ENDPOINT: '',
    REDIS_KEY_PREFIX: redisKeyPrefix,
    // Behind nginx (deploy/nginx/gateway.conf.template): client addresses come from it, and a stopping
    // instance keeps serving while nginx's readiness check takes it out of the list.
    ...(instances > 1 ? { TRUSTED_PROXIES: '127.0.0.1', SHUTDOWN_READINESS_GRACE_MS: String(READINESS_GRACE_MS) } : {}),
  };
  const fromUser: Record<string, string> = {};
  for (const key of Object.keys(configSpec)) {
    if (['NODE_ENV', 'HOST', 'PORT', 'METRICS_PORT', 'REDIS_KEY_PREFIX'].includes(key)) continue;
    const value = env[key];
    if (value !== undefined) fromUser[key] = value;
  }
  return {
    env: {
      ...productionDefaults,
      ...profile,
      ...fromUser,
      DATABASE_URL,
      REDIS_URL,
      JWT_SECRETS: randomBytes(48).toString('base64url'),
      PASSWORD_PEPPER: randomBytes(48).toString('base64url'),
    },
    fromUser: Object.keys(fromUser),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Gateway {
  child: ChildProcess;
  base: string;
  /** Its own metrics listener (METRICS_PORT): /metrics there, off the request path it measures. */
  metricsBase: string;
  logFile: string;
  exited: Promise<number | null>;
}

/** `host:port` of a gateway, as nginx's upstream list names it. */
export const hostPort = (gateway: Gateway) => new URL(gateway.base).host;

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/**
 * LOAD_NODE_OPTIONS: Node flags for this run's gateways (a profile, an A/B of a flag). They come
 * after the command's own flags, so that they win.
 */
const LOAD_NODE_OPTIONS = (env.LOAD_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);

/** What the runner starts a gateway with, after `node`: GATEWAY_COMMAND plus LOAD_NODE_OPTIONS. */
function gatewayCommandLine(): string[] {
  return [...GATEWAY_COMMAND.slice(0, -1), ...LOAD_NODE_OPTIONS, GATEWAY_COMMAND.at(-1)!];
}

/**
 * Compiles the gateway (tsc -p tsconfig.build.json, incremental: seconds when little changed).
 * The runner measures what production runs: under tsx the same code held 30-35 MB more heap (post-GC
 * floor 169-173 against 139 MB; every module's transpiled source and inline source map) and 40-80 MB
 * more RSS.
 */
export async function buildGateway(): Promise<void> {
  const tsc = join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: rootDir, stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the gateway does not compile (tsc -p tsconfig.build.json exited ${code})`);
}

/**
 * One gateway process (the compiled build: buildGateway() first) on a free port of 127.0.0.1;
 * resolves once /health/ready answers 200.
 */
export async function startGateway(gatewayEnv: Record<string, string>, logFile: string): Promise<Gateway> {
  const port = await freePort();
  // /metrics on a listener of its own: heap samples are scraped there, not through the API's
  // hooks (rate limits, request metrics) or behind a busy accept queue.
  const metricsPort = await freePort();
  const log = createWriteStream(logFile);
  // The caller's environment minus every gateway setting and secret: only gatewayEnv configures it.
  const inherited: Record<string, string | undefined> = { ...env };
  for (const key of [...Object.keys(configSpec), ...Object.keys(SECRET_VARIABLES)]) {
    delete inherited[key];
    delete inherited[`${key}_FILE`];
  }
  // As production runs it (Dockerfile, scripts/start.sh): the compiled build, buildGateway().
  const child = spawn(process.execPath, gatewayCommandLine(), {
    cwd: rootDir,
    env: { ...inherited, ...gatewayEnv, PORT: String(port), METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone)
      throw new Error(
        `the gateway exited during startup; its output (${relative(rootDir, logFile)}):\n${tail(logFile)}`,
      );
    try {
      const response = await fetch(`${base}/health/ready`);
      if (response.ok) return { child, base, metricsBase: `http://127.0.0.1:${metricsPort}`, logFile, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  child.kill('SIGKILL');
  throw new Error(
    `the gateway was not ready within 90 s; its output (${relative(rootDir, logFile)}):\n${tail(logFile)}`,
  );
}

export async function stopGateway(gateway: Gateway): Promise<void> {
  if (gateway.child.exitCode !== null) return;
  gateway.child.kill('SIGTERM');
  const timer = setTimeout(() => gateway.child.kill('SIGKILL'), 40_000);
  await gateway.exited;
  clearTimeout(timer);
}

/** Busy and total CPU time (jiffies) of the whole machine, from /proc/stat (Linux); undefined elsewhere. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...ticks] = line.trim().split(/\s+/);
    const n = ticks.map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    return Number.isFinite(total) && total > 0 ? { busy: total - idle, total } : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory (MB) and CPU time (s) of a process, from /proc (Linux); undefined elsewhere. */
export function processUsage(pid: number): { rssMb: number; cpuSeconds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(rssKb) || !Number.isFinite(ticks)) return undefined;
    return { rssMb: rssKb / 1024, cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}

interface UsageSample {
  at: number;
  rssMb: number;
  cpuSeconds: number;
}

export interface HeapSample {
  at: number;
  /** V8 heap used (nodejs_heap_size_used_bytes), MB. */
  usedMb: number;
  /** Of which the young generation (nodejs_heap_space_size_used_bytes{space="new"}), MB. */
  newSpaceMb: number | undefined;
  /** Major (mark-compact) collections so far (nodejs_gc_duration_seconds_count{kind="major"}). */
  majorGcs: number | undefined;
}

/** One value of a Prometheus text exposition, by its series (`name` or `name{labels}`), or undefined. */
function metricValue(text: string, series: string): number | undefined {
  const start = text.startsWith(`${series} `) ? 0 : text.indexOf(`\n${series} `);
  if (start < 0) return undefined;
  const from = start + (start === 0 ? 0 : 1) + series.length + 1;
  const end = text.indexOf('\n', from);
  const value = Number(
    text
      .slice(from, end < 0 ? undefined : end)
      .trim()
      .split(' ')[0],
  );
  return Number.isFinite(value) ? value : undefined;
}

/** Heap used, young generation and major GCs of a gateway, from its /metrics (prom-client's default metrics). */
/** A gateway's /metrics text, or undefined when it is busy or not listening yet (the sample is skipped). */
async function scrapeMetrics(metricsBase: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${metricsBase}/metrics`, { signal: AbortSignal.timeout(3_000) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

export async function readHeap(metricsBase: string): Promise<HeapSample | undefined> {
  const text = await scrapeMetrics(metricsBase);
  if (text === undefined) return undefined;
  const used = metricValue(text, 'nodejs_heap_size_used_bytes');
  if (used === undefined) return undefined;
  const young = metricValue(text, 'nodejs_heap_space_size_used_bytes{space="new"}');
  return {
    at: Date.now(),
    usedMb: used / 1024 / 1024,
    newSpaceMb: young === undefined ? undefined : young / 1024 / 1024,
    // No series yet: no major collection so far (the histogram has a series per kind seen).
    majorGcs:
      metricValue(text, 'nodejs_gc_duration_seconds_count{kind="major"}') ??
      (text.includes('\nnodejs_gc_duration_seconds_count') ? 0 : undefined),
  };
}

/** The response cache's lookups so far (lane and shared cache hits, shared cache misses), from /metrics. */
export async function readResponseCache(
  metricsBase: string,
): Promise<{ hits: number; misses: number; coalesced: number } | undefined> {
  const text = await scrapeMetrics(metricsBase);
  if (text === undefined) return undefined;
  const hits = metricValue(text, 'cache_operations_total{cache="responses",result="hit"}');
  const misses = metricValue(text, 'cache_operations_total{cache="responses",result="miss"}');
  const coalesced = metricValue(text, 'cache_operations_total{cache="responses",result="coalesced"}') ?? 0;
  return hits === undefined || misses === undefined ? undefined : { hits, misses, coalesced };
}

/**
 * Heap growth of one gateway over the run, compared like RSS growth (usageOf: the 20-30% mark, after
 * ramp-up and warm-up, against the last tenth of the run), but on the heap's post-GC floor, not on
 * raw samples. Heap used is a sawtooth with a long period: under the soak's load the old generation
 * grows by megabytes a second (what survives two scavenges) until a mark-compact, every minute or two
 * on a machine with a large heap limit, takes it back to the live set; raw samples (median or not)
 * measure where in that cycle they fell. So:
 * - the young generation (new space, 0-50 MB of short-lived objects at any moment) is left out:
 *   what a leak retains is promoted to old space, and new space is noise at a 5% threshold;
 * - between two major GCs the rest only grows (scavenges promote into it, only a mark-compact frees
 *   it), so the minimum of each major-GC cycle is what that collection left: the retained heap,
 *   within one sample interval of promotion (HEAP_SAMPLE_MS);
 * - a window's floor is the median of the minima of the cycles that began in it (a leak raises
 *   every floor; one odd cycle does not move a median). A window without a major GC (a short run)
 *   falls back to the median of the minima of its HEAP_FLOOR_SLICE_MS slices, and says so.
 */
export function heapOf(samples: HeapSample[]) {
  if (samples.length < 2) return undefined;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const span = last.at - first.at;
  const retained = (s: HeapSample) => s.usedMb - (s.newSpaceMb ?? 0);
  // Major-GC cycles: from the first sample that saw a new mark-compact to the next such sample.
  const cycles: { startedAt: number; minMb: number }[] = [];
  samples.forEach((s, i) => {
    const previous = samples[i - 1];
    const startsCycle =
      previous !== undefined &&
      s.majorGcs !== undefined &&
      previous.majorGcs !== undefined &&
      s.majorGcs > previous.majorGcs;
    if (startsCycle) cycles.push({ startedAt: s.at, minMb: retained(s) });
    else if (cycles.length > 0) cycles[cycles.length - 1]!.minMb = Math.min(cycles.at(-1)!.minMb, retained(s));
  });
  const floor = (from: number, to: number) => {
    const begin = first.at + span * from;
    const end = first.at + span * to;
    const inWindow = cycles.filter((c) => c.startedAt >= begin && c.startedAt <= end);
    if (inWindow.length > 0) {
      return { mb: median(inWindow.map((c) => c.minMb)), method: `${inWindow.length} major-GC cycles` };
    }
    const minima = new Map<number, number>();
    for (const s of samples.filter((x) => x.at >= begin && x.at <= end)) {
      const slice = Math.floor((s.at - first.at) / HEAP_FLOOR_SLICE_MS);
      minima.set(slice, Math.min(minima.get(slice) ?? Infinity, retained(s)));
    }
    return {
      mb: median([...minima.values()]),
      method: `no major GC: ${minima.size} slices of ${HEAP_FLOOR_SLICE_MS / 1000} s`,
    };
  };
  const early = floor(0.2, 0.3);
  const late = floor(0.9, 1);
  const round = (n: number) => Number(n.toFixed(1));
  return {
    samples: samples.length,
    /** Heap used (all of it, young generation too) of the first and last samples, and the peak. */
    firstMb: round(first.usedMb),
    lastMb: round(last.usedMb),
    peakMb: round(Math.max(...samples.map((s) => s.usedMb))),
    /** Post-GC floor (heap used but the young generation) at the 20-30% mark, and how it was found. */
    earlyFloorMb: round(early.mb),
    earlyFloorFrom: early.method,
    /** Post-GC floor of the last tenth of the run. */
    lateFloorMb: round(late.mb),
    lateFloorFrom: late.method,
    growthPercent: early.mb > 0 && late.mb > 0 ? round(((late.mb - early.mb) / early.mb) * 100) : Number.NaN,
    majorGcs: first.majorGcs !== undefined && last.majorGcs !== undefined ? last.majorGcs - first.majorGcs : undefined,
    /** Every major-GC cycle's floor, [seconds into the run, MB]: the trend, for a second look. */
    floors: cycles.map((c) => [Math.round((c.startedAt - first.at) / 1000), round(c.minMb)]),
  };
}

/** Memory and CPU of one gateway over the run, from its samples; `requests`: what it answered. */
function usageOf(samples: UsageSample[], requests: number, heapSamples: HeapSample[] = []) {
  if (samples.length < 2) return undefined;
  const firstSample = samples[0]!;
  const lastSample = samples[samples.length - 1]!;
  const span = lastSample.at - firstSample.at;
  const inWindow = (from: number, to: number) =>
    samples
      .filter((s) => s.at >= firstSample.at + span * from && s.at <= firstSample.at + span * to)
      .map((s) => s.rssMb);
  const early = median(inWindow(0.2, 0.3));
  const late = median(inWindow(0.9, 1));
  const cpu = lastSample.cpuSeconds - firstSample.cpuSeconds;
  return {
    rssStartMb: Math.round(firstSample.rssMb),
    rssPeakMb: Math.round(Math.max(...samples.map((s) => s.rssMb))),
    rssEndMb: Math.round(lastSample.rssMb),
    rssGrowthPercent: early > 0 && late > 0 ? Number((((late - early) / early) * 100).toFixed(1)) : Number.NaN,
    cpuSeconds: Number(cpu.toFixed(2)),
    cpuPercentOfOneCore: Number(((cpu / (span / 1000)) * 100).toFixed(1)),
    cpuMsPerRequest: requests > 0 ? Number(((cpu * 1000) / requests).toFixed(3)) : 0,
    heap: heapOf(heapSamples),
  };
}

type Usage = NonNullable<ReturnType<typeof usageOf>>;

interface StoppedGateway {
  instance: number;
  pid: number | undefined;
  /** Seconds into the load generator's run. */
  signalledAtSeconds: number;
  exitCode: number | null;
  shutdownSeconds: number;
  /** From the signal until nginx's readiness check had taken it out of the list. */
  outOfRotationSeconds: number | undefined;
}

/**
 * SIGTERM to gateway `instance` (1-based) at `atSeconds` after `startedAt`; resolves with how its
 * shutdown went, or undefined when `cancelled` resolves first (the run ended before).
 */
async function stopOneLater(
  gateways: Gateway[],
  instance: number,
  nginx: RunningNginx,
  startedAt: number,
  atSeconds: number,
  cancelled: Promise<unknown>,
): Promise<StoppedGateway | undefined> {
  const gateway = gateways[instance - 1]!;
  const due = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(true), startedAt + atSeconds * 1000 - Date.now());
    void cancelled.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!(await due)) return undefined;
  const signalledAt = Date.now();
  console.log(`\n  [runner] SIGTERM to gateway ${instance} (pid ${gateway.child.pid}) ${atSeconds} s into the run\n`);
  gateway.child.kill('SIGTERM');
  let outOfRotationAt: number | undefined;
  const watch = setInterval(() => {
    if (outOfRotationAt === undefined && !nginx.active().includes(hostPort(gateway))) outOfRotationAt = Date.now();
  }, 20);
  const exitCode = await gateway.exited;
  clearInterval(watch);
  const seconds = (to: number | undefined) =>
    to === undefined ? undefined : Number(((to - signalledAt) / 1000).toFixed(2));
  return {
    instance,
    pid: gateway.child.pid,
    signalledAtSeconds: Number(((signalledAt - startedAt) / 1000).toFixed(1)),
    exitCode,
    shutdownSeconds: seconds(Date.now())!,
    outOfRotationSeconds: seconds(outOfRotationAt),
  };
}

/**
 * From nginx's access log (format `gateway` of deploy/nginx/gateway.conf.template), requests from
 * `since` (ms) on: how many each upstream answered (the last one tried), and how many went to more
 * than one.
 */
async function readAccessLog(
  file: string,
  since: number,
): Promise<{ answeredBy: Record<string, number>; retried: number }> {
  const answeredBy: Record<string, number> = {};
  let retried = 0;
  if (!existsSync(file)) return { answeredBy, retried };
  // The log has whole seconds: the preflight's last second may count too.
  const from = Math.floor(since / 1000) * 1000;
  for await (const line of createInterface({ input: createReadStream(file) })) {
    const time = Date.parse(/\[([^\]]+)\]/.exec(line)?.[1] ?? '');
    if (!(time >= from)) continue;
    const tried = /upstream=(.*?) upstream_status=/.exec(line)?.[1]?.split(', ') ?? [];
    const last = tried.at(-1);
    if (!last || last === '-') continue;
    answeredBy[last] = (answeredBy[last] ?? 0) + 1;
    if (tried.length > 1) retried += 1;
  }
  return { answeredBy, retried };
}

// ------------------------------------------------------------------ database preparation and cleanup

export interface Shopper {
  userId: string;
  customerId: string;
}

/** The tables a load run writes to and `cleanUp` deletes from. */
const VACUUMED_AFTER_A_RUN = [
  'orders',
  'order_items',
  'payments',
  'carts',
  'cart_items',
  'status_transitions',
  'stock_adjustments',
  'inventory_levels',
  'sessions',
];

/** Removes what load runs left behind, then vacuums it away; returns counts. Users stay (they are reused). */
export async function cleanUp(pool: pg.Pool): Promise<Record<string, number>> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: users } = await client.query<{ id: string }>('SELECT id FROM users WHERE email LIKE $1', [
      USER_EMAIL_LIKE,
    ]);
    const userIds = users.map((u) => u.id);
    await client.query(
      `CREATE TEMP TABLE load_carts ON COMMIT DROP AS
         SELECT DISTINCT entity_id AS id FROM status_transitions
          WHERE entity_type = 'CART' AND from_status IS NULL AND actor_id = ANY($1::uuid[])`,
      [userIds],
    );
    await client.query(
      `CREATE TEMP TABLE load_orders ON COMMIT DROP AS
         SELECT o.id FROM orders o JOIN load_carts c ON c.id = o.cart_id`,
    );
    // The units sold go back on the shelf, then the top-ups come off: stock is as it was.
    await client.query(
      `UPDATE inventory_levels l SET quantity = l.quantity + s.quantity, updated_at = now()
         FROM (SELECT variant_id, warehouse_id, sum(quantity)::int AS quantity FROM order_items
                WHERE order_id IN (SELECT id FROM load_orders) GROUP BY 1, 2) s
        WHERE l.variant_id = s.variant_id AND l.warehouse_id = s.warehouse_id`,
    );
    const adjustments = await client.query(
      'DELETE FROM stock_adjustments WHERE order_id IN (SELECT id FROM load_orders)',
    );
    const transitions = await client.query(
      `DELETE FROM status_transitions
        WHERE (entity_type = 'ORDER' AND entity_id IN (SELECT id FROM load_orders))
           OR (entity_type = 'CART' AND entity_id IN (SELECT id FROM load_carts))`,
    );
    await client.query('DELETE FROM payments WHERE order_id IN (SELECT id FROM load_orders)');
    const orders = await client.query('DELETE FROM orders WHERE id IN (SELECT id FROM load_orders)');
    const carts = await client.query('DELETE FROM carts WHERE id IN (SELECT id FROM load_carts)');
    await client.query(
      `UPDATE inventory_levels l SET quantity = GREATEST(0, l.quantity - s.delta), updated_at = now()
         FROM (SELECT variant_id, warehouse_id, sum(delta)::int AS delta FROM stock_adjustments
                WHERE note = $1 AND reason = 'RECEIVED' GROUP BY 1, 2) s
        WHERE l.variant_id = s.variant_id AND l.warehouse_id = s.warehouse_id`,
      [TOP_UP_NOTE],
    );
    const topUps = await client.query("DELETE FROM stock_adjustments WHERE note = $1 AND reason = 'RECEIVED'", [
      TOP_UP_NOTE,
    ]);
    const sessions = await client.query('DELETE FROM sessions WHERE user_id = ANY($1::uuid[])', [userIds]);
    await client.query('COMMIT');
    // The rows a run wrote and this removed stay behind as dead tuples until a vacuum. Where
    // autovacuum is off or behind (this machine's cluster runs with it off), they pile up from run
    // to run: after a soak and three peak runs, 364k in status_transitions, 193k in carts, 93k in
    // orders, and every later run reads through them. Vacuumed here, runs start from the same state.
    if ((orders.rowCount ?? 0) + (carts.rowCount ?? 0) + (sessions.rowCount ?? 0) > 0) {
      await client.query(`VACUUM (ANALYZE) ${VACUUMED_AFTER_A_RUN.join(', ')}`);
    }
    return {
      orders: orders.rowCount ?? 0,
      carts: carts.rowCount ?? 0,
      stockAdjustments: (adjustments.rowCount ?? 0) + (topUps.rowCount ?? 0),
      statusTransitions: transitions.rowCount ?? 0,
      sessions: sessions.rowCount ?? 0,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The load users (created on first use), each a CUSTOMER linked to a seeded customer with orders. */
export async function prepareShoppers(pool: pg.Pool, config: AppConfig, count: number): Promise<Shopper[]> {
  const existing = await pool.query<{ id: string; email: string; customer_id: string | null }>(
    'SELECT id, email, customer_id FROM users WHERE email LIKE $1 ORDER BY email',
    [USER_EMAIL_LIKE],
  );
  const taken = new Set(existing.rows.map((u) => u.email));
  const missing: string[] = [];
  for (let n = 1; n <= count; n++) if (!taken.has(userEmail(n))) missing.push(userEmail(n));
  if (missing.length > 0) {
    const customers = await pool.query<{ id: string }>(
      `SELECT c.id FROM customers c
        WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.customer_id = c.id)
          AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
        ORDER BY c.id LIMIT $1`,
      [missing.length],
    );
    if (customers.rows.length < missing.length) {
      throw new Error(
        `${missing.length} more load users need as many customers with orders and no user; the database has ` +
          `${customers.rows.length}. Seed more (npm run db:seed) or pass a smaller --users.`,
      );
    }
    // One Argon2 hash of a random password nobody keeps: these users never log in.
    const passwords = createPasswordHasher({
      pepper: config.auth.passwordPepper,
      memoryKib: config.auth.password.argon2MemoryKib,
      timeCost: config.auth.password.argon2TimeCost,
    });
    const passwordHash = await passwords.hash(randomBytes(24).toString('base64url'));
    await pool.query(
      `WITH created AS (
         INSERT INTO users (id, email, display_name, password_hash, customer_id, created_at, updated_at)
         SELECT gen_random_uuid(), e.email, 'Load test shopper ' || split_part(e.email, '@', 1), $3, e.customer_id, now(), now()
           FROM unnest($1::text[], $2::uuid[]) AS e(email, customer_id)
         RETURNING id)
       INSERT INTO user_roles (user_id, role_id, assigned_at)
       SELECT created.id, r.id, now() FROM created, roles r WHERE r.name = 'CUSTOMER'`,
      [missing, customers.rows.map((c) => c.id), passwordHash],
    );
  }
  const { rows } = await pool.query<{ id: string; customer_id: string }>(
    `SELECT u.id, u.customer_id FROM users u
      WHERE u.email LIKE $1 AND u.is_active AND u.customer_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                     WHERE ur.user_id = u.id AND r.name = 'CUSTOMER')
      ORDER BY u.email LIMIT $2`,
    [USER_EMAIL_LIKE, count],
  );
  if (rows.length < count) throw new Error(`only ${rows.length} of ${count} load users are usable (active customers)`);
  return rows.map((r) => ({ userId: r.id, customerId: r.customer_id }));
}

/** A real session per shopper and an access token signed for it, valid for the whole run. */
export async function signIn(pool: pg.Pool, config: AppConfig, shoppers: Shopper[], ttlSeconds: number) {
  const sessionIds = shoppers.map(() => randomUUID());
  await pool.query(
    `INSERT INTO sessions (id, user_id, family_id, token_hash, user_agent, expires_at, created_at)
     SELECT s.id, s.user_id, gen_random_uuid(), s.token_hash, 'erp-load/artillery', now() + make_interval(secs => $4), now()
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS s(id, user_id, token_hash)`,
    [sessionIds, shoppers.map((s) => s.userId), shoppers.map(() => randomBytes(32).toString('hex')), ttlSeconds],
  );
  const tokens = createTokenService({
    secrets: config.auth.jwtSecrets,
    issuer: config.auth.jwtIssuer,
    audience: config.auth.jwtAudience,
    accessTtlSeconds: ttlSeconds,
    mfaTtlSeconds: config.auth.mfaChallengeTtlSeconds,
    logger: createLogger({ level: 'error' }),
  });
  return Promise.all(
    shoppers.map(async (s, i) => ({ ...s, token: (await tokens.signAccess(s.userId, sessionIds[i]!)).token })),
  );
}

/** The variants checkouts buy and their warehouse, topped up to TOP_UP_TO units (recorded in the ledger). */
export async function prepareCheckoutStock(pool: pg.Pool) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: warehouses } = await client.query<{ id: string }>('SELECT id FROM warehouses ORDER BY code LIMIT 1');
    const warehouseId = warehouses[0]?.id;
    if (!warehouseId) throw new Error('the database has no warehouse: seed it first (npm run db:seed)');
    // Spread over the catalog (md5 order), only what a shopper can buy, only existing stock rows.
    const { rows: levels } = await client.query<{ variant_id: string; quantity: number }>(
      `SELECT l.variant_id, l.quantity FROM inventory_levels l
         JOIN product_variants v ON v.id = l.variant_id
         JOIN products p ON p.id = v.product_id
        WHERE l.warehouse_id = $1 AND v.is_active AND p.status = 'ACTIVE' AND v.currency = 'USD'
        ORDER BY md5(v.id::text) LIMIT $2
          FOR UPDATE OF l`,
      [warehouseId, CHECKOUT_VARIANTS],
    );
    if (levels.length === 0) throw new Error('no active variant has a stock row in the first warehouse');
    const short = levels.filter((l) => l.quantity < TOP_UP_TO);
    if (short.length > 0) {
      const ids = short.map((l) => l.variant_id);
      const deltas = short.map((l) => TOP_UP_TO - l.quantity);
      await client.query(
        `UPDATE inventory_levels l SET quantity = l.quantity + c.delta, updated_at = now()
           FROM unnest($1::uuid[], $2::int[]) AS c(variant_id, delta)
          WHERE l.variant_id = c.variant_id AND l.warehouse_id = $3`,
        [ids, deltas, warehouseId],
      );
      await client.query(
        `INSERT INTO stock_adjustments (id, variant_id, warehouse_id, delta, reason, note, created_at)
         SELECT gen_random_uuid(), c.variant_id, $3, c.delta, 'RECEIVED', $4, now()
           FROM unnest($1::uuid[], $2::int[]) AS c(variant_id, delta)`,
        [ids, deltas, warehouseId, TOP_UP_NOTE],
      );
    }
    await client.query('COMMIT');
    return { warehouseId, variantIds: levels.map((l) => l.variant_id) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Skus, search words and page count of the active catalog, for the browse and detail flows. */
export async function catalogData(pool: pg.Pool) {
  const { rows: products } = await pool.query<{ sku: string; name: string }>(
    "SELECT sku, name FROM products WHERE status = 'ACTIVE' ORDER BY sku",
  );
  if (products.length === 0) throw new Error('the catalog has no active product: seed it first (npm run db:seed)');
  // The 30 most frequent words of the product names: searches that find something.
  const words = new Map<string, number>();
  for (const p of products) {
    for (const word of p.name.toLowerCase().split(/[^a-z]+/)) {
      if (word.length >= 3) words.set(word, (words.get(word) ?? 0) + 1);
    }
  }
  const searchWords = [...words.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)
    .map(([w]) => w);
  return {
    pageSize: PAGE_SIZE,
    lastPage: Math.max(1, Math.ceil(products.length / PAGE_SIZE)),
    skus: products.map((p) => p.sku),
    searchWords: searchWords.length > 0 ? searchWords : [products[0]!.sku],
  };
}

/** A run's Redis keys (SCAN + DEL, without a client-side prefix, which SCAN ignores). */
export async function removeRedisKeys(prefix: string): Promise<void> {
  const redis = createRedis({ url: REDIS_URL, logger: createLogger({ level: 'error' }), name: 'erp-load-cleanup' });
  try {
    let cursor = (await waitForRedis(redis)) ? '0' : undefined;
    while (cursor !== undefined) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next === '0' ? undefined : next;
    }
  } catch {
    // Redis unreachable: the keys stay (a few rate-limit counters, which expire).
  } finally {
    redis.disconnect();
  }
}

// ------------------------------------------------------------------ the run

/**
 * Before a run: removes what earlier (interrupted) runs left, signs in `users` shoppers with tokens
 * valid for `tokenTtlSeconds`, stocks the checkout variants, reads the catalog the operations use,
 * and maps the mix's operation names to their persisted ids.
 */
export async function prepareRun(pool: pg.Pool, config: AppConfig, users: number, tokenTtlSeconds: number) {
  const stale = await cleanUp(pool);
  if (Object.values(stale).some((n) => n > 0))
    console.log(`  removed leftovers of earlier runs: ${JSON.stringify(stale)}`);
  const shoppers = await signIn(pool, config, await prepareShoppers(pool, config, users), tokenTtlSeconds);
  const checkout = await prepareCheckoutStock(pool);
  const catalog = await catalogData(pool);
  const manifestPath = config.graphql.persisted.manifests[0];
  if (!manifestPath) throw new Error('no persisted-operation manifest configured');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const operations: Record<string, string> = {};
  for (const name of OPERATIONS) {
    const entry = manifest.operations.find((o) => o.name === name);
    if (!entry) throw new Error(`${name} is not in ${relative(rootDir, manifestPath)}: run npm run codegen`);
    operations[name] = entry.id;
  }
  return { shoppers, checkout, catalog, operations };
}

/**
 * Starts `instances` gateways one after the other (several startups at once on a small machine
 * only take longer), each pushed onto `gateways` as soon as it is up, so that the caller's
 * teardown stops them even when a later one fails; with several, nginx in front of them
 * (deploy/nginx/gateway.conf.template). Returns the base URL to send to.
 */
export async function startInstances(run: {
  env: Record<string, string>;
  instances: number;
  resultsBase: string;
  workDir: string;
  config: AppConfig;
  gateways: Gateway[];
  /** nginx's access log, for the runs that read which upstream answered. */
  accessLog: boolean;
}): Promise<{ base: string; nginx: RunningNginx | undefined }> {
  const several = run.instances > 1;
  await buildGateway();
  for (let i = 1; i <= run.instances; i++) {
    const gateway = await startGateway(run.env, `${run.resultsBase}.gateway${several ? `-${i}` : ''}.log`);
    run.gateways.push(gateway);
    console.log(
      `  gateway${several ? ` ${i}` : ''} started at ${gateway.base} (pid ${gateway.child.pid}, ` +
        `output in ${relative(rootDir, gateway.logFile)})`,
    );
  }
  if (!several) return { base: run.gateways[0]!.base, nginx: undefined };
  const nginx = await startNginx({
    upstreams: run.gateways.map(hostPort),
    listenPort: await freePort(),
    dir: join(run.workDir, 'nginx'),
    bodyLimitBytes: run.config.http.bodyLimitBytes,
    executionTimeoutMs: run.config.graphql.executionTimeoutMs,
    accessLog: run.accessLog,
    readinessIntervalMs: READINESS_INTERVAL_MS,
  });
  console.log(`  nginx at ${nginx.base} in front of them (deploy/nginx/gateway.conf.template)`);
  return { base: nginx.base, nginx };
}

/**
 * After a run: stops nginx (keeping its error log with the results: refused connects and upstream
 * errors) and the gateways, removes the run's orders, carts and sessions unless --keep-data, and
 * its Redis keys and scratch folder.
 */
export async function tearDown(run: {
  nginx: RunningNginx | undefined;
  resultsBase: string;
  gateways: Gateway[];
  pool: pg.Pool;
  keepData: boolean;
  /** Undefined when the run used a gateway it did not start (its keys are not the run's). */
  redisKeyPrefix: string | undefined;
  workDir: string;
}): Promise<void> {
  if (run.nginx) {
    await run.nginx.stop();
    writeFileSync(`${run.resultsBase}.nginx-error.log`, run.nginx.errorLog());
  }
  await Promise.all(run.gateways.map(stopGateway));
  if (!run.keepData) {
    const removed = await cleanUp(run.pool).catch((error: unknown) => {
      console.error(`cleanup failed: ${String(error)}`);
      return undefined;
    });
    if (removed) console.log(`cleaned up: ${JSON.stringify(removed)}`);
  }
  await run.pool.end();
  if (run.redisKeyPrefix !== undefined) await removeRedisKeys(run.redisKeyPrefix);
  rmSync(run.workDir, { recursive: true, force: true });
}

export interface Manifest {
  operations: { id: string; name: string }[];
}

/** Sends one persisted operation; throws unless it is a 200 with data and no errors. */
export async function send(
  base: string,
  token: string,
  operations: Record<string, string>,
  name: string,
  variables: object,
) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      operationName: name,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: operations[name] } },
    }),
  });
  const text = await response.text();
  let body: { data?: Record<string, { id?: string } | null>; errors?: unknown[] } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (response.status !== 200 || !body?.data || (body.errors?.length ?? 0) > 0) {
    throw new Error(`${name} failed before the run (HTTP ${response.status}): ${text.slice(0, 500)}`);
  }
  return body.data;
}

/** Every flow of the mix a few times: proves the setup works and warms the gateway up. */
export async function preflight(
  base: string,
  users: (Shopper & { token: string })[],
  operations: Record<string, string>,
  catalog: Awaited<ReturnType<typeof catalogData>>,
  checkout: { warehouseId: string; variantIds: string[] },
  rounds: number,
) {
  for (let round = 0; round < rounds; round++) {
    const user = users[round % users.length]!;
    await send(base, user.token, operations, 'CatalogPage', { page: 1 + (round % 5), limit: PAGE_SIZE, search: null });
    await send(base, user.token, operations, 'CatalogPage', {
      page: 1,
      limit: PAGE_SIZE,
      search: catalog.searchWords[round % catalog.searchWords.length],
    });
    await send(base, user.token, operations, 'ProductDetail', { sku: catalog.skus[round % catalog.skus.length] });
    await send(base, user.token, operations, 'OrderHistory', { customerId: user.customerId, limit: 20 });
    await send(base, user.token, operations, 'Me', {});
    const cart = await send(base, user.token, operations, 'CreateCart', { customerId: user.customerId });
    const cartId = cart.createCart?.id;
    await send(base, user.token, operations, 'AddCartItem', {
      cartId,
      variantId: checkout.variantIds[round % checkout.variantIds.length],
      quantity: 1,
    });
    await send(base, user.token, operations, 'Checkout', { cartId, warehouseId: checkout.warehouseId });
  }
}

/**
 * The load generator as a child process: `artillery run <args>`, or load/lean-generator.ts with the
 * same arguments (run like the gateway, under tsx).
 */
function runGenerator(
  generator: LoadGenerator,
  args: string[],
  extraEnv: Record<string, string>,
): { pid?: number; done: Promise<number> } {
  const bin = join(rootDir, 'node_modules', 'artillery', 'bin', 'run');
  if (generator === 'artillery' && !existsSync(bin)) throw new Error('artillery is not installed: npm install');
  const command =
    generator === 'artillery' ? [bin, 'run', ...args] : ['--import', 'tsx', join('load', 'lean-generator.ts'), ...args];
  const child = spawn(process.execPath, command, {
    cwd: rootDir,
    env: { ...env, ...extraEnv },
    stdio: 'inherit',
  });
  const stop = () => child.kill('SIGINT');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const done = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
  return { pid: child.pid, done };
}

function summarize(report: ArtilleryReport, plannedSeconds: number) {
  const { counters, summaries } = report.aggregate;
  const first = report.aggregate.firstCounterAt ?? report.aggregate.firstMetricAt;
  const last = report.aggregate.lastCounterAt ?? report.aggregate.lastMetricAt;
  const requests = counters['http.requests'] ?? 0;
  const responses = counters['http.responses'] ?? 0;
  const elapsed = first !== undefined && last !== undefined && last > first ? (last - first) / 1000 : plannedSeconds;
  const latency = summaries['http.response_time'] ?? {};
  const pick = (s: Record<string, number> | undefined) => ({
    p50: s?.p50 ?? s?.median,
    p95: s?.p95,
    p99: s?.p99,
    p999: s?.p999,
    max: s?.max,
  });
  const perOperation: Record<string, ReturnType<typeof pick> & { count?: number }> = {};
  const prefix = 'plugins.metrics-by-endpoint.response_time.';
  for (const [name, s] of Object.entries(summaries)) {
    if (name.startsWith(prefix)) perOperation[name.slice(prefix.length)] = { count: s.count, ...pick(s) };
  }
  const codes = Object.fromEntries(
    Object.entries(counters)
      .filter(([k]) => k.startsWith('http.codes.'))
      .map(([k, v]) => [k.slice('http.codes.'.length), v]),
  );
  const errors = Object.fromEntries(
    Object.entries(counters)
      .filter(([k]) => k.startsWith('errors.'))
      .map(([k, v]) => [k.slice('errors.'.length), v]),
  );
  const created = counters['vusers.created'] ?? 0;
  const failed = counters['vusers.failed'] ?? 0;
  return {
    requests,
    /** Requests sent per second of the planned phases: the load offered. */
    sentPerSecond: Number((requests / plannedSeconds).toFixed(1)),
    responses,
    /** Responses per second, from the first to the last metric of the run: the throughput. */
    answeredPerSecond: Number((responses / elapsed).toFixed(1)),
    seconds: Number(elapsed.toFixed(1)),
    latencyMs: pick(latency),
    perOperation,
    codes,
    errors,
    vusers: { created, completed: counters['vusers.completed'] ?? 0, failed },
    errorRatePercent: created > 0 ? Number(((failed / created) * 100).toFixed(3)) : 0,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ------------------------------------------------------------------ arguments

/** The command line and the scenario file it names; exits 2 on bad usage. */
function cli() {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      users: { type: 'string', default: '500' },
      'keep-data': { type: 'boolean', default: false },
      flow: { type: 'string' },
      instances: { type: 'string', default: '1' },
      'stop-one-at': { type: 'string' },
      'rate-scale': { type: 'string', default: '1' },
      generator: { type: 'string', default: 'artillery' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

  const SCENARIOS = readdirSync(scenariosDir)
    .filter((f) => f.endsWith('.yml') && f !== 'common.yml')
    .map((f) => f.slice(0, -'.yml'.length))
    .sort();
  const USAGE =
    `usage: npm run load -- <${SCENARIOS.join('|')}> [--target URL] [--users N] [--keep-data] ` +
    `[--flow browse|'product detail'|'order history'|me|checkout] [--instances N] [--stop-one-at SECONDS] ` +
    `[--rate-scale F] [--generator ${LOAD_GENERATORS.join('|')}]`;

  const scenario = positionals[0];
  if (flags.help || !scenario || positionals.length > 1) {
    console.log(USAGE);
    process.exit(flags.help ? 0 : 2);
  }
  if (!SCENARIOS.includes(scenario)) {
    console.error(`unknown scenario "${scenario}"\n${USAGE}`);
    process.exit(2);
  }
  const USERS = Number(flags.users);
  if (!Number.isInteger(USERS) || USERS < 1) {
    console.error(`--users must be a positive whole number\n${USAGE}`);
    process.exit(2);
  }
  const FLOWS = ['browse', 'product detail', 'order history', 'me', 'checkout'];
  if (flags.flow !== undefined && !FLOWS.includes(flags.flow)) {
    console.error(`unknown flow "${flags.flow}": one of ${FLOWS.join(', ')} (load/scenarios/common.yml)`);
    process.exit(2);
  }
  const externalTarget = flags.target?.replace(/\/+$/, '');
  const INSTANCES = Number(flags.instances);
  if (!Number.isInteger(INSTANCES) || INSTANCES < 1) {
    console.error(`--instances must be a positive whole number\n${USAGE}`);
    process.exit(2);
  }
  if (externalTarget && INSTANCES > 1) {
    console.error(`--instances starts gateways here; it cannot go with --target\n${USAGE}`);
    process.exit(2);
  }
  const STOP_ONE_AT = flags['stop-one-at'] === undefined ? undefined : Number(flags['stop-one-at']);
  if (STOP_ONE_AT !== undefined && !(INSTANCES > 1 && STOP_ONE_AT > 0)) {
    console.error(`--stop-one-at needs --instances 2 or more and a number of seconds above 0\n${USAGE}`);
    process.exit(2);
  }
  const RATE_SCALE = Number(flags['rate-scale']);
  if (!(RATE_SCALE > 0)) {
    console.error(`--rate-scale must be a number above 0\n${USAGE}`);
    process.exit(2);
  }
  const GENERATOR = flags.generator as LoadGenerator;
  if (!LOAD_GENERATORS.includes(GENERATOR)) {
    console.error(`unknown load generator "${flags.generator}": one of ${LOAD_GENERATORS.join(', ')}\n${USAGE}`);
    process.exit(2);
  }

  const scenarioFile = join(scenariosDir, `${scenario}.yml`);
  const scenarioSpec = parseYaml(readFileSync(scenarioFile, 'utf8')) as ScenarioFile;
  const phases = scenarioSpec.config?.phases ?? [];
  const plannedSeconds = phases.reduce((sum, p) => sum + seconds(p.duration ?? p.pause), 0);
  /**
   * Thresholds artillery's ensure plugin cannot check, checked here: p99.9 (the plugin rewrites metric
   * names by substring, so `http.response_time.p999` becomes the p99 metric followed by a 9 and fails to
   * parse) and the gateway's memory (a process artillery does not see).
   */
  const runnerChecks = scenarioSpec.config?.runnerChecks ?? {};
  /** The phases with --rate-scale applied (artillery --overrides replaces the list), or undefined at 1. */
  const scaledPhases =
    RATE_SCALE === 1
      ? undefined
      : phases.map((p) => ({
          ...p,
          ...(p.arrivalRate !== undefined ? { arrivalRate: Math.max(1, Math.round(p.arrivalRate * RATE_SCALE)) } : {}),
          ...(p.rampTo !== undefined ? { rampTo: Math.max(1, Math.round(p.rampTo * RATE_SCALE)) } : {}),
        }));
  if (STOP_ONE_AT !== undefined && STOP_ONE_AT >= plannedSeconds) {
    console.error(`--stop-one-at ${STOP_ONE_AT} is not within the ${plannedSeconds} s of ${scenario}`);
    process.exit(2);
  }
  return {
    flags,
    scenario,
    USERS,
    externalTarget,
    INSTANCES,
    STOP_ONE_AT,
    RATE_SCALE,
    GENERATOR,
    scenarioFile,
    phases,
    plannedSeconds,
    runnerChecks,
    scaledPhases,
  };
}

async function main(): Promise<number> {
  const {
    flags,
    scenario,
    USERS,
    externalTarget,
    INSTANCES,
    STOP_ONE_AT,
    RATE_SCALE,
    GENERATOR,
    scenarioFile,
    phases,
    plannedSeconds,
    runnerChecks,
    scaledPhases,
  } = cli();
  const workDir = mkdtempSync(join(tmpdir(), `erp-load-${scenario}-`));
  const resultsDir = join(rootDir, 'load', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  /** load/results/load-<scenario>-<time>: .json (the generator's report), .summary.json, .gateway.log (.gateway-N.log) */
  const resultsBase = join(resultsDir, `load-${scenario}-${stamp}`);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
  const redisKeyPrefix = `load:${scenario}:${randomBytes(4).toString('hex')}:`;
  const dbUrl = new URL(DATABASE_URL);
  const dbLabel = `${dbUrl.hostname}:${dbUrl.port || '5432'}${dbUrl.pathname}`;
  const gateways: Gateway[] = [];
  let nginx: RunningNginx | undefined;

  const gatewaySettings = externalTarget ? undefined : gatewayEnvironment(redisKeyPrefix, INSTANCES);
  // The settings the tokens are signed with: the started gateway's, or the target's own.
  const config = loadConfig({ rootDir, env: gatewaySettings?.env ?? env });
  const tokenTtl = Math.ceil(plannedSeconds) + 30 * 60;

  try {
    console.log(
      `load scenario ${scenario}: ${phases.map((p) => p.name ?? `${seconds(p.duration ?? p.pause)} s`).join(' → ')}`,
    );
    console.log(
      `  planned ${plannedSeconds} s; database ${dbLabel}; ${USERS} shoppers; ` +
        (flags.flow ? `only the ${flags.flow} flow` : 'the full mix') +
        `; load generator ${GENERATOR}` +
        (scaledPhases
          ? `; arrival rates × ${RATE_SCALE}: ${scaledPhases.map((p) => p.arrivalRate ?? '-').join(', ')}/s`
          : ''),
    );

    const { shoppers, checkout, catalog, operations } = await prepareRun(pool, config, USERS, tokenTtl);

    const usersFile = join(workDir, 'users.csv');
    writeFileSync(usersFile, `token,customerId\n${shoppers.map((s) => `${s.token},${s.customerId}`).join('\n')}\n`);
    const dataFile = join(workDir, 'data.json');
    writeFileSync(dataFile, JSON.stringify({ operations, catalog, checkout }));

    let base: string;
    if (gatewaySettings) {
      if (gatewaySettings.fromUser.length > 0) {
        console.log(`  gateway settings from your environment: ${gatewaySettings.fromUser.join(', ')}`);
      }
      ({ base, nginx } = await startInstances({
        env: gatewaySettings.env,
        instances: INSTANCES,
        resultsBase,
        workDir,
        config,
        gateways,
        accessLog: true,
      }));
    } else {
      base = externalTarget!;
      console.log(`  target ${base} (external)`);
    }
    await preflight(base, shoppers, operations, catalog, checkout, 10);
    console.log(`  preflight ok: every flow of the mix works; starting the load generator (${GENERATOR})\n`);

    // Gateway memory and CPU while the generator runs (only for gateways started here), its CPU,
    // and how busy the whole machine was.
    const samples = gateways.map((): UsageSample[] => []);
    let generatorStart: number | undefined;
    let generatorLast: number | undefined;
    let generatorPid: number | undefined = undefined;
    const sample = () => {
      gateways.forEach((gateway, i) => {
        const usage =
          gateway.child.exitCode === null && gateway.child.pid ? processUsage(gateway.child.pid) : undefined;
        if (usage) samples[i]!.push({ at: Date.now(), ...usage });
      });
      const generator = generatorPid ? processUsage(generatorPid) : undefined;
      if (generator) {
        generatorStart ??= generator.cpuSeconds;
        generatorLast = generator.cpuSeconds;
      }
    };
    // Heap from each gateway's metrics listener; a scrape still running (a busy gateway) is not doubled.
    const heapSamples = gateways.map((): HeapSample[] => []);
    const scraping = gateways.map(() => false);
    const sampleHeap = () =>
      Promise.all(
        gateways.map(async (gateway, i) => {
          if (scraping[i] || gateway.child.exitCode !== null) return;
          scraping[i] = true;
          const heap = await readHeap(gateway.metricsBase);
          scraping[i] = false;
          if (heap) heapSamples[i]!.push(heap);
        }),
      );
    sample();
    await sampleHeap();
    const cacheBefore = await Promise.all(gateways.map((gateway) => readResponseCache(gateway.metricsBase)));
    const machineBefore = machineCpu();
    const startedAt = Date.now();
    const sampler = setInterval(sample, SAMPLE_MS);
    const heapSampler = setInterval(() => void sampleHeap(), HEAP_SAMPLE_MS);

    const reportFile = `${resultsBase}.json`;
    const generator = runGenerator(
      GENERATOR,
      [
        join(scenariosDir, 'common.yml'),
        scenarioFile,
        '--target',
        base,
        '--payload',
        usersFile,
        '--output',
        reportFile,
        // One flow of the mix alone (a diagnosis: what each costs), instead of the mix.
        ...(flags.flow ? ['--scenario-name', flags.flow] : []),
        ...(scaledPhases ? ['--overrides', JSON.stringify({ config: { phases: scaledPhases } })] : []),
      ],
      { LOAD_DATA_FILE: dataFile, ARTILLERY_DISABLE_TELEMETRY: 'true' },
    );
    generatorPid = generator.pid;
    const stopping =
      STOP_ONE_AT !== undefined && nginx
        ? stopOneLater(gateways, 1, nginx, startedAt, STOP_ONE_AT, generator.done)
        : undefined;
    const generatorCode = await generator.done;
    const stopped = await stopping;
    clearInterval(sampler);
    clearInterval(heapSampler);
    sample();
    await sampleHeap();
    const machineAfter = machineCpu();
    // Cacheable reads over the run, all instances: what the mix's writes left of the cache.
    const cacheAfter = await Promise.all(gateways.map((gateway) => readResponseCache(gateway.metricsBase)));
    let responseCache: { hits: number; misses: number; coalesced: number } | undefined = {
      hits: 0,
      misses: 0,
      coalesced: 0,
    };
    for (const [i, after] of cacheAfter.entries()) {
      const before = cacheBefore[i];
      if (!after || !before || !responseCache) responseCache = undefined;
      else
        responseCache = {
          hits: responseCache.hits + after.hits - before.hits,
          misses: responseCache.misses + after.misses - before.misses,
          coalesced: responseCache.coalesced + after.coalesced - before.coalesced,
        };
    }
    const runSeconds = (Date.now() - startedAt) / 1000;
    const machine =
      machineBefore && machineAfter && machineAfter.total > machineBefore.total
        ? {
            cores: availableParallelism(),
            busyPercent: Number(
              (((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100).toFixed(
                1,
              ),
            ),
            loadGeneratorCpuPercentOfOneCore:
              generatorStart !== undefined && generatorLast !== undefined
                ? Number((((generatorLast - generatorStart) / runSeconds) * 100).toFixed(1))
                : undefined,
          }
        : undefined;

    if (!existsSync(reportFile)) {
      console.error(`the load generator (${GENERATOR}) wrote no report (exit code ${generatorCode})`);
      return generatorCode || 1;
    }
    const summary = summarize(JSON.parse(readFileSync(reportFile, 'utf8')) as ArtilleryReport, plannedSeconds);

    // Gateway usage: memory, CPU per request (behind nginx: per instance, by the requests it answered).
    if (nginx) await nginx.stop();
    const answered = nginx ? await readAccessLog(join(workDir, 'nginx', 'logs', 'access.log'), startedAt) : undefined;
    const instances = gateways.map((gateway, i) =>
      usageOf(samples[i]!, answered ? (answered.answeredBy[hostPort(gateway)] ?? 0) : summary.requests, heapSamples[i]),
    );
    const gatewayUsage = INSTANCES === 1 ? instances[0] : undefined;
    const measured = instances.filter((u): u is Usage => u !== undefined);
    const cluster =
      INSTANCES > 1 && measured.length > 0
        ? {
            /** Sum of each instance's peak: an upper bound of the cluster's memory at any moment. */
            rssPeakSumMb: measured.reduce((sum, u) => sum + u.rssPeakMb, 0),
            cpuPercentOfOneCore: Number(
              ((measured.reduce((sum, u) => sum + u.cpuSeconds, 0) / runSeconds) * 100).toFixed(1),
            ),
            cpuMsPerRequest:
              summary.requests > 0
                ? Number(((measured.reduce((sum, u) => sum + u.cpuSeconds, 0) * 1000) / summary.requests).toFixed(3))
                : 0,
            instances: gateways.map((gateway, i) => ({
              instance: i + 1,
              pid: gateway.child.pid,
              requests: answered?.answeredBy[hostPort(gateway)] ?? 0,
              ...instances[i],
            })),
            /** Requests nginx sent to a second instance after a refused or timed-out connect. */
            retriedRequests: answered?.retried ?? 0,
          }
        : undefined;

    // The runner's checks (runnerChecks of the scenario file).
    const checks: { check: string; ok: boolean | undefined }[] = [];
    if (runnerChecks.maxP999Ms !== undefined) {
      const p999 = summary.latencyMs.p999;
      checks.push({
        check: `http.response_time.p999 < ${runnerChecks.maxP999Ms} (${p999 ?? '-'})`,
        ok: p999 === undefined ? undefined : p999 < runnerChecks.maxP999Ms,
      });
    }
    // Several instances: each must hold the limits (the stopped one's growth aside: its run was cut short).
    const peak = measured.length > 0 ? Math.max(...measured.map((u) => u.rssPeakMb)) : undefined;
    const growths = instances
      .filter((u, i) => u !== undefined && !(stopped && stopped.instance === i + 1))
      .map((u) => u!.rssGrowthPercent);
    if (runnerChecks.maxRssMb !== undefined) {
      checks.push({
        check: `gateway RSS peak < ${runnerChecks.maxRssMb} MB (${peak ?? '-'})`,
        ok: peak === undefined ? undefined : peak < runnerChecks.maxRssMb,
      });
    }
    if (runnerChecks.maxRssGrowthPercent !== undefined) {
      const growth = growths.length > 0 ? Math.max(...growths) : undefined;
      checks.push({
        check: `gateway RSS growth from the 20-30% mark to the end < ${runnerChecks.maxRssGrowthPercent}% (${growth ?? '-'})`,
        ok: growth === undefined || !Number.isFinite(growth) ? undefined : growth < runnerChecks.maxRssGrowthPercent,
      });
    }
    if (runnerChecks.maxHeapGrowthPercent !== undefined) {
      const heapGrowths = instances
        .filter((u, i) => u?.heap !== undefined && !(stopped && stopped.instance === i + 1))
        .map((u) => u!.heap!.growthPercent);
      const growth = heapGrowths.length > 0 ? Math.max(...heapGrowths) : undefined;
      checks.push({
        check:
          `gateway heap growth (post-GC floor) from the 20-30% mark to the end < ` +
          `${runnerChecks.maxHeapGrowthPercent}% (${growth ?? '-'})`,
        ok: growth === undefined || !Number.isFinite(growth) ? undefined : growth < runnerChecks.maxHeapGrowthPercent,
      });
    }
    if (STOP_ONE_AT !== undefined) {
      // The issue's bar for a stop under load: not one request lost, and a clean exit.
      checks.push({
        check: `the stopped gateway exited 0 (${stopped ? stopped.exitCode : 'not stopped: the run ended first'})`,
        ok: stopped?.exitCode === 0,
      });
      checks.push({ check: `no request failed (${summary.vusers.failed} failed)`, ok: summary.vusers.failed === 0 });
    }

    const ms = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(1)} ms`);
    const variant = [
      ...(INSTANCES > 1 ? [`${INSTANCES} instances behind nginx`] : []),
      ...(scaledPhases ? [`arrival rates × ${RATE_SCALE}`] : []),
      ...(LOAD_NODE_OPTIONS.length > 0 && !externalTarget ? [`gateways with ${LOAD_NODE_OPTIONS.join(' ')}`] : []),
    ];
    console.log(`\n=== load scenario ${scenario}${variant.length > 0 ? ` (${variant.join(', ')})` : ''}: summary ===`);
    console.log(
      `sent ${summary.requests} requests (${summary.sentPerSecond} req/s over the planned ${plannedSeconds} s), ` +
        `${summary.responses} answered (${summary.answeredPerSecond}/s over ${summary.seconds} s)`,
    );
    console.log(
      `virtual users ${summary.vusers.created}, failed ${summary.vusers.failed} (${summary.errorRatePercent}%)`,
    );
    const l = summary.latencyMs;
    console.log(`latency p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}`);
    console.log(`status codes ${JSON.stringify(summary.codes)}; errors ${JSON.stringify(summary.errors)}`);
    console.log(
      `${'operation'.padEnd(16)}${'count'.padStart(9)}${'p50'.padStart(10)}${'p95'.padStart(10)}${'p99'.padStart(10)}`,
    );
    for (const [name, s] of Object.entries(summary.perOperation)) {
      console.log(
        `${name.padEnd(16)}${String(s.count ?? 0).padStart(9)}${ms(s.p50).padStart(10)}${ms(s.p95).padStart(10)}${ms(s.p99).padStart(10)}`,
      );
    }
    if (machine) {
      console.log(
        `machine: ${machine.cores} cores, ${machine.busyPercent}% busy during the run (all of it: load generator, ` +
          `gateway, database, other work); the load generator (${GENERATOR}) used ` +
          `${machine.loadGeneratorCpuPercentOfOneCore ?? '-'}% of a core`,
      );
    }
    if (responseCache) {
      const lookups = responseCache.hits + responseCache.misses;
      console.log(
        `response cache: ${responseCache.hits} hits, ${responseCache.misses} misses of cacheable reads ` +
          `(${lookups > 0 ? ((responseCache.hits / lookups) * 100).toFixed(1) : '-'}% hits); ` +
          `${responseCache.coalesced} misses waited for the same read`,
      );
    }
    /** Heap used, one line: the post-GC floors the growth compares, and the raw samples around them. */
    const heapLine = (heap: Usage['heap']) =>
      heap
        ? `heap post-GC floor (young generation aside) ${heap.earlyFloorMb} → ${heap.lateFloorMb} MB, growth ` +
          `${heap.growthPercent}% (${heap.earlyFloorFrom} → ${heap.lateFloorFrom}); heap used ${heap.firstMb} first, ` +
          `${heap.lastMb} last, ${heap.peakMb} peak; ${heap.majorGcs ?? '-'} major GCs`
        : 'heap used: no samples';
    if (gatewayUsage) {
      console.log(
        `gateway RSS ${gatewayUsage.rssStartMb} → ${gatewayUsage.rssEndMb} MB (peak ${gatewayUsage.rssPeakMb}, ` +
          `growth ${gatewayUsage.rssGrowthPercent}%); CPU ${gatewayUsage.cpuPercentOfOneCore}% of a core, ` +
          `${gatewayUsage.cpuMsPerRequest} ms per request`,
      );
      console.log(`gateway ${heapLine(gatewayUsage.heap)}`);
    }
    if (cluster) {
      console.log(
        `gateways: ${INSTANCES} behind nginx; CPU ${cluster.cpuPercentOfOneCore}% of a core in all, ` +
          `${cluster.cpuMsPerRequest} ms per request; RSS peaks ${cluster.rssPeakSumMb} MB summed; ` +
          `${cluster.retriedRequests} requests retried on another instance by nginx`,
      );
      for (const u of cluster.instances) {
        console.log(
          `  gateway ${u.instance} (pid ${u.pid}): ${u.requests} requests; ` +
            (u.rssPeakMb === undefined
              ? 'no samples'
              : `RSS ${u.rssStartMb} → ${u.rssEndMb} MB (peak ${u.rssPeakMb}, growth ${u.rssGrowthPercent}%); ` +
                `CPU ${u.cpuPercentOfOneCore}% of a core, ${u.cpuMsPerRequest} ms per request; ${heapLine(u.heap)}`),
        );
      }
    }
    if (STOP_ONE_AT !== undefined) {
      console.log(
        stopped
          ? `stopped gateway ${stopped.instance} (pid ${stopped.pid}) with SIGTERM ${stopped.signalledAtSeconds} s ` +
              `into the run: exit code ${stopped.exitCode}, shutdown took ${stopped.shutdownSeconds} s ` +
              `(${config.shutdownReadinessGraceMs / 1000} s of readiness grace, then the drain); nginx had taken it out of ` +
              `rotation ${stopped.outOfRotationSeconds ?? '-'} s after the signal`
          : `no gateway stopped: the run ended before ${STOP_ONE_AT} s`,
      );
    }
    if (checks.length > 0) {
      console.log('runner checks:');
      for (const { check, ok } of checks) {
        // A check without its measurement (an external gateway's memory) is skipped, not failed.
        console.log(`${ok === undefined ? 'skipped' : ok ? 'ok' : 'fail'}: ${check}`);
      }
    }
    const failedChecks = checks.filter((c) => c.ok === false).map((c) => c.check);
    const passed = generatorCode === 0 && failedChecks.length === 0;
    console.log(
      passed
        ? 'result: PASS'
        : `result: FAIL (${[
            ...(generatorCode !== 0 ? [`${GENERATOR} exit code ${generatorCode}: see its Checks above`] : []),
            ...failedChecks,
          ].join('; ')})`,
    );

    const summaryFile = `${resultsBase}.summary.json`;
    writeFileSync(
      summaryFile,
      `${JSON.stringify(
        {
          scenario,
          measuredAt: new Date().toISOString(),
          target:
            externalTarget ??
            (INSTANCES > 1
              ? `${INSTANCES} gateways behind nginx, started by the runner`
              : 'gateway started by the runner'),
          instances: INSTANCES,
          database: dbLabel,
          users: USERS,
          flow: flags.flow ?? 'mix',
          rateScale: RATE_SCALE,
          generator: GENERATOR,
          ...(externalTarget ? {} : { gatewayCommand: gatewayCommandLine() }),
          passed,
          ...summary,
          gateway: gatewayUsage,
          gateways: cluster,
          responseCache,
          stoppedGateway: stopped,
          machine,
          generatorExitCode: generatorCode,
          runnerChecks: checks,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`wrote ${relative(rootDir, reportFile)} and ${relative(rootDir, summaryFile)}`);
    return passed ? 0 : 1;
  } finally {
    await tearDown({
      nginx,
      resultsBase,
      gateways,
      pool,
      keepData: flags['keep-data'] === true,
      redisKeyPrefix: externalTarget ? undefined : redisKeyPrefix,
      workDir,
    });
  }
}

// Run as a command (npm run load); imported (load/measure-overload.ts), only the helpers above.
runAsCommand(import.meta.url, main);

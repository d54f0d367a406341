// The lean load generator: runs the artillery scenario files of load/scenarios/ (the subset of
// artillery they use) at a fraction of artillery's CPU, so that a small machine can generate the
// load its gateway is measured under. `npm run load -- <scenario> --generator lean` starts it in
// place of artillery with the same arguments:
//
//   node --import tsx load/lean-generator.ts load/scenarios/common.yml load/scenarios/short.yml \
//     --target http://127.0.0.1:4000 --payload users.csv --output report.json \
//     [--scenario-name browse] [--overrides '{"config":{"phases":[...]}}']
//
// The files are merged as `artillery run a.yml b.yml` merges them (lodash merge, in order; --overrides
// last, its arrays replacing), the processor's hooks are called with artillery's signatures, the
// report is artillery's JSON shape (what run-scenario.ts summarize() reads, plus `generator: "lean"`)
// and the ensure plugin's checks are evaluated as the plugin does (ensureChecks). Everything a file
// asks for that this does not implement is refused at start-up (exit 2), never ignored.
//
// What it implements (load/README.md "Load generators"):
// - open-loop arrivals: phases of `duration` seconds at `arrivalRate` virtual users per second,
//   ramping linearly to `rampTo`, and `pause`; a tick every TICK_MS launches the arrivals due by then
//   (the integral of the rate), whether or not earlier virtual users finished;
// - each virtual user is one shopper (a random row of the CSV payload), one scenario picked by weight,
//   its own keep-alive connection (an http.Agent with maxSockets 1, destroyed when it ends), its steps
//   one after the other: `post` with url, name, headers, json and `capture` (json: $.a.b, as);
// - a request times out after config.http.timeout seconds (ETIMEDOUT); a connection error, a failed
//   capture or a hook's done(error) fails the virtual user (vusers.failed, errors.<code or message>);
// - latency is from the request's start to the end of its response body, kept in typed arrays,
//   overall and per request name, with exact percentiles at the end (artillery: time to first byte,
//   from a sketch within 1%).
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';

// ------------------------------------------------------------------ shared with load/run-scenario.ts

/** The load generators `npm run load` can start (its --generator). */
export const LOAD_GENERATORS = ['artillery', 'lean'] as const;
export type LoadGenerator = (typeof LOAD_GENERATORS)[number];

/** A phase of a scenario file (config.phases). */
export interface Phase {
  name?: string;
  duration?: number | string;
  pause?: number | string;
  arrivalRate?: number;
  rampTo?: number;
}

/** Seconds of a phase duration: a number, or a string such as "90", "500ms", "5m", "1h". */
export function phaseSeconds(duration: number | string | undefined): number {
  if (typeof duration === 'number') return duration;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?$/.exec(String(duration ?? '0').trim());
  if (!match) throw new Error(`cannot read the phase duration "${String(duration)}"`);
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  return unit === 'ms' ? n / 1000 : unit === 'm' || unit === 'min' ? n * 60 : unit === 'h' ? n * 3600 : n;
}

/** Latency aggregations of a report summary, artillery's names (and order, Samples.summary). */
export type LatencySummary = Record<
  'min' | 'max' | 'count' | 'mean' | 'p50' | 'median' | 'p75' | 'p90' | 'p95' | 'p99' | 'p999',
  number
>;

/** The report file (`--output`), in artillery's shape; `generator` says which one wrote it. */
export interface ArtilleryReport {
  generator?: LoadGenerator;
  aggregate: {
    counters: Record<string, number>;
    rates?: Record<string, number>;
    summaries: Record<string, Record<string, number>>;
    firstCounterAt?: number;
    lastCounterAt?: number;
    firstMetricAt?: number;
    lastMetricAt?: number;
  };
}

// ------------------------------------------------------------------ constants

/** How often arrivals are launched: those due by now (a 1000/s phase launches ~5 per tick). */
const TICK_MS = 5;
/** Interim report period (artillery's too). */
const REPORT_EVERY_MS = 10_000;
/** artillery's default request timeout (seconds) when config.http.timeout is not set. */
const DEFAULT_TIMEOUT_SECONDS = 10;
/** artillery's user-agent when config.defaults.headers is not set. */
const DEFAULT_USER_AGENT = 'Artillery (https://artillery.io)';
/** The error artillery records for a failed capture (errors.<message>: it has no code). */
const FAILED_CAPTURE = 'Failed capture or match';
/** Prefix of the per-request-name metrics of artillery's metrics-by-endpoint plugin. */
const BY_ENDPOINT = 'plugins.metrics-by-endpoint';
/** Exit code of a usage or scenario-file error (the runner's too). */
const EXIT_USAGE = 2;

/** The keys this generator implements, per place in the files; anything else is refused at start-up. */
const SUPPORTED = {
  script: ['config', 'scenarios'],
  // runnerChecks: read by load/run-scenario.ts, not a generator (artillery ignores it too).
  config: ['target', 'processor', 'http', 'payload', 'defaults', 'plugins', 'phases', 'runnerChecks'],
  http: ['timeout'],
  payload: ['path', 'fields', 'order', 'skipHeader'],
  defaults: ['headers'],
  plugins: ['ensure', 'metrics-by-endpoint'],
  ensure: ['thresholds', 'maxErrorRate'],
  byEndpoint: ['useOnlyRequestNames'],
  phase: ['name', 'duration', 'arrivalRate', 'rampTo', 'pause'],
  scenario: ['name', 'weight', 'flow', 'beforeScenario', 'beforeRequest', 'afterResponse'],
  step: ['post'],
  post: ['url', 'name', 'headers', 'json', 'capture'],
  capture: ['json', 'as'],
};

// ------------------------------------------------------------------ the scenario files

/** A start-up problem: the files ask for something this generator does not do (exit 2). */
class ScenarioError extends Error {}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain =>
  v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || !Object.getPrototypeOf(v));

/**
 * lodash's merge, as artillery merges its script files: objects key by key, arrays index by index;
 * with `replaceArrays` (its --overrides) an array replaces the one it meets.
 */
function merge(into: unknown, from: unknown, replaceArrays: boolean): unknown {
  if (from === undefined) return into;
  if (Array.isArray(from)) {
    if (replaceArrays || !Array.isArray(into)) return from.map((v: unknown) => merge(undefined, v, replaceArrays));
    const out: unknown[] = [...(into as unknown[])];
    from.forEach((v: unknown, i) => (out[i] = merge(out[i], v, replaceArrays)));
    return out;
  }
  if (isPlain(from)) {
    const out: Plain = isPlain(into) ? { ...into } : {};
    for (const [key, value] of Object.entries(from)) out[key] = merge(out[key], value, replaceArrays);
    return out;
  }
  return from;
}

type HookFunction = (...args: unknown[]) => unknown;
interface Hook {
  name: string;
  fn: HookFunction;
  /** An async function is awaited, without a done callback (artillery: constructor.name !== 'Function'). */
  isAsync: boolean;
}

interface Capture {
  /** `$.data.createCart.id` → ['data', 'createCart', 'id']. */
  path: string[];
  as: string;
}

interface Step {
  name: string;
  /** The target and the step's url: requestParams.url before the hooks (artillery's maybePrependBase). */
  url: string;
  /** As in the file: the hooks get it untemplated, as artillery's do. */
  headers: Plain | undefined;
  json: unknown;
  /** config.defaults.headers and the step's headers, lower-cased (the step's win): rendered per request. */
  mergedHeaders: Plain;
  captures: Capture[];
  /** Index of the step's name in the per-name latency and code tables. */
  endpoint: number;
}

interface Scenario {
  name: string;
  weight: number;
  beforeScenario: Hook[];
  beforeRequest: Hook[];
  afterResponse: Hook[];
  steps: Step[];
  /** Index in vusers.created_by_name. */
  index: number;
}

interface Threshold {
  metric: string;
  limit: number;
}

interface Plan {
  target: URL;
  timeoutMs: number;
  phases: { name: string | undefined; seconds: number; from: number; to: number }[];
  scenarios: Scenario[];
  payload: { fields: string[]; rows: unknown[][] };
  ensure: { thresholds: Threshold[]; maxErrorRate: number | undefined } | undefined;
  /** metrics-by-endpoint is configured: per-name metrics in the report. */
  byEndpoint: boolean;
  endpoints: string[];
}

function checkKeys(value: unknown, allowed: string[], where: string, problems: string[]): value is Plain {
  if (!isPlain(value)) {
    problems.push(`${where} must be a mapping`);
    return false;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${where}.${key} is not supported by the lean generator`);
  }
  return true;
}

/** A variable name in a template: `{{ name }}` or `{{ a.b }}` (artillery also reads brackets and quotes). */
const TEMPLATE_VARIABLE = /^[$\w]+(?:\.[$\w]+)*$/;
/** artillery's template placeholder (engine_util renderVariables). */
const PLACEHOLDER = /{{{?[\s$\w.[\]'"-]+}}}?/g;

/** Every string of `value` with a placeholder must be one this generator renders; no templated keys. */
function checkTemplates(value: unknown, where: string, problems: string[]): void {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return;
    try {
      compileTemplate(value);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => checkTemplates(v, `${where}[${i}]`, problems));
  } else if (isPlain(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (key.includes('{{')) problems.push(`${where}: templated keys ("${key}") are not supported`);
      checkTemplates(v, `${where}.${key}`, problems);
    }
  } else if (value !== null && typeof value === 'object') {
    problems.push(`${where}: unsupported value ${String(value)}`);
  }
}

function hooksOf(names: unknown, processor: Plain, where: string, problems: string[]): Hook[] {
  if (names === undefined) return [];
  const list = Array.isArray(names) ? (names as unknown[]) : [names];
  const hooks: Hook[] = [];
  for (const name of list) {
    const fn = typeof name === 'string' ? processor[name] : undefined;
    if (typeof fn !== 'function') {
      problems.push(`${where}: ${String(name)} is not a function of the processor`);
      continue;
    }
    hooks.push({ name: name as string, fn: fn as HookFunction, isAsync: fn.constructor.name !== 'Function' });
  }
  return hooks;
}

/** The flag values the runner passes to artillery (`artillery run <files> --target ... --payload ...`). */
interface Options {
  files: string[];
  target: string | undefined;
  payload: string | undefined;
  output: string | undefined;
  scenarioName: string | undefined;
  overrides: string | undefined;
}

/** Reads, merges and checks the scenario files, imports the processor, reads the payload. */
export async function loadPlan(options: Options): Promise<Plan> {
  let script: unknown = {};
  for (const file of options.files) script = merge(script, parseYaml(readFileSync(file, 'utf8')), false);
  if (options.overrides) {
    let overrides: unknown;
    try {
      overrides = JSON.parse(options.overrides);
    } catch (error) {
      throw new ScenarioError(`--overrides is not JSON: ${(error as Error).message}`);
    }
    script = merge(script, overrides, true);
  }
  const problems: string[] = [];
  if (!checkKeys(script, SUPPORTED.script, 'the script', problems)) throw new ScenarioError(problems.join('\n'));
  const config = (script.config ?? {}) as Plain;
  checkKeys(config, SUPPORTED.config, 'config', problems);
  // artillery resolves the processor and a payload path against the first file's folder.
  const baseDir = dirname(resolve(options.files[0] ?? '.'));

  const target = options.target ?? config.target;
  let targetUrl: URL | undefined;
  try {
    targetUrl = new URL(String(target));
    if (targetUrl.protocol !== 'http:' && targetUrl.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    problems.push(`the target "${String(target)}" is not an http(s) URL`);
  }

  const http = (config.http ?? {}) as Plain;
  checkKeys(http, SUPPORTED.http, 'config.http', problems);
  const timeoutSeconds = http.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  if (typeof timeoutSeconds !== 'number' || !(timeoutSeconds > 0)) {
    problems.push('config.http.timeout must be a number of seconds');
  }

  const defaults = (config.defaults ?? {}) as Plain;
  checkKeys(defaults, SUPPORTED.defaults, 'config.defaults', problems);
  const defaultHeaders = lowerCaseKeys(
    isPlain(defaults.headers) ? defaults.headers : { 'user-agent': DEFAULT_USER_AGENT },
  );
  checkTemplates(defaultHeaders, 'config.defaults.headers', problems);

  // The payload: a CSV file, one virtual user's variables per row.
  const payloadSpec = config.payload;
  let payload: Plan['payload'] = { fields: [], rows: [[]] };
  if (payloadSpec !== undefined && checkKeys(payloadSpec, SUPPORTED.payload, 'config.payload', problems)) {
    const fields = payloadSpec.fields;
    if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) {
      problems.push('config.payload.fields must be a list of names');
    }
    if (payloadSpec.order !== undefined && payloadSpec.order !== 'random') {
      problems.push(`config.payload.order "${String(payloadSpec.order)}" is not supported (only random)`);
    }
    const file = options.payload ?? (typeof payloadSpec.path === 'string' ? resolve(baseDir, payloadSpec.path) : '');
    if (!file) problems.push('config.payload has no path and no --payload was given');
    else {
      try {
        payload = { fields: fields as string[], rows: readCsv(file, payloadSpec.skipHeader === true) };
        if (payload.rows.length === 0) problems.push(`the payload ${file} has no rows`);
      } catch (error) {
        problems.push(`the payload ${file}: ${(error as Error).message}`);
      }
    }
  }

  const phases: Plan['phases'] = [];
  if (!Array.isArray(config.phases) || config.phases.length === 0) problems.push('config.phases is missing');
  else {
    config.phases.forEach((phase: unknown, i) => {
      const where = `config.phases[${i}]`;
      if (!checkKeys(phase, SUPPORTED.phase, where, problems)) return;
      const p = phase as Phase;
      try {
        if (p.pause !== undefined) {
          phases.push({ name: p.name, seconds: phaseSeconds(p.pause), from: 0, to: 0 });
          return;
        }
        const seconds = phaseSeconds(p.duration);
        const from = p.arrivalRate;
        const to = p.rampTo ?? from;
        if (typeof from !== 'number' || typeof to !== 'number' || !(from >= 0) || !(to >= 0) || !(seconds > 0)) {
          problems.push(`${where} needs a duration and an arrivalRate (and optionally rampTo), numbers`);
          return;
        }
        phases.push({ name: p.name, seconds, from, to });
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
      }
    });
  }

  let byEndpoint = false;
  let ensure: Plan['ensure'];
  const plugins = config.plugins ?? {};
  if (checkKeys(plugins, SUPPORTED.plugins, 'config.plugins', problems)) {
    const endpoint = plugins['metrics-by-endpoint'];
    if (endpoint !== undefined && checkKeys(endpoint, SUPPORTED.byEndpoint, 'metrics-by-endpoint', problems)) {
      // Per-URL names (useOnlyRequestNames: false) are not implemented: metrics go by request name.
      if (endpoint.useOnlyRequestNames !== true) problems.push('metrics-by-endpoint needs useOnlyRequestNames: true');
      byEndpoint = true;
    }
    const checks = plugins.ensure;
    if (checks !== undefined && checkKeys(checks, SUPPORTED.ensure, 'config.plugins.ensure', problems)) {
      const thresholds: Threshold[] = [];
      for (const entry of (checks.thresholds ?? []) as unknown[]) {
        const pair = isPlain(entry) ? Object.entries(entry) : [];
        const [metric, limit] = pair[0] ?? [];
        if (pair.length !== 1 || typeof limit !== 'number') {
          problems.push(`ensure.thresholds entry ${JSON.stringify(entry)} must be { metric: number }`);
        } else thresholds.push({ metric: metric!, limit });
      }
      const maxErrorRate = checks.maxErrorRate;
      if (maxErrorRate !== undefined && typeof maxErrorRate !== 'number') {
        problems.push('ensure.maxErrorRate must be a number');
      }
      ensure = { thresholds, maxErrorRate: maxErrorRate as number | undefined };
    }
  }

  // The processor (artillery: relative to the first file), then the scenarios that name its functions.
  let processor: Plain = {};
  if (config.processor !== undefined) {
    const file = resolve(baseDir, String(config.processor));
    try {
      processor = { ...((await import(pathToFileURL(file).href)) as Plain) };
    } catch (error) {
      throw new ScenarioError(`the processor ${file} failed to load: ${(error as Error).message}`);
    }
  }
  const endpoints: string[] = [];
  const scenarios: Scenario[] = [];
  const scenarioSpecs = script.scenarios;
  if (!Array.isArray(scenarioSpecs) || scenarioSpecs.length === 0) problems.push('the script has no scenarios');
  else {
    scenarioSpecs.forEach((spec: unknown, i) => {
      const where = `scenarios[${i}]`;
      if (!checkKeys(spec, SUPPORTED.scenario, where, problems)) return;
      const name = typeof spec.name === 'string' ? spec.name : String(i);
      const weight = spec.weight ?? 1;
      if (typeof weight !== 'number' || !(weight >= 0)) problems.push(`${where}.weight must be a number`);
      const steps: Step[] = [];
      if (!Array.isArray(spec.flow) || spec.flow.length === 0) problems.push(`${where}.flow is missing`);
      else {
        spec.flow.forEach((stepSpec: unknown, j) => {
          const at = `${where}.flow[${j}]`;
          if (!checkKeys(stepSpec, SUPPORTED.step, at, problems) || !isPlain(stepSpec.post)) {
            problems.push(`${at}: only post steps are supported`);
            return;
          }
          const post = stepSpec.post;
          if (!checkKeys(post, SUPPORTED.post, `${at}.post`, problems)) return;
          if (typeof post.name !== 'string' || post.name.includes('{{')) {
            problems.push(`${at}.post.name must be a name without templates`);
          }
          if (typeof post.url !== 'string' || post.url.includes('{{')) {
            problems.push(`${at}.post.url must be a URL without templates`);
          }
          if (post.headers !== undefined && !isPlain(post.headers))
            problems.push(`${at}.post.headers must be a mapping`);
          checkTemplates(post.headers, `${at}.post.headers`, problems);
          checkTemplates(post.json, `${at}.post.json`, problems);
          const captures: Capture[] = [];
          const captureSpecs =
            post.capture === undefined ? [] : Array.isArray(post.capture) ? post.capture : [post.capture];
          for (const capture of captureSpecs as unknown[]) {
            if (!checkKeys(capture, SUPPORTED.capture, `${at}.post.capture`, problems)) continue;
            const path = typeof capture.json === 'string' ? /^\$((?:\.[$\w]+)+)$/.exec(capture.json)?.[1] : undefined;
            if (!path || typeof capture.as !== 'string') {
              problems.push(`${at}.post.capture needs json: $.a.b (a dotted path) and as: <variable>`);
            } else captures.push({ path: path.slice(1).split('.'), as: capture.as });
          }
          const stepName = String(post.name);
          let endpoint = endpoints.indexOf(stepName);
          if (endpoint < 0) endpoint = endpoints.push(stepName) - 1;
          steps.push({
            name: stepName,
            url:
              post.url && String(post.url).startsWith('/') ? `${String(target)}${String(post.url)}` : String(post.url),
            headers: post.headers as Plain | undefined,
            json: post.json,
            mergedHeaders: { ...defaultHeaders, ...lowerCaseKeys(post.headers as Plain | undefined) },
            captures,
            endpoint,
          });
        });
      }
      scenarios.push({
        name,
        weight: weight as number,
        beforeScenario: hooksOf(spec.beforeScenario, processor, `${where}.beforeScenario`, problems),
        beforeRequest: hooksOf(spec.beforeRequest, processor, `${where}.beforeRequest`, problems),
        afterResponse: hooksOf(spec.afterResponse, processor, `${where}.afterResponse`, problems),
        steps,
        index: scenarios.length,
      });
    });
  }
  let chosen = scenarios;
  if (options.scenarioName !== undefined) {
    chosen = scenarios.filter((s) => s.name === options.scenarioName).map((s) => ({ ...s, index: 0 }));
    if (chosen.length === 0) problems.push(`no scenario is named "${options.scenarioName}"`);
  } else if (!scenarios.some((s) => s.weight > 0)) problems.push('every scenario has weight 0');
  if (problems.length > 0) throw new ScenarioError(problems.map((p) => `  - ${p}`).join('\n'));
  return {
    target: targetUrl!,
    timeoutMs: (timeoutSeconds as number) * 1000,
    phases,
    scenarios: chosen,
    payload,
    ensure,
    byEndpoint,
    endpoints,
  };
}

function lowerCaseKeys(headers: Plain | undefined): Plain {
  const out: Plain = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key.toLowerCase()] = value;
  return out;
}

/**
 * The CSV payload as artillery's csv-parse reads it (cast: numbers become numbers, empty lines
 * skipped); quoted fields are not implemented and refused.
 */
function readCsv(file: string, skipHeader: boolean): unknown[][] {
  const text = readFileSync(file, 'utf8');
  if (text.includes('"')) throw new Error('quoted CSV fields are not supported');
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  // csv-parse's cast: a value that reads as a number is one (its __isFloat test).
  const cast = (value: string) => (Number(value) - parseFloat(value) + 1 >= 0 ? parseFloat(value) : value);
  return (skipHeader ? lines.slice(1) : lines).map((line) => line.split(',').map(cast));
}

// ------------------------------------------------------------------ templates

/** A compiled template string: literal parts and variable paths, or one variable kept with its type. */
interface Template {
  whole: string[] | undefined;
  parts: (string | string[])[];
}

const templates = new Map<string, Template>();

/** artillery's rules (engine_util template/renderVariables), for variables named by dotted paths. */
function compileTemplate(source: string): Template {
  const cached = templates.get(source);
  if (cached) return cached;
  const matches = [...source.matchAll(PLACEHOLDER)];
  const pathOf = (placeholder: string) => {
    const name = placeholder.replace(/[{}]/g, '').trim();
    if (!TEMPLATE_VARIABLE.test(name))
      throw new Error(`the template "${placeholder}" is not supported (a variable name)`);
    return name.split('.');
  };
  if (source.replace(PLACEHOLDER, '').includes('{{')) {
    throw new Error(`"${source}" has a template the lean generator does not read (functions, expressions)`);
  }
  const parts: Template['parts'] = [];
  let at = 0;
  for (const match of matches) {
    if (match.index > at) parts.push(source.slice(at, match.index));
    parts.push(pathOf(match[0]));
    at = match.index + match[0].length;
  }
  if (at < source.length) parts.push(source.slice(at));
  // Exactly one placeholder and nothing else: the variable's value, number, null or object as it is.
  const whole = matches.length === 1 && matches[0]![0] === source ? (parts[0] as string[]) : undefined;
  const template = { whole, parts };
  templates.set(source, template);
  return template;
}

function lookup(vars: Plain, path: string[]): unknown {
  let value: unknown = vars[path[0]!];
  for (let i = 1; i < path.length && value !== undefined && value !== null; i++) value = (value as Plain)[path[i]!];
  return value;
}

function renderString(source: string, vars: Plain): unknown {
  const template = compileTemplate(source);
  if (template.whole) {
    const value = lookup(vars, template.whole);
    // artillery's sanitiseValue: 0, false, null and undefined stay; other falsy values become ''.
    return value === 0 || value === false || value === null || value === undefined ? value : value || '';
  }
  let out = '';
  for (const part of template.parts) {
    if (typeof part === 'string') out += part;
    else {
      const value = lookup(vars, part);
      out += typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    }
  }
  return out;
}

/** A rendered copy of `value` (objects and arrays are new, as artillery's cloneDeep). */
function render(value: unknown, vars: Plain): unknown {
  if (typeof value === 'string') return value.includes('{{') ? renderString(value, vars) : value;
  if (Array.isArray(value)) return value.map((v: unknown) => render(v, vars));
  if (isPlain(value)) {
    const out: Plain = {};
    for (const key in value) out[key] = render(value[key], vars);
    return out;
  }
  return value;
}

// ------------------------------------------------------------------ arrivals

/** Virtual users due by `seconds` into the run: the integral of the phases' (linearly ramping) rates. */
export function arrivalsDue(phases: Plan['phases'], seconds: number): number {
  let due = 0;
  let start = 0;
  for (const phase of phases) {
    const t = Math.min(Math.max(seconds - start, 0), phase.seconds);
    due += phase.from * t + ((phase.to - phase.from) * t * t) / (2 * phase.seconds);
    start += phase.seconds;
    if (seconds <= start) break;
  }
  return due;
}

/** Index of the phase `seconds` into the run falls in (phases.length after the last). */
function phaseAt(phases: Plan['phases'], seconds: number): number {
  let start = 0;
  for (let i = 0; i < phases.length; i++) {
    start += phases[i]!.seconds;
    if (seconds < start) return i;
  }
  return phases.length;
}

// ------------------------------------------------------------------ metrics

/** A growable array of samples (milliseconds): no allocation per sample. */
class Samples {
  values = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = value;
  }

  /** Exact aggregations (nearest rank), rounded to 0.1 ms as artillery reports them; undefined when empty. */
  summary(): LatencySummary | undefined {
    const n = this.length;
    if (n === 0) return undefined;
    const sorted = this.values.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    const round = (v: number) => Math.round(v * 10) / 10;
    const p50 = round(at(0.5));
    return {
      min: round(sorted[0]!),
      max: round(sorted[n - 1]!),
      count: n,
      mean: round(sum / n),
      p50,
      median: p50,
      p75: round(at(0.75)),
      p90: round(at(0.9)),
      p95: round(at(0.95)),
      p99: round(at(0.99)),
      p999: round(at(0.999)),
    };
  }
}

/** Status codes 100-599, counted by index. */
const STATUS_SLOTS = 600;

class Metrics {
  requests = 0;
  responses = 0;
  codes = new Float64Array(STATUS_SLOTS);
  vusersCreated = 0;
  vusersCompleted = 0;
  vusersFailed = 0;
  createdByScenario: Float64Array;
  latency = new Samples();
  sessionLength = new Samples();
  endpointLatency: Samples[];
  endpointCodes: Float64Array[];
  /** errors.<code>, metrics-by-endpoint errors and what the processor emits: rare, by name. */
  counters = new Map<string, number>();
  custom = new Map<string, Samples>();
  /** performance.now() of the first and the last counted event. */
  firstAt: number | undefined;
  lastAt = 0;
  /** The current interim period: its latencies, and the totals at its start. */
  window = new Samples();
  windowStart = {
    at: performance.now(),
    requests: 0,
    responses: 0,
    created: 0,
    failed: 0,
    codes: new Float64Array(STATUS_SLOTS),
  };
  windowMaxLagMs = 0;

  constructor(scenarios: number, endpoints: number) {
    this.createdByScenario = new Float64Array(scenarios);
    this.endpointLatency = Array.from({ length: endpoints }, () => new Samples());
    this.endpointCodes = Array.from({ length: endpoints }, () => new Float64Array(STATUS_SLOTS));
  }

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  /** For the processor's `events` argument: what artillery's hooks may emit. */
  readonly events = {
    emit: (type: string, name: string, value: number) => {
      if (type === 'counter') this.count(name, value);
      else if (type === 'histogram' || type === 'summary') {
        let samples = this.custom.get(name);
        if (!samples) this.custom.set(name, (samples = new Samples()));
        samples.push(value);
      } else throw new Error(`events.emit('${type}') is not supported by the lean generator`);
    },
  };
}

// ------------------------------------------------------------------ virtual users

type Done = (error?: unknown) => void;

/**
 * Runs `hooks` one after the other, each with `invoke(hook, done)` (an async hook is awaited), then
 * `then` with the first error. A hook that throws before answering fails like done(error).
 */
function callHooks(hooks: Hook[], invoke: (hook: Hook, done: Done) => unknown, then: Done): void {
  let i = 0;
  const next: Done = (error) => {
    if (error) return then(error);
    const hook = hooks[i++];
    if (hook === undefined) return then();
    let answered = false;
    const done: Done = (e) => {
      if (answered) return;
      answered = true;
      next(e);
    };
    try {
      const result = invoke(hook, done);
      if (hook.isAsync) (result as Promise<unknown>).then(() => done(), done);
    } catch (e) {
      if (answered) throw e;
      done(e);
    }
  };
  next();
}

class RequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface ResponseForHooks {
  statusCode: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** The run: arrivals, virtual users, metrics. */
class Run {
  readonly metrics: Metrics;
  readonly active = new Set<VirtualUser>();
  private readonly totalWeight: number;
  private readonly isHttps: boolean;
  private readonly port: number;
  private readonly host: string;

  constructor(readonly plan: Plan) {
    this.metrics = new Metrics(plan.scenarios.length, plan.endpoints.length);
    this.totalWeight = plan.scenarios.reduce((sum, s) => sum + s.weight, 0);
    this.isHttps = plan.target.protocol === 'https:';
    this.host = plan.target.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(plan.target.port || (this.isHttps ? 443 : 80));
  }

  pickScenario(): Scenario {
    const { scenarios } = this.plan;
    if (scenarios.length === 1) return scenarios[0]!;
    let roll = Math.random() * this.totalWeight;
    for (const scenario of scenarios) {
      roll -= scenario.weight;
      if (roll < 0) return scenario;
    }
    return scenarios[scenarios.length - 1]!;
  }

  launch(now: number): void {
    const m = this.metrics;
    const scenario = this.pickScenario();
    const { fields, rows } = this.plan.payload;
    const row = rows[Math.floor(Math.random() * rows.length)]!;
    const vars: Plain = {};
    for (let i = 0; i < fields.length; i++) vars[fields[i]!] = row[i];
    m.vusersCreated++;
    m.createdByScenario[scenario.index]!++;
    m.firstAt ??= now;
    m.lastAt = now;
    const agent = this.isHttps
      ? new HttpsAgent({ keepAlive: true, maxSockets: 1 })
      : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const vu = new VirtualUser(this, scenario, { vars }, agent, now);
    this.active.add(vu);
    vu.start();
  }

  /** Host, port and path of a request URL: the target's without parsing, when it is on the target. */
  endpointOf(url: string): { host: string; port: number; path: string; isHttps: boolean } {
    const origin = this.plan.target.origin;
    if (url.startsWith(origin) && (url.length === origin.length || url[origin.length] === '/')) {
      return { host: this.host, port: this.port, path: url.slice(origin.length) || '/', isHttps: this.isHttps };
    }
    const parsed = new URL(url);
    const isHttps = parsed.protocol === 'https:';
    return {
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(parsed.port || (isHttps ? 443 : 80)),
      path: `${parsed.pathname}${parsed.search}`,
      isHttps,
    };
  }

  /** Set by main: called when the last virtual user has ended after the arrivals. */
  onIdle: (() => void) | undefined;

  ended(vu: VirtualUser): void {
    this.active.delete(vu);
    if (this.active.size === 0) this.onIdle?.();
  }
}

/** One virtual user: its scenario's steps on its own connection, then it ends (completed or failed). */
class VirtualUser {
  private step = 0;
  private request: ClientRequest | undefined;
  private requestParams: Plain | undefined;
  private startedAt = 0;
  private statusCode = 0;
  private body = '';
  private headers: IncomingMessage['headers'] = {};
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly run: Run,
    private readonly scenario: Scenario,
    private readonly context: { vars: Plain },
    private readonly agent: HttpAgent,
    private readonly createdAt: number,
  ) {}

  start(): void {
    const { events } = this.run.metrics;
    callHooks(
      this.scenario.beforeScenario,
      (hook, done) => (hook.isAsync ? hook.fn(this.context, events) : hook.fn(this.context, events, done)),
      this.afterBeforeScenario,
    );
  }

  private readonly afterBeforeScenario: Done = (error) => (error ? this.fail(error) : this.send());

  /** The current step: its beforeRequest hooks on the untemplated request, then templates, then the request. */
  private send(): void {
    const step = this.scenario.steps[this.step]!;
    const requestParams: Plain = {
      url: step.url,
      name: step.name,
      headers: step.headers,
      json: step.json,
      method: 'POST',
      timeout: this.run.plan.timeoutMs / 1000,
    };
    this.requestParams = requestParams;
    const { events } = this.run.metrics;
    callHooks(
      this.scenario.beforeRequest,
      (hook, done) =>
        hook.isAsync
          ? hook.fn(requestParams, this.context, events)
          : hook.fn(requestParams, this.context, events, done),
      this.afterBeforeRequest,
    );
  }

  private readonly afterBeforeRequest: Done = (error) => {
    if (error) return this.fail(error);
    const step = this.scenario.steps[this.step]!;
    const params = this.requestParams!;
    const { vars } = this.context;
    const rawHeaders =
      params.headers === step.headers
        ? step.mergedHeaders
        : { ...step.mergedHeaders, ...lowerCaseKeys(params.headers as Plain) };
    const headers: Record<string, string> = {};
    for (const key in rawHeaders) headers[key] = String(render(rawHeaders[key], vars));
    let body: string | undefined;
    if (params.json !== undefined) {
      body = JSON.stringify(render(params.json, vars));
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    try {
      const url = String(render(params.url, vars));
      const endpoint = this.run.endpointOf(url);
      const request = (endpoint.isHttps ? httpsRequest : httpRequest)({
        host: endpoint.host,
        port: endpoint.port,
        path: endpoint.path,
        method: String(params.method),
        headers,
        agent: this.agent,
      });
      this.request = request;
      request.on('response', this.onResponse);
      request.on('error', this.onError);
      this.run.metrics.requests++;
      this.startedAt = performance.now();
      this.timer = setTimeout(this.onTimeout, this.run.plan.timeoutMs);
      request.end(body);
    } catch (error) {
      this.fail(error);
    }
  };

  private readonly onResponse = (response: IncomingMessage): void => {
    if (this.finished) return;
    const m = this.run.metrics;
    const code = response.statusCode ?? 0;
    this.statusCode = code;
    this.headers = response.headers;
    // Counted when the headers arrive, as artillery counts them.
    m.responses++;
    if (code < STATUS_SLOTS) m.codes[code]!++;
    this.body = '';
    response.setEncoding('utf8');
    response.on('data', this.onData);
    response.on('end', this.onEnd);
    response.on('error', this.onError);
  };

  private readonly onData = (chunk: string): void => {
    this.body += chunk;
  };

  private readonly onEnd = (): void => {
    if (this.finished) return;
    clearTimeout(this.timer);
    const now = performance.now();
    const latency = now - this.startedAt;
    const m = this.run.metrics;
    const step = this.scenario.steps[this.step]!;
    m.latency.push(latency);
    m.window.push(latency);
    m.endpointLatency[step.endpoint]!.push(latency);
    if (this.statusCode < STATUS_SLOTS) m.endpointCodes[step.endpoint]![this.statusCode]!++;
    m.lastAt = now;
    this.request = undefined;
    const response: ResponseForHooks = { statusCode: this.statusCode, headers: this.headers, body: this.body };
    // Captures first, then the afterResponse hooks, then a failed capture fails the user (artillery's order).
    let failedCapture = false;
    if (step.captures.length > 0) {
      let document: unknown;
      try {
        document = JSON.parse(this.body);
      } catch {
        document = undefined;
      }
      const captured: unknown[] = [];
      for (const capture of step.captures) {
        const value = isPlain(document) ? lookup(document, capture.path) : undefined;
        if (value === undefined || value === '') failedCapture = true;
        captured.push(value);
      }
      if (!failedCapture) step.captures.forEach((capture, i) => (this.context.vars[capture.as] = captured[i]));
    }
    const params = this.requestParams!;
    const { events } = m;
    callHooks(
      this.scenario.afterResponse,
      (hook, done) =>
        hook.isAsync
          ? hook.fn(params, response, this.context, events)
          : hook.fn(params, response, this.context, events, done),
      (error) => {
        if (error) return this.fail(error);
        if (failedCapture) return this.fail(new Error(FAILED_CAPTURE));
        this.step++;
        if (this.step < this.scenario.steps.length) this.send();
        else this.complete();
      },
    );
  };

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    if (this.finished) return;
    this.requestFailed(new RequestError(error.message, error.code ?? error.name));
  };

  private readonly onTimeout = (): void => {
    if (this.finished) return;
    this.requestFailed(new RequestError(`no answer within ${this.run.plan.timeoutMs} ms`, 'ETIMEDOUT'));
  };

  /** A connection error or a timeout: counted for the request's name too (metrics-by-endpoint's onError). */
  private requestFailed(error: RequestError): void {
    if (this.run.plan.byEndpoint) {
      this.run.metrics.count(`${BY_ENDPOINT}.${this.scenario.steps[this.step]!.name}.errors.${error.code}`);
    }
    this.fail(error);
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    const m = this.run.metrics;
    const e = error as { code?: unknown; message?: unknown };
    // artillery: errors.<err.code || err.message>
    m.count(`errors.${String(e?.code || e?.message || error)}`);
    m.vusersFailed++;
    this.end();
  }

  private complete(): void {
    const m = this.run.metrics;
    m.vusersCompleted++;
    m.sessionLength.push(performance.now() - this.createdAt);
    this.end();
  }

  /** Ends the user: its connection closes (artillery leaves it to the keep-alive timeout). */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.request?.destroy();
    this.agent.destroy();
    this.run.metrics.lastAt = performance.now();
    this.run.ended(this);
  }
}

// ------------------------------------------------------------------ the report and the checks

function buildReport(run: Run, startedWall: number, startedPerf: number, interrupted: boolean) {
  const m = run.metrics;
  const { plan } = run;
  // Like artillery's, a counter is in the report once it counted something (vusers.failed: once a user ended).
  const counters: Record<string, number> = {};
  if (m.requests > 0) counters['http.requests'] = m.requests;
  if (m.responses > 0) counters['http.responses'] = m.responses;
  m.codes.forEach((n, code) => {
    if (n > 0) counters[`http.codes.${code}`] = n;
  });
  if (m.vusersCreated > 0) counters['vusers.created'] = m.vusersCreated;
  plan.scenarios.forEach((s) => {
    if (m.createdByScenario[s.index]! > 0) counters[`vusers.created_by_name.${s.name}`] = m.createdByScenario[s.index]!;
  });
  if (m.vusersCompleted > 0) counters['vusers.completed'] = m.vusersCompleted;
  // artillery counts vusers.failed (0 too) as each user ends.
  if (m.vusersCompleted + m.vusersFailed > 0) counters['vusers.failed'] = m.vusersFailed;
  if (plan.byEndpoint) {
    plan.endpoints.forEach((name, i) =>
      m.endpointCodes[i]!.forEach((n, code) => {
        if (n > 0) counters[`${BY_ENDPOINT}.${name}.codes.${code}`] = n;
      }),
    );
  }
  for (const [name, n] of m.counters) counters[name] = n;

  const summaries: Record<string, LatencySummary> = {};
  const put = (name: string, samples: Samples) => {
    const summary = samples.summary();
    if (summary) summaries[name] = summary;
  };
  put('http.response_time', m.latency);
  if (plan.byEndpoint)
    plan.endpoints.forEach((name, i) => put(`${BY_ENDPOINT}.response_time.${name}`, m.endpointLatency[i]!));
  put('vusers.session_length', m.sessionLength);
  for (const [name, samples] of m.custom) put(name, samples);

  const wall = (at: number) => Math.round(startedWall + (at - startedPerf));
  const first = m.firstAt === undefined ? undefined : wall(m.firstAt);
  const last = m.firstAt === undefined ? undefined : wall(m.lastAt);
  return {
    generator: 'lean' as const,
    interrupted,
    aggregate: {
      counters,
      rates: {},
      summaries,
      firstCounterAt: first,
      lastCounterAt: last,
      firstMetricAt: first,
      lastMetricAt: last,
    },
  } satisfies ArtilleryReport & Plain;
}

export interface CheckResult {
  /** The check as artillery's ensure plugin prints it. */
  original: string;
  ok: boolean;
  /** Why it failed when it has no value (artillery prints only the line). */
  note?: string;
}

/**
 * artillery-plugin-ensure (2.0.34), evaluated the same way: each threshold `{ metric: limit }` is
 * `metric < limit`; maxErrorRate is `(vusers.created - vusers.completed) / vusers.created * 100 <= max`
 * (printed `maxErrorRate < max`). The plugin replaces every metric name of the report found in an
 * expression by substring, in report order (counters, then each summary's aggregations), and a check
 * whose expression then does not read as a comparison of one metric, or names a metric the report
 * lacks, fails: so `http.response_time.p999` always fails there (the p99 name is replaced first),
 * and fails here too. Results: passed checks first, as the plugin sorts them.
 */
export function ensureChecks(
  ensure: NonNullable<Plan['ensure']>,
  report: { counters: Record<string, number>; summaries: Record<string, Record<string, number>> },
): CheckResult[] {
  const metrics: [string, number][] = Object.entries(report.counters);
  for (const [name, summary] of Object.entries(report.summaries)) {
    for (const [aggregation, value] of Object.entries(summary)) metrics.push([`${name}.${aggregation}`, value]);
  }
  const names = metrics.map(([name]) => name);
  const values = metrics.map(([, value]) => value);
  const substitute = (expression: string) => {
    names.forEach((name, i) => {
      while (expression.includes(name)) expression = expression.replace(name, `'#${i}'`);
    });
    return expression;
  };
  const NOT_READ = 'the ensure plugin cannot read it: a metric name missing from the report or part of another';
  const results: CheckResult[] = [];
  for (const { metric, limit } of ensure.thresholds) {
    const original = `${metric} < ${limit}`;
    const match = /^'#(\d+)' < (.+)$/.exec(substitute(original));
    const value = match ? values[Number(match[1])] : undefined;
    results.push(
      value === undefined
        ? { original, ok: false, note: NOT_READ }
        : { original, ok: value < Number(match![2]), note: `${value}` },
    );
  }
  if (ensure.maxErrorRate !== undefined) {
    const original = `maxErrorRate < ${ensure.maxErrorRate}`;
    const expression = substitute(
      `((vusers.created - vusers.completed)/vusers.created * 100) <= ${ensure.maxErrorRate}`,
    );
    const match = /^\(\('#(\d+)' - '#(\d+)'\)\/'#(\d+)' \* 100\) <= (.+)$/.exec(expression);
    if (!match) results.push({ original, ok: false, note: NOT_READ });
    else {
      const created = values[Number(match[1])]!;
      const rate = ((created - values[Number(match[2])]!) / values[Number(match[3])]!) * 100;
      results.push({ original, ok: rate <= Number(match[4]), note: `${Number(rate.toFixed(3))}%` });
    }
  }
  return [...results.filter((r) => r.ok), ...results.filter((r) => !r.ok)];
}

/** The interim line of the period that just ended, and the start of the next one. */
function interimLine(run: Run, now: number, startedPerf: number): string {
  const m = run.metrics;
  const w = m.windowStart;
  const codes: string[] = [];
  m.codes.forEach((n, code) => {
    if (n - w.codes[code]! > 0) codes.push(`${code}:${n - w.codes[code]!}`);
  });
  const summary = m.window.summary();
  const requests = m.requests - w.requests;
  const seconds = Math.max((now - w.at) / 1000, 0.001);
  const line =
    `[lean ${((now - startedPerf) / 1000).toFixed(0)} s] ${requests} requests (${(requests / seconds).toFixed(1)}/s), ` +
    `${m.responses - w.responses} responses, codes ${codes.join(' ') || '-'}, ` +
    `p50 ${summary ? `${summary.p50} ms` : '-'}, p99 ${summary ? `${summary.p99} ms` : '-'}; ` +
    `vusers ${m.vusersCreated - w.created} created, ${run.active.size} active, ${m.vusersFailed - w.failed} failed; ` +
    `tick lag max ${m.windowMaxLagMs.toFixed(0)} ms`;
  m.windowStart = {
    at: now,
    requests: m.requests,
    responses: m.responses,
    created: m.vusersCreated,
    failed: m.vusersFailed,
    codes: m.codes.slice(),
  };
  m.window.length = 0;
  m.windowMaxLagMs = 0;
  return line;
}

// ------------------------------------------------------------------ main

const USAGE =
  'usage: lean-generator.ts <script.yml>... [--target URL] [--payload CSV] [--output REPORT.json] ' +
  '[--scenario-name NAME] [--overrides JSON]';

function readOptions(): Options {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      payload: { type: 'string' },
      output: { type: 'string' },
      'scenario-name': { type: 'string' },
      overrides: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new ScenarioError(USAGE);
  return {
    files: positionals,
    target: values.target,
    payload: values.payload === undefined ? undefined : resolve(values.payload),
    output: values.output,
    scenarioName: values['scenario-name'],
    overrides: values.overrides,
  };
}

async function main(): Promise<number> {
  let options: Options;
  let plan: Plan;
  try {
    options = readOptions();
    plan = await loadPlan(options);
  } catch (error) {
    console.error(
      error instanceof ScenarioError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? `lean generator: cannot run this scenario:\n${(error as Error).message}`
        : `lean generator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return EXIT_USAGE;
  }
  const run = new Run(plan);
  const m = run.metrics;
  const totalSeconds = plan.phases.reduce((sum, p) => sum + p.seconds, 0);
  const totalArrivals = Math.floor(arrivalsDue(plan.phases, totalSeconds) + 1e-9);
  console.log(
    `lean generator: ${plan.scenarios.map((s) => s.name).join(', ')} against ${plan.target.origin}; ` +
      `${totalArrivals} virtual users over ${totalSeconds} s`,
  );

  const startedWall = Date.now();
  const startedPerf = performance.now();
  let launched = 0;
  let phaseIndex = -1;
  let lastTick = startedPerf;
  let arrivalsOver = false;
  let interrupted = false;
  let ticker: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolveFinished) => {
    const finishIfIdle = () => {
      if (arrivalsOver && run.active.size === 0) resolveFinished();
    };
    run.onIdle = finishIfIdle;
    const endArrivals = () => {
      clearInterval(ticker);
      arrivalsOver = true;
      finishIfIdle();
    };
    const tick = () => {
      const now = performance.now();
      m.windowMaxLagMs = Math.max(m.windowMaxLagMs, now - lastTick - TICK_MS);
      lastTick = now;
      const elapsed = (now - startedPerf) / 1000;
      const current = phaseAt(plan.phases, elapsed);
      if (current !== phaseIndex && current < plan.phases.length) {
        phaseIndex = current;
        const p = plan.phases[current]!;
        console.log(`phase ${current}${p.name ? ` (${p.name})` : ''}: ${p.seconds} s, ${p.from} → ${p.to} vusers/s`);
      }
      const due = elapsed >= totalSeconds ? totalArrivals : Math.floor(arrivalsDue(plan.phases, elapsed) + 1e-9);
      while (launched < due) {
        launched++;
        run.launch(now);
      }
      if (elapsed >= totalSeconds) endArrivals();
    };
    ticker = setInterval(tick, TICK_MS);
    // The runner's SIGINT (or a Ctrl-C): no more arrivals, the users still running are dropped.
    const stop = () => {
      interrupted = true;
      for (const vu of [...run.active]) vu.end();
      endArrivals();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const reporter = setInterval(() => console.log(interimLine(run, performance.now(), startedPerf)), REPORT_EVERY_MS);
  await finished;
  clearInterval(reporter);
  const endedAt = performance.now();
  const elapsed = (endedAt - startedPerf) / 1000;
  // The last period's line, unless it is a moment after the previous one (its rate would mean nothing).
  if (endedAt - m.windowStart.at >= 1000) console.log(interimLine(run, endedAt, startedPerf));

  const report = buildReport(run, startedWall, startedPerf, interrupted);
  if (options.output) writeFileSync(options.output, `${JSON.stringify(report, null, 2)}\n`);
  const { counters, summaries } = report.aggregate;
  const all = summaries['http.response_time'];
  console.log(
    `\nlean generator: ${interrupted ? 'interrupted' : 'all virtual users finished'} after ${elapsed.toFixed(1)} s`,
  );
  console.log(
    `requests ${m.requests}, responses ${m.responses}; vusers created ${m.vusersCreated}, ` +
      `completed ${m.vusersCompleted}, failed ${m.vusersFailed}`,
  );
  if (all) {
    console.log(
      `http.response_time: min ${all.min}, p50 ${all.p50}, p95 ${all.p95}, p99 ${all.p99}, p999 ${all.p999}, max ${all.max} ms`,
    );
  }
  for (const [name, n] of Object.entries(counters)) if (name.startsWith('errors.')) console.log(`${name}: ${n}`);

  let failed = false;
  if (plan.ensure && process.env.ARTILLERY_DISABLE_ENSURE === undefined) {
    const results = ensureChecks(plan.ensure, report.aggregate);
    if (results.length > 0) console.log('\nChecks:');
    for (const r of results) {
      console.log(`${r.ok ? 'ok' : 'fail'}: ${r.original}${r.note ? ` (${r.note})` : ''}`);
      if (!r.ok) failed = true;
    }
  }
  return interrupted ? 130 : failed ? 1 : 0;
}

/**
 * Runs `main` and exits with its code when the module at `moduleUrl` (its import.meta.url) is the
 * command node was started with; imported, it does nothing (load/run-scenario.ts uses it too).
 */
export function runAsCommand(moduleUrl: string, main: () => Promise<number>): void {
  if (!process.argv[1] || realpathSync(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}

// Run as a command (npm run load -- <scenario> --generator lean); imported, only the helpers above.
runAsCommand(import.meta.url, main);

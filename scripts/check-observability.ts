// npx tsx scripts/check-observability.ts [--metrics-file <exposition.txt>]
//
// CI check of the observability assets (REQ 11.2-11.5, REQ 20.1), failing with the list of problems:
//   1. `promtool check rules deploy/prometheus/alerts.yml` passes (promtool must be on PATH);
//   2. every metric named in a dashboard (dashboards/*.json: panel, annotation and variable queries) or an
//      alert rule is exported by the gateway, and every label a selector matches on exists. The app is
//      started in-process (DATABASE_URL, default the local test server, which need not even answer: no
//      data is read) and /metrics scraped after a readiness check and a GraphQL query; --metrics-file
//      checks a saved scrape instead. Labels of grouping clauses (by, on) are not checked;
//   3. every alert has a severity and a summary, a description and a runbook_url into docs/runbooks/;
//      every runbook link, and every relative link of docs/runbooks/*.md (anchors included), resolves;
//      the runbook index (docs/runbooks/README.md) links every runbook.
// test/integration/observability-assets.test.ts runs the same checks against the test kit's app.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { findProjectRoot } from '../src/platform/project-root.js';

export const ROOT = findProjectRoot();
export const ALERTS_FILE = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const RUNBOOKS_DIR = join(ROOT, 'docs', 'runbooks');
/** Series Prometheus records itself for every scrape target, not the app. */
const PROMETHEUS_SERIES = new Set(['up']);
/** Labels Prometheus adds at scrape time (target labels). */
const TARGET_LABELS = new Set(['job', 'instance']);
const PROMQL_KEYWORDS = new Set(
  'and or unless by without on ignoring group_left group_right bool offset inf nan'.split(' '),
);

export interface Query {
  /** Where it comes from: `dashboards/cache.json: Hit ratio` or `alerts.yml: GatewayHighErrorRate`. */
  where: string;
  expr: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(file = ALERTS_FILE): AlertRule[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** The PromQL of every panel target and query variable of dashboards/*.json. */
export function dashboardQueries(dir = join(ROOT, 'dashboards')): Query[] {
  const queries: Query[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const visit = (node: unknown, title: string): void => {
      if (Array.isArray(node)) return node.forEach((n) => visit(n, title));
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      const here = typeof o.title === 'string' ? o.title : typeof o.name === 'string' ? `$${o.name}` : title;
      if (typeof o.expr === 'string') queries.push({ where: `dashboards/${name}: ${here}`, expr: o.expr });
      if (o.type === 'query') {
        const q = o.query as string | { query?: string } | undefined;
        const text = typeof q === 'string' ? q : q?.query;
        // Grafana's label_values(<selector>, <label>): only the selector is PromQL.
        const selector = text && /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(text)?.[1];
        if (selector) queries.push({ where: `dashboards/${name}: ${here}`, expr: selector });
      }
      for (const value of Object.values(o)) visit(value, here);
    };
    visit(JSON.parse(readFileSync(join(dir, name), 'utf8')), name);
  }
  return queries;
}

export function ruleQueries(file = ALERTS_FILE): Query[] {
  return alertRules(file).map((r) => ({ where: `alerts.yml: ${r.alert}`, expr: r.expr }));
}

/**
 * The metric selectors of a PromQL expression: identifiers that are not functions, keywords or
 * label names (grouping clauses, matchers), with the label names their matchers use.
 */
export function selectorsIn(expr: string): { metric: string; labels: string[] }[] {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\$\{[^}]*\}|\$\w+/g, '1') // Grafana variables outside strings
    .replace(/\[[^\]]*\]/g, '') // range and subquery durations
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\boffset\s+-?\w+/gi, ' ');
  const selectors: { metric: string; labels: string[] }[] = [];
  for (const m of cleaned.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?(\s*\()?/g)) {
    const [, name, matchers, call] = m;
    if (call || PROMQL_KEYWORDS.has(name!.toLowerCase())) continue;
    const labels = [...(matchers ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    selectors.push({ metric: name!, labels });
  }
  return selectors;
}

/** Series names of a Prometheus text exposition, with the label names their samples carry. */
export function parseExposition(text: string): Map<string, { labels: Set<string>; sampled: boolean }> {
  const series = new Map<string, { labels: Set<string>; sampled: boolean }>();
  const entry = (name: string) => {
    if (!series.has(name)) series.set(name, { labels: new Set(), sampled: false });
    return series.get(name)!;
  };
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      entry(type[1]!);
      const suffixes = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] }[type[2]!] ?? [];
      for (const suffix of suffixes) entry(`${type[1]}${suffix}`);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const e = entry(sample[1]!);
    e.sampled = true;
    for (const l of (sample[2] ?? '').matchAll(/(\w+)="/g)) e.labels.add(l[1]!);
  }
  return series;
}

/** Metrics (and matched labels) the queries use that the exposition does not have. */
export function metricProblems(queries: Query[], exposition: string): string[] {
  const series = parseExposition(exposition);
  const problems = new Set<string>();
  for (const { where, expr } of queries) {
    for (const { metric, labels } of selectorsIn(expr)) {
      if (PROMETHEUS_SERIES.has(metric)) continue;
      const found = series.get(metric);
      if (!found) {
        problems.add(`${where}: metric ${metric} is not exported by the app`);
        continue;
      }
      for (const label of labels) {
        if (found.sampled && !TARGET_LABELS.has(label) && !found.labels.has(label)) {
          problems.add(`${where}: metric ${metric} has no label ${label}`);
        }
      }
    }
  }
  return [...problems];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const headings = [...stripCode(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((m) => m[1]!);
  return new Set(
    headings.map((h) =>
      h
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

function stripCode(markdown: string): string {
  return markdown.replace(/^[ \t]*(```|~~~)[\s\S]*?^[ \t]*\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Problems of a link to `path#anchor` (path relative to the repository). */
function linkProblem(from: string, path: string, anchor: string | undefined): string | undefined {
  if (!existsSync(path)) return `${from}: links to ${relative(ROOT, path)}, which does not exist`;
  if (anchor && path.endsWith('.md') && !anchorsOf(readFileSync(path, 'utf8')).has(anchor)) {
    return `${from}: links to ${relative(ROOT, path)}#${anchor}, which has no such heading`;
  }
  return undefined;
}

/** Alert metadata and runbook links, relative links of the runbooks, and the runbook index. */
export function runbookProblems(file = ALERTS_FILE): string[] {
  const problems: (string | undefined)[] = [];
  const bases = new Set<string>();
  for (const rule of alertRules(file)) {
    const where = `alerts.yml: ${rule.alert}`;
    if (!['critical', 'warning'].includes(rule.labels?.severity ?? '')) problems.push(`${where}: severity label`);
    for (const key of ['summary', 'description', 'runbook_url']) {
      if (!rule.annotations?.[key]) problems.push(`${where}: no ${key} annotation`);
    }
    const url = /^(.*?)(docs\/runbooks\/[\w.-]+\.md)(?:#([\w-]+))?$/.exec(rule.annotations?.runbook_url ?? '');
    if (!url) {
      if (rule.annotations?.runbook_url) problems.push(`${where}: runbook_url does not point into docs/runbooks/`);
      continue;
    }
    bases.add(url[1]!);
    problems.push(linkProblem(where, join(ROOT, url[2]!), url[3]));
  }
  if (bases.size > 1) problems.push(`alerts.yml: runbook_url bases differ: ${[...bases].join(', ')}`);

  const runbooks = readdirSync(RUNBOOKS_DIR).filter((f) => f.endsWith('.md'));
  for (const name of runbooks) {
    const file = join(RUNBOOKS_DIR, name);
    for (const m of stripCode(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const [target, anchor] = m[1]!.split('#') as [string, string | undefined];
      if (/^[a-z][\w+.-]*:/i.test(target)) continue; // https:, mailto:
      problems.push(linkProblem(`docs/runbooks/${name}`, target ? resolve(dirname(file), target) : file, anchor));
    }
  }
  const index = runbooks.includes('README.md') ? readFileSync(join(RUNBOOKS_DIR, 'README.md'), 'utf8') : '';
  for (const name of runbooks.filter((f) => f !== 'README.md')) {
    if (!index.includes(`](${name}`)) problems.push(`docs/runbooks/README.md (the index): does not link ${name}`);
  }
  return [...new Set(problems.filter((p): p is string => p !== undefined))];
}

/** `promtool check rules`: undefined when promtool is not installed. */
export function promtoolCheck(file = ALERTS_FILE): { ok: boolean; output: string } | undefined {
  const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
}

/** /metrics of the real app, after one readiness check and one GraphQL query fill in samples. */
async function scrapeApp(): Promise<string> {
  const { createApp } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config/index.js');
  const { createLogger } = await import('../src/observability/logger.js');
  const { createDatabase } = await import('../src/platform/db/index.js');
  const secret = () => randomBytes(48).toString('base64url');
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const env = { NODE_ENV: 'test', DATABASE_URL: url, JWT_SECRETS: secret(), PASSWORD_PEPPER: secret() };
  const config = loadConfig({ rootDir: ROOT, env: { ...env, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } });
  const logger = createLogger({ level: 'error' });
  const database = createDatabase({ ...config.database, url, logger });
  const app = await createApp(config, { logger, database, runtime: { version: 'check', startedAt: new Date() } });
  try {
    await app.server.inject({ method: 'GET', url: '/health/ready' });
    await app.server.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: 'query Probe { health { status } }' },
    });
    return (await app.server.inject({ method: 'GET', url: '/metrics' })).body;
  } finally {
    await app.close();
    await database.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'metrics-file': { type: 'string' } } });
  const problems: string[] = [];
  const promtool = promtoolCheck();
  if (!promtool) {
    problems.push('promtool is not on PATH: install it (Debian/Ubuntu: apt-get install -y prometheus) and rerun');
  } else if (!promtool.ok) {
    problems.push(`promtool check rules failed:\n${promtool.output}`);
  }
  const queries = [...dashboardQueries(), ...ruleQueries()];
  const exposition = values['metrics-file'] ? readFileSync(values['metrics-file'], 'utf8') : await scrapeApp();
  problems.push(...metricProblems(queries, exposition), ...runbookProblems());
  if (problems.length > 0) {
    console.error(`observability check: ${problems.length} problem(s)\n${problems.map((p) => `- ${p}`).join('\n')}`);
    process.exit(1);
  }
  const metrics = new Set(queries.flatMap((q) => selectorsIn(q.expr).map((s) => s.metric)));
  console.log(`observability check: promtool ok; ${queries.length} queries use ${metrics.size} metrics, all exported;`);
  console.log('every alert has a runbook, and every runbook link resolves');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

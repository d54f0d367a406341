import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALERTS_FILE,
  alertRules,
  dashboardQueries,
  metricProblems,
  promtoolCheck,
  ROOT,
  ruleQueries,
  runbookProblems,
  selectorsIn,
} from '../../scripts/check-observability.js';
import { gql, startTestApp, type TestApp } from '../helpers/kit.js';

const HAS_PROMTOOL = spawnSync('promtool', ['--version']).error === undefined;
const NO_PROMTOOL = 'skipped: promtool is not on PATH (Debian/Ubuntu: apt-get install -y prometheus)';

// REQ 11.2-11.5, REQ 20.1: the dashboards and alert rules use only what the running app exports,
// every alert links a runbook that exists, and the rules are valid and fire at their thresholds.
describe('observability assets', () => {
  let t: TestApp;
  let exposition: string;
  beforeAll(async () => {
    t = await startTestApp();
    // Samples for the labelled metrics, so label matchers are checked too.
    await fetch(`${t.url}/health/ready`);
    await gql(t.url, 'query Probe { health { status } }');
    exposition = await (await fetch(`${t.url}/metrics`)).text();
  });
  afterAll(() => t.close());

  it('dashboards and alert rules use only metrics and labels the app exports', () => {
    const queries = [...dashboardQueries(), ...ruleQueries()];
    expect(queries.length).toBeGreaterThan(50);
    expect(metricProblems(queries, exposition)).toEqual([]);
  });

  it('every alert has a severity, a summary, a description and a runbook that resolves', () => {
    expect(runbookProblems()).toEqual([]);
    const index = readFileSync(join(ROOT, 'docs', 'runbooks', 'README.md'), 'utf8');
    const unlisted = alertRules().filter((r) => !index.includes(`| \`${r.alert}\``));
    expect(
      unlisted.map((r) => r.alert),
      'alerts missing from the table of docs/runbooks/README.md',
    ).toEqual([]);
  });

  it('has the alerts of spec 001 and REQ 11 at their thresholds', () => {
    const rules = new Map(alertRules().map((r) => [r.alert, r]));
    const expected: [string, string, RegExp][] = [
      ['GatewayHighErrorRate', 'critical', /\) > 0\.05/], // REQ 11.2
      ['GatewayHighLatency', 'warning', /histogram_quantile\(0\.99,[\s\S]*\) > 1$/m], // REQ 11.3
      ['GatewayConnectionPoolNearExhaustion', 'warning', />\s*0\.8/], // REQ 11.4
      ['GatewayLowCacheHitRate', 'warning', /\) < 0\.7/],
      ['GatewayHighAuthFailureRate', 'warning', /result="failure".*> 0\.1/],
      ['GatewayReadinessFlapping', 'warning', /changes\(gateway_ready/],
      ['GatewayBackupFailed', 'warning', /backup_last_attempt_success/],
      ['GatewayBackupStale', 'critical', /backup_last_success_timestamp_seconds/],
      ['GatewayNotReady', 'critical', /gateway_ready/],
    ];
    for (const [name, severity, expr] of expected) {
      expect(rules.get(name)?.labels?.severity, name).toBe(severity);
      expect(rules.get(name)?.expr, name).toMatch(expr);
    }
  });

  it('dashboards use the DS_PROMETHEUS data source, unique uids and panel ids, and fit the grid', () => {
    const uids = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'dashboards')).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(ROOT, 'dashboards', file), 'utf8')) as {
        uid: string;
        schemaVersion: number;
        __inputs: { name: string }[];
        panels: { id: number; type: string; gridPos: { x: number; w: number }; datasource?: { uid: string } }[];
      };
      expect(uids.has(dashboard.uid), file).toBe(false);
      uids.add(dashboard.uid);
      expect(dashboard.schemaVersion, file).toBe(39);
      expect(
        dashboard.__inputs.map((i) => i.name),
        file,
      ).toEqual(['DS_PROMETHEUS']);
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const panel of dashboard.panels) {
        expect(panel.gridPos.x + panel.gridPos.w, `${file} panel ${panel.id}`).toBeLessThanOrEqual(24);
        if (panel.type !== 'row' && panel.type !== 'text') expect(panel.datasource?.uid).toBe('${DS_PROMETHEUS}');
      }
    }
    expect(uids.size).toBe(5);
  });

  it('the checker finds metric names, and reports unknown metrics and labels', () => {
    expect(
      selectorsIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{route!~"/health/.*", job=~"$job"}[$__rate_interval])))' +
          ' / on (instance) group_left y * 1e3 > bool 0 unless absent(up{job="a"}) offset 5m',
      ),
    ).toEqual([
      { metric: 'x_bucket', labels: ['route', 'job'] },
      { metric: 'y', labels: [] },
      { metric: 'up', labels: ['job'] },
    ]);
    const text = '# TYPE h histogram\nh_bucket{op="a",le="1"} 1\n# TYPE c counter\nc{result="hit"} 2\n';
    expect(
      metricProblems(
        [{ where: 'w', expr: 'rate(h_count[5m]) + c{result="hit", instance="i"} + c{cache="x"} + c_total + up' }],
        text,
      ),
    ).toEqual(['w: metric c has no label cache', 'w: metric c_total is not exported by the app']);
  });

  it.skipIf(!HAS_PROMTOOL)(`promtool check rules passes${HAS_PROMTOOL ? '' : ` (${NO_PROMTOOL})`}`, () => {
    const result = promtoolCheck()!;
    expect(result.output).toContain('SUCCESS');
    expect(result.ok).toBe(true);
  });

  it.skipIf(!HAS_PROMTOOL)(
    `the alerts fire at their thresholds and not below (promtool test rules)${HAS_PROMTOOL ? '' : ` (${NO_PROMTOOL})`}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'alert-tests-'));
      try {
        // YAML is a superset of JSON: the unit-test file is written as JSON.
        const file = join(dir, 'alerts.test.yml');
        writeFileSync(
          file,
          JSON.stringify({ rule_files: [ALERTS_FILE], evaluation_interval: '1m', tests: ALERT_CASES }),
        );
        const run = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
        expect(`${run.stdout}${run.stderr}`).toContain('SUCCESS');
        expect(run.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

const GW = 'job="erp-gateway"';
const API = `${GW}, instance="a", method="POST", route="/graphql"`;

/**
 * One promtool test group: input series (one value a minute), and the labels of every firing
 * instance of `alert` at `at` (none: it must not fire). ALERTS is compared instead of
 * alert_rule_test so that the annotations' wording is not part of the test.
 */
function alertCase(alert: string, at: string, series: Record<string, string>, firing: Record<string, string>[]) {
  const labels = (extra: Record<string, string>) =>
    Object.entries({ alertname: alert, alertstate: 'firing', ...extra })
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ');
  return {
    interval: '1m',
    input_series: Object.entries(series).map(([name, values]) => ({ series: name, values })),
    promql_expr_test: [
      {
        expr: `ALERTS{alertname="${alert}", alertstate="firing"}`,
        eval_time: at,
        exp_samples: firing.map((extra) => ({ labels: `ALERTS{${labels(extra)}}`, value: 1 })),
      },
    ],
  };
}

const job = (severity: string, extra: Record<string, string> = {}) => ({ job: 'erp-gateway', severity, ...extra });
const buckets = (counts: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(counts).map(([le, n]) => [
      `http_request_duration_seconds_bucket{${API}, status_code="200", le="${le}"}`,
      `0+${n}x30`,
    ]),
  );

const SOLVES = `scheduling_solves_total{${GW}, instance="a"`;
const QUEUE = `scheduling_queue_jobs{${GW}`;
/** Solves a minute and their seconds a minute, as the solve duration histogram's _count and _sum. */
const solveTimes = (perMinute: number, secondsPerMinute: number) => ({
  [`scheduling_solve_duration_seconds_count{${GW}, instance="a", method="optimal"}`]: `0+${perMinute}x40`,
  [`scheduling_solve_duration_seconds_sum{${GW}, instance="a", method="optimal"}`]: `0+${secondsPerMinute}x40`,
});

const ALERT_CASES = [
  // 10% of 10 requests/s answer 500: fires after 2 minutes; 2% does not; nor 100% of a trickle;
  // nor failing readiness probes.
  alertCase(
    'GatewayHighErrorRate',
    '10m',
    {
      [`http_requests_total{${API}, status_code="200"}`]: '0+540x20',
      [`http_requests_total{${API}, status_code="500"}`]: '0+60x20',
    },
    [job('critical')],
  ),
  alertCase(
    'GatewayHighErrorRate',
    '10m',
    {
      [`http_requests_total{${API}, status_code="200"}`]: '0+588x20',
      [`http_requests_total{${API}, status_code="500"}`]: '0+12x20',
    },
    [],
  ),
  alertCase('GatewayHighErrorRate', '10m', { [`http_requests_total{${API}, status_code="500"}`]: '0+3x20' }, []),
  alertCase(
    'GatewayHighErrorRate',
    '10m',
    {
      [`http_requests_total{${API}, status_code="200"}`]: '0+60x20',
      [`http_requests_total{${GW}, instance="a", method="GET", route="/health/ready", status_code="503"}`]: '0+600x20',
    },
    [],
  ),
  alertCase(
    'GatewayGraphQLErrorRate',
    '25m',
    {
      [`graphql_operations_total{${GW}, instance="a", operation_name="Warehouses", type="query", status="success"}`]:
        '0+540x30',
      [`graphql_operations_total{${GW}, instance="a", operation_name="Warehouses", type="query", status="error"}`]:
        '0+60x30',
    },
    [job('warning')],
  ),
  // p99 = 1.75 s (98% under 1 s, the rest under 2.5 s): the warning, not the critical alert.
  alertCase('GatewayHighLatency', '15m', buckets({ '0.5': 900, '1': 980, '2.5': 1000, '+Inf': 1000 }), [
    job('warning'),
  ]),
  alertCase('GatewayVeryHighLatency', '15m', buckets({ '0.5': 900, '1': 980, '2.5': 1000, '+Inf': 1000 }), []),
  alertCase('GatewayVeryHighLatency', '15m', buckets({ '0.5': 500, '1': 800, '2.5': 900, '+Inf': 1000 }), [
    job('critical'),
  ]),
  alertCase('GatewayHighLatency', '15m', buckets({ '0.5': 995, '1': 1000, '2.5': 1000, '+Inf': 1000 }), []),
  // Readiness: every instance not ready pages; one instance warns after 10 minutes.
  alertCase(
    'GatewayNotReady',
    '5m',
    { [`gateway_ready{${GW}, instance="a"}`]: '1 1 0x10', [`gateway_ready{${GW}, instance="b"}`]: '1 1 0x10' },
    [job('critical')],
  ),
  alertCase(
    'GatewayNotReady',
    '15m',
    { [`gateway_ready{${GW}, instance="a"}`]: '0x20', [`gateway_ready{${GW}, instance="b"}`]: '1x20' },
    [],
  ),
  alertCase(
    'GatewayInstanceNotReady',
    '15m',
    { [`gateway_ready{${GW}, instance="a"}`]: '0x20', [`gateway_ready{${GW}, instance="b"}`]: '1x20' },
    [job('warning', { instance: 'a' })],
  ),
  alertCase('GatewayReadinessFlapping', '8m', { [`gateway_ready{${GW}, instance="a"}`]: '1 0 1 0 1 1 1 1 1' }, [
    job('warning', { instance: 'a' }),
  ]),
  alertCase('GatewayReadinessFlapping', '8m', { [`gateway_ready{${GW}, instance="a"}`]: '1 0 1 1 1 1 1 1 1' }, []),
  // REQ 11.4: 90% of the pool in use fires, 70% does not.
  alertCase(
    'GatewayConnectionPoolNearExhaustion',
    '15m',
    {
      [`db_connection_pool_in_use{${GW}, instance="a"}`]: '9x20',
      [`db_connection_pool_max{${GW}, instance="a"}`]: '10x20',
    },
    [job('warning', { instance: 'a' })],
  ),
  alertCase(
    'GatewayConnectionPoolNearExhaustion',
    '15m',
    {
      [`db_connection_pool_in_use{${GW}, instance="a"}`]: '7x20',
      [`db_connection_pool_max{${GW}, instance="a"}`]: '10x20',
    },
    [],
  ),
  // Cache hit rate 50% fires, 90% does not.
  alertCase(
    'GatewayLowCacheHitRate',
    '30m',
    {
      [`cache_operations_total{${GW}, instance="a", cache="permissions", result="hit"}`]: '0+60x40',
      [`cache_operations_total{${GW}, instance="a", cache="permissions", result="miss"}`]: '0+60x40',
    },
    [job('warning', { cache: 'permissions' })],
  ),
  alertCase(
    'GatewayLowCacheHitRate',
    '30m',
    {
      [`cache_operations_total{${GW}, instance="a", cache="permissions", result="hit"}`]: '0+540x40',
      [`cache_operations_total{${GW}, instance="a", cache="permissions", result="miss"}`]: '0+60x40',
    },
    [],
  ),
  alertCase(
    'GatewayRedisDown',
    '10m',
    { [`gateway_readiness_checks_total{${GW}, instance="a", status="degraded"}`]: '0+12x20' },
    [job('warning')],
  ),
  // Spec 001: more than 0.1 failed logins per second.
  alertCase(
    'GatewayHighAuthFailureRate',
    '12m',
    { [`auth_attempts_total{${GW}, instance="a", result="failure"}`]: '0+12x20' },
    [job('warning')],
  ),
  alertCase(
    'GatewayHighAuthFailureRate',
    '12m',
    { [`auth_attempts_total{${GW}, instance="a", result="failure"}`]: '0+3x20' },
    [],
  ),
  alertCase('GatewayAccountLockoutWave', '20m', { [`auth_account_lockouts_total{${GW}, instance="a"}`]: '0+1x30' }, [
    job('warning'),
  ]),
  alertCase(
    'GatewayPersistedOperationRejections',
    '20m',
    { [`persisted_operations_total{${GW}, instance="a", result="rejected"}`]: '0+12x30' },
    [job('warning')],
  ),
  // Backups: a failed run warns; no verified backup for 7 hours pages (never, here), one from 6 h does not.
  alertCase('GatewayBackupFailed', '10m', { [`backup_last_attempt_success{${GW}, instance="a"}`]: '0x20' }, [
    job('warning'),
  ]),
  alertCase('GatewayBackupStale', '8h', { [`backup_last_success_timestamp_seconds{${GW}, instance="a"}`]: '0x500' }, [
    job('critical'),
  ]),
  alertCase(
    'GatewayBackupStale',
    '8h',
    { [`backup_last_success_timestamp_seconds{${GW}, instance="a"}`]: '0x360 21600x200' },
    [],
  ),
  // The schedule solution cache misses by design (most weeks are solved once): no hit-rate alert.
  alertCase(
    'GatewayLowCacheHitRate',
    '30m',
    {
      [`cache_operations_total{${GW}, instance="a", cache="schedules", result="hit"}`]: '0x40',
      [`cache_operations_total{${GW}, instance="a", cache="schedules", result="miss"}`]: '0+60x40',
    },
    [],
  ),
  // Scheduling (issue 8, spec 003): one failed solve within 10 minutes warns; none, or one 11 minutes ago, does not.
  alertCase('SchedulingSolvesFailing', '10m', { [`${SOLVES}, outcome="failed"}`]: '0x5 1x10' }, [job('warning')]),
  alertCase('SchedulingSolvesFailing', '10m', { [`${SOLVES}, outcome="failed"}`]: '0x15' }, []),
  alertCase('SchedulingSolvesFailing', '20m', { [`${SOLVES}, outcome="failed"}`]: '0x8 1x20' }, []),
  // Heuristic share 6% of 50 solves a minute fires, 4% does not; 50% of 2 solves in 30 minutes does not.
  alertCase(
    'SchedulingHeuristicFallbackHigh',
    '40m',
    { [`${SOLVES}, outcome="optimal"}`]: '0+47x60', [`${SOLVES}, outcome="heuristic"}`]: '0+3x60' },
    [job('warning')],
  ),
  alertCase(
    'SchedulingHeuristicFallbackHigh',
    '40m',
    { [`${SOLVES}, outcome="optimal"}`]: '0+48x60', [`${SOLVES}, outcome="heuristic"}`]: '0+2x60' },
    [],
  ),
  alertCase(
    'SchedulingHeuristicFallbackHigh',
    '40m',
    { [`${SOLVES}, outcome="optimal"}`]: '0x20 1x40', [`${SOLVES}, outcome="heuristic"}`]: '0x20 1x40' },
    [],
  ),
  // Spec 003: average solve time 5.5 s fires, 4.5 s does not.
  alertCase('SchedulingSolveSlow', '25m', solveTimes(2, 11), [job('warning')]),
  alertCase('SchedulingSolveSlow', '25m', solveTimes(2, 9), []),
  // 21 jobs waiting fires, 20 does not: every instance reports the one shared queue (max, not sum).
  alertCase(
    'SchedulingQueueBacklog',
    '15m',
    { [`${QUEUE}, instance="a", state="waiting"}`]: '21x20', [`${QUEUE}, instance="b", state="waiting"}`]: '21x20' },
    [job('warning')],
  ),
  alertCase(
    'SchedulingQueueBacklog',
    '15m',
    { [`${QUEUE}, instance="a", state="waiting"}`]: '20x20', [`${QUEUE}, instance="b", state="waiting"}`]: '20x20' },
    [],
  ),
  // Nothing to scrape: fires on up == 0 and on no target at all.
  alertCase('GatewayDown', '5m', { [`up{${GW}, instance="a"}`]: '0x10' }, [job('critical')]),
  alertCase('GatewayDown', '5m', { 'up{job="other", instance="x"}': '1x10' }, [job('critical')]),
  alertCase('GatewayDown', '5m', { [`up{${GW}, instance="a"}`]: '0x10', [`up{${GW}, instance="b"}`]: '1x10' }, []),
];

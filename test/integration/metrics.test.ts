import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestApp, strongSecret, uniqueTag, type TestApp } from '../helpers/kit.js';

const MANIFEST = (await import('../../schema/generated/persisted-operations.json', { with: { type: 'json' } }))
  .default as { operations: { id: string; name: string }[] };
const WAREHOUSES_ID = MANIFEST.operations.find((o) => o.name === 'Warehouses')!.id;

/** The value of one sample of the Prometheus text format, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return res.text();
}

function fromIp(ip: string): Record<string, string> {
  return { 'x-forwarded-for': ip, authorization: '' };
}

// REQ 11 / spec 001 "Key Metrics": the names dashboards and alerts use, with bounded labels.
describe('/metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      PERSISTED_OPERATIONS_MODE: 'audit',
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_IP_PER_MINUTE: '3',
      LOGIN_LOCKOUT_THRESHOLD: '2',
    });
  });
  afterAll(() => t.close());

  it('counts operations by manifest name only, HTTP requests by route, and SQL by kind', async () => {
    const ip = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const known = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...fromIp(ip) },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: WAREHOUSES_ID } } }),
    });
    expect(known.status).toBe(200);
    const secretName = `Probe${uniqueTag().replace(/\W/g, '')}`;
    expect((await gql(t.url, `query ${secretName} { health { status } }`, {}, fromIp(ip))).status).toBe(200);

    const text = await scrape(t.url);
    expect(
      sample(text, 'graphql_operations_total', { operation_name: 'Warehouses', type: 'query', status: 'success' }),
    ).toBe(1);
    expect(sample(text, 'graphql_operations_total', { operation_name: 'other', type: 'query' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(text).not.toContain(secretName);
    expect(sample(text, 'graphql_operation_duration_seconds_count', { operation_name: 'Warehouses' })).toBe(1);
    expect(sample(text, 'graphql_resolver_duration_seconds_count', { field: 'Query.warehouses' })).toBe(1);
    expect(
      sample(text, 'http_requests_total', { method: 'POST', route: '/graphql', status_code: '200' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/graphql', le: '+Inf' })).toBeGreaterThan(0);
    expect(sample(text, 'http_requests_in_flight')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'db_queries_total', { operation: 'select' })).toBeGreaterThan(0);
    expect(sample(text, 'db_query_duration_seconds_count', { operation: 'select' })).toBeGreaterThan(0);
    expect(sample(text, 'db_connection_pool_max')).toBe(t.config.database.poolSize);
    expect(sample(text, 'db_connection_pool_in_use')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'db_connection_pool_waiting')).toBe(0);
    expect(sample(text, 'persisted_operations_total', { result: 'hit' })).toBe(1);
    expect(sample(text, 'persisted_operations_total', { result: 'unknown' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'cache_operations_total', { cache: 'permissions', result: 'hit' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'cache_hit_ratio', { cache: 'permissions' })).toBeLessThanOrEqual(1);
    // Process and event-loop metrics from prom-client.
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts rate-limit rejections, login outcomes and lockouts', async () => {
    const ip = `10.8.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    for (let i = 0; i < 4; i += 1) await gql(t.url, '{ health { status } }', {}, fromIp(ip));
    const login = `mutation L($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }`;
    const email = `nobody-${uniqueTag()}@example.com`;
    for (let i = 0; i < 2; i += 1) {
      await gql(t.url, login, { email, password: 'wrong-password-123' }, fromIp(`10.7.${i}.${i + 1}`));
    }
    const text = await scrape(t.url);
    expect(sample(text, 'rate_limit_rejections_total', { scope: 'ip' })).toBe(1);
    expect(sample(text, 'auth_attempts_total', { result: 'failure' })).toBe(2);
    expect(sample(text, 'auth_account_lockouts_total')).toBe(1);
    expect(sample(text, 'http_requests_total', { route: '/graphql', status_code: '429' })).toBe(1);
  });

  it('can require a bearer token, or live on a port of its own', async () => {
    const token = strongSecret();
    const guarded = await startTestApp({ METRICS_TOKEN: token });
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      expect(await scrape(guarded.url, { authorization: `Bearer ${token}` })).toContain('http_requests_total');
    } finally {
      await guarded.close();
    }
    const separate = await startTestApp({ METRICS_PORT: '1' });
    try {
      expect((await fetch(`${separate.url}/metrics`)).status).toBe(404);
      const address = await separate.app.metricsServer!.listen({ host: '127.0.0.1', port: 0 });
      expect(await scrape(address)).toContain('db_connection_pool_max');
    } finally {
      await separate.close();
    }
  });
});

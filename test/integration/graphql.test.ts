import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/errors/index.js';
import { gql, startTestApp, strongSecret, workerDatabaseUrl, type TestApp } from '../helpers/kit.js';

describe('GraphQL endpoint over real HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers the health query with the database status', async () => {
    const res = await gql<{
      health: { status: string; version: string; database: { status: string; latencyMs: number } };
    }>(t.url, '{ health { status version uptimeSeconds database { status latencyMs } } }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.health).toMatchObject({ status: 'ok', version: 'test', database: { status: 'up' } });
  });

  it('publishes the error catalog as an enum and a query', async () => {
    const res = await gql<{ errorCodes: { code: string; httpStatus: number }[] }>(
      t.url,
      '{ errorCodes { code httpStatus retryable description } }',
    );
    expect(res.body.data?.errorCodes.map((e) => e.code).sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
  });

  it('echoes a well-formed x-request-id and uses it as the correlation id of errors', async () => {
    const res = await gql(t.url, '{ noSuchField }', undefined, { 'x-request-id': 'client-req-12345' });
    expect(res.headers.get('x-request-id')).toBe('client-req-12345');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      correlationId: 'client-req-12345',
    });
  });

  it('logs each error once as structured JSON with the correlation id, code and operation', async () => {
    await gql(t.url, 'query BrokenOne { noSuchField }', undefined, { 'x-request-id': 'log-check-000042' });
    const entry = t
      .logs()
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.requestId === 'log-check-000042' && line.code);
    expect(entry).toMatchObject({ level: 'info', code: 'GRAPHQL_VALIDATION_FAILED', operationName: 'BrokenOne' });
    expect(typeof entry?.timestamp).toBe('string');
  });

  it('replaces a malformed x-request-id (no log forging)', async () => {
    const res = await gql(t.url, '{ health { status } }', undefined, { 'x-request-id': 'bad id <script>"forged"' });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('maps parse errors and bad variables onto catalog codes', async () => {
    const parse = await gql(t.url, '{ health { ');
    expect(parse.status).toBe(400);
    expect(parse.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    const badVariable = await gql(t.url, 'query ($b: Boolean!) { health @include(if: $b) { status } }', { b: 'yes' });
    expect(badVariable.status).toBe(400);
    expect(badVariable.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
  });

  it('never returns stack traces or internals', async () => {
    const res = await gql(t.url, '{ health { nope } }');
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/stacktrace|at .*\.ts:\d+|prisma/i);
  });

  it('liveness and readiness routes report the database', async () => {
    const live = await fetch(`${t.url}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${t.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: { status: 'up' } } });
  });
});

describe('Apollo Sandbox landing page', () => {
  it('is served in development', async () => {
    const t = await startTestApp({
      NODE_ENV: 'development',
      GRAPHQL_SANDBOX: 'true',
      GRAPHQL_SANDBOX_HEADERS: '{"x-sandbox-probe":"probe-value-7"}',
    });
    try {
      const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/apollo/i);
      expect(html).toMatch(/sandbox/i);
      // The configured headers are pre-filled in Sandbox's initial state.
      expect(html).toContain('x-sandbox-probe');
      expect(html).toContain('probe-value-7');
    } finally {
      await t.close();
    }
  });

  it('is absent in production, and so are introspection and field suggestions', async () => {
    // The local server uses trust auth, so a strong password in the URL is accepted as is.
    const url = new URL(await workerDatabaseUrl());
    url.username = 'postgres';
    url.password = strongSecret();
    const t = await startTestApp({
      NODE_ENV: 'production',
      DATABASE_URL: url.toString(),
      REDIS_URL: `redis://:${strongSecret()}@127.0.0.1:6379`,
    });
    try {
      const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/sandbox/i);
      // Production's default safelist refuses ad-hoc documents before they are even parsed…
      const refused = await gql(t.url, '{ __schema { types { name } } }');
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0]?.extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    } finally {
      await t.close();
    }
  });

  it('keeps introspection and field suggestions off in production even without the safelist', async () => {
    const url = new URL(await workerDatabaseUrl());
    url.username = 'postgres';
    url.password = strongSecret();
    const t = await startTestApp({
      NODE_ENV: 'production',
      PERSISTED_OPERATIONS_MODE: 'off',
      DATABASE_URL: url.toString(),
      REDIS_URL: `redis://:${strongSecret()}@127.0.0.1:6379`,
    });
    try {
      const introspection = await gql(t.url, '{ __schema { types { name } } }');
      expect(introspection.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const typo = await gql(t.url, '{ healt { status } }');
      expect(typo.body.errors?.[0]?.message).not.toMatch(/did you mean/i);
    } finally {
      await t.close();
    }
  });
});

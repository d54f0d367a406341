import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, strongSecret, workerDatabaseUrl, type TestApp } from '../helpers/kit.js';

const HEALTH = JSON.stringify({ query: '{ health { status } }' });

describe('HTTP hardening (003 SEC-003, SEC-004)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'https://shop.example.com,https://admin.example.com' });
  });
  afterAll(() => t.close());

  it('sends security headers and no X-Powered-By; no HSTS outside production', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: HEALTH,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // Nothing looser merged in from helmet's defaults.
    expect(res.headers.get('content-security-policy')).not.toMatch(/https:|unsafe-inline|script-src|style-src/);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('answers CORS preflights for allowlisted origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
    const allowed = await preflight('https://shop.example.com');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const denied = await preflight('https://evil.example.net');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const lookalike = await preflight('https://shop.example.com.evil.net');
    expect(lookalike.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses CSRF-able requests: simple content types and GET without a preflight header', async () => {
    const formPost = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: HEALTH,
    });
    expect(formPost.status).toBe(400);
    const simpleGet = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`);
    expect(simpleGet.status).toBe(400);
    const preflighted = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(200);
  });

  it('refuses bodies over the limit with 413 and a coded error', async () => {
    const small = await startTestApp({ BODY_LIMIT_BYTES: '1024' });
    try {
      const res = await fetch(`${small.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ health { status } }', variables: { pad: 'x'.repeat(4096) } }),
      });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('sends HSTS with preload in production', async () => {
    const url = new URL(await workerDatabaseUrl());
    url.password = strongSecret();
    const prod = await startTestApp({
      NODE_ENV: 'production',
      DATABASE_URL: url.toString(),
      REDIS_URL: `redis://:${strongSecret()}@127.0.0.1:6379`,
    });
    try {
      const res = await fetch(`${prod.url}/health/live`);
      expect(res.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains; preload');
    } finally {
      await prod.close();
    }
  });

  it('sheds load with 503 and Retry-After when over the heap limit, and keeps liveness answering', async () => {
    // A 1-byte heap limit is always exceeded: the deterministic way to be "under pressure".
    const busy = await startTestApp({ OVERLOAD_MAX_HEAP_BYTES: '1' });
    try {
      await expect
        .poll(
          async () =>
            (
              await fetch(`${busy.url}/graphql`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: HEALTH,
              })
            ).status,
          {
            timeout: 10_000,
            interval: 100,
          },
        )
        .toBe(503);
      const res = await fetch(`${busy.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: HEALTH,
      });
      expect(res.headers.get('retry-after')).toBe('10');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
        'SERVICE_UNAVAILABLE',
      );
      expect((await fetch(`${busy.url}/health/live`)).status).toBe(200);
    } finally {
      await busy.close();
    }
  });
});

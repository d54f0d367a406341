import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis, waitForRedis } from '../../src/platform/redis/redis.js';
import { REDIS_URL } from '../helpers/databases.js';
import { createTestUser, gql, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

const HEALTH = '{ health { status } }';

/** Requests through a trusted proxy, so each test can act as its own client IP. */
function fromIp(ip: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-forwarded-for': ip, authorization: '', ...extra };
}

function freshIp(): string {
  const n = () => Math.floor(Math.random() * 250) + 1;
  return `10.${n()}.${n()}.${n()}`;
}

describe('rate limits and cost budgets (003 SEC-002)', () => {
  let a: TestApp;
  let b: TestApp;
  const prefix = `test:rl:${uniqueTag()}:`;
  const env = {
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_IP_PER_MINUTE: '5',
    RATE_LIMIT_USER_PER_HOUR: '4',
    COST_BUDGET_PER_HOUR: '600',
    RATE_LIMIT_ALLOWLIST: '10.250.250.250',
  };
  beforeAll(async () => {
    // Two instances of one deployment: the same Redis key prefix.
    a = await startTestApp(env, { redisKeyPrefix: prefix });
    b = await startTestApp(
      { ...env, JWT_SECRETS: a.config.auth.jwtSecrets.join(','), PASSWORD_PEPPER: a.config.auth.passwordPepper },
      { redisKeyPrefix: prefix },
    );
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('reports the budget on every response: extensions.cost and RateLimit-* headers', async () => {
    const res = await gql(a.url, HEALTH, undefined, fromIp(freshIp()));
    expect(res.status).toBe(200);
    const cost = (res.body as { extensions?: { cost?: Record<string, unknown> } }).extensions?.cost;
    expect(cost).toMatchObject({ requested: 2, actual: 2, remaining: 598 });
    expect(new Date(String(cost?.resetAt)).getTime()).toBeGreaterThan(Date.now());
    expect(res.headers.get('ratelimit-limit')).toBe('600');
    expect(res.headers.get('ratelimit-remaining')).toBe('598');
    expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  });

  it('per IP: the 6th request in a minute, across both instances, is 429 with Retry-After', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i += 1) {
      const res = await gql(i % 2 === 0 ? a.url : b.url, HEALTH, undefined, fromIp(ip));
      expect(res.status, `request ${i + 1}`).toBe(200);
    }
    const over = await gql(b.url, HEALTH, undefined, fromIp(ip));
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(over.body.errors?.[0]?.extensions.retryAfterSeconds)).toBeGreaterThan(0);
    // Another address is unaffected.
    expect((await gql(a.url, HEALTH, undefined, fromIp(freshIp()))).status).toBe(200);
  });

  it('a Redis that lost its scripts (SCRIPT FLUSH, a restart) is given them again: the shared count goes on', async () => {
    const ip = freshIp();
    for (let i = 0; i < 2; i += 1) expect((await gql(b.url, HEALTH, undefined, fromIp(ip))).status).toBe(200);
    const raw = createRedis({ url: REDIS_URL, logger: createLogger({ level: 'error' }) });
    try {
      expect(await waitForRedis(raw)).toBe(true);
      await raw.script('FLUSH');
    } finally {
      raw.disconnect();
    }
    // Counted in Redis, not per instance (a's own memory has seen none of the first two).
    for (let i = 0; i < 3; i += 1) expect((await gql(a.url, HEALTH, undefined, fromIp(ip))).status).toBe(200);
    expect((await gql(a.url, HEALTH, undefined, fromIp(ip))).status).toBe(429);
  });

  it('per user: the 5th request in an hour is refused whatever the address', async () => {
    const user = await createTestUser(a, ['CUSTOMER']);
    for (let i = 0; i < 4; i += 1) {
      expect((await gql(a.url, '{ me { id } }', undefined, { ...fromIp(freshIp()), ...user.headers })).status).toBe(
        200,
      );
    }
    const over = await gql(b.url, '{ me { id } }', undefined, { ...fromIp(freshIp()), ...user.headers });
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
  });

  it('the cost budget: expensive operations exhaust it sooner', async () => {
    const ip = freshIp();
    const expensive = '{ products(limit: 10) { items { sku variants { sku } } } }';
    const first = await gql(a.url, expensive, undefined, fromIp(ip));
    expect(first.status).toBe(200);
    const spent = 600 - Number(first.headers.get('ratelimit-remaining'));
    // 10 products × (sku + variants) + 10 × 10 variant SKUs, plus the page fields.
    expect(spent).toBeGreaterThan(100);
    let last = first;
    for (let i = 0; i < 8 && last.status === 200; i += 1) last = await gql(b.url, expensive, undefined, fromIp(ip));
    expect(last.status).toBe(429);
    expect(last.body.errors?.[0]?.message).toMatch(/budget/);
  });

  it('allowlisted internal callers are exempt', async () => {
    for (let i = 0; i < 8; i += 1) {
      expect((await gql(a.url, HEALTH, undefined, fromIp('10.250.250.250'))).status).toBe(200);
    }
  });

  it('with Redis down the limits still hold, per instance', async () => {
    const down = await startTestApp({ ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const ip = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await gql(down.url, HEALTH, undefined, fromIp(ip))).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(down.logs().some((line) => line.includes('rate limits: redis unavailable'))).toBe(true);
    } finally {
      await down.close();
    }
  });
});

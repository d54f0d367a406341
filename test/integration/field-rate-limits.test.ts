import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, ROOT, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

// refreshToken carries @rateLimit(window: "1m", max: 30) in the SDL; a scale of 0.1 makes it 3.
const REFRESH = `mutation Refresh($token: String!) { refreshToken(input: { refreshToken: $token }) { accessToken } }`;
const SCALED_MAX = 3;

function fromIp(ip: string): Record<string, string> {
  return { 'x-forwarded-for': ip, authorization: '' };
}

function freshIp(): string {
  const n = () => Math.floor(Math.random() * 250) + 1;
  return `10.${n()}.${n()}.${n()}`;
}

/** Well-formed (20+ characters) but unknown refresh tokens: each call fails UNAUTHENTICATED. */
function bogus(): string {
  return `unknown-refresh-token-${uniqueTag()}`;
}

function codeOf(res: Awaited<ReturnType<typeof gql>>): unknown {
  return res.body.errors?.[0]?.extensions.code;
}

// Per-field limits (003 SEC-002): graphql-rate-limit over our own atomic sliding log in Redis.
describe('@rateLimit field limits', () => {
  let a: TestApp;
  let b: TestApp;
  const env = { TRUSTED_PROXIES: '127.0.0.1', FIELD_RATE_LIMIT_SCALE: '0.1' };
  beforeAll(async () => {
    const prefix = `test:frl:${uniqueTag()}:`;
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

  it('declares the limits in the published SDL', () => {
    const sdl = readFileSync(join(ROOT, 'schema/schema.graphql'), 'utf8');
    expect(sdl).toMatch(/refreshToken\([^)]*\): AuthPayload! @rateLimit\(window: "1m", max: 30\)/);
    expect(sdl).toMatch(/submitCart\([^)]*\): Order! @rateLimit\(window: "1m", max: 10\)/);
  });

  it('counts calls across instances; over the limit is 429 RATE_LIMITED with Retry-After', async () => {
    const ip = freshIp();
    for (let i = 0; i < SCALED_MAX; i += 1) {
      const res = await gql(i % 2 === 0 ? a.url : b.url, REFRESH, { token: bogus() }, fromIp(ip));
      expect(codeOf(res), `call ${i + 1}`).toBe('UNAUTHENTICATED');
    }
    const over = await gql(b.url, REFRESH, { token: bogus() }, fromIp(ip));
    expect(over.status).toBe(429);
    expect(over.body.data).toBeNull();
    expect(over.body.errors?.[0]).toMatchObject({
      path: ['refreshToken'],
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 60 },
    });
    expect(over.body.errors?.[0]?.message).toMatch(/at most 3 per 1m/);
    expect(over.headers.get('retry-after')).toBe('60');
    // Another caller has a window of its own.
    expect(codeOf(await gql(a.url, REFRESH, { token: bogus() }, fromIp(freshIp())))).toBe('UNAUTHENTICATED');
  });

  it('admits exactly max of a concurrent burst spread over both instances (atomic check-and-record)', async () => {
    const ip = freshIp();
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => gql(i % 2 === 0 ? a.url : b.url, REFRESH, { token: bogus() }, fromIp(ip))),
    );
    const codes = responses.map(codeOf);
    expect(codes.filter((code) => code === 'UNAUTHENTICATED')).toHaveLength(SCALED_MAX);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(12 - SCALED_MAX);
  });

  it('keeps limiting per instance when Redis is down (logged)', async () => {
    const down = await startTestApp({ ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const ip = freshIp();
      const codes: unknown[] = [];
      for (let i = 0; i <= SCALED_MAX; i += 1)
        codes.push(codeOf(await gql(down.url, REFRESH, { token: bogus() }, fromIp(ip))));
      expect(codes).toEqual([...Array<string>(SCALED_MAX).fill('UNAUTHENTICATED'), 'RATE_LIMITED']);
      expect(down.logs().some((line) => line.includes('field rate limits: redis unavailable'))).toBe(true);
    } finally {
      await down.close();
    }
  });
});

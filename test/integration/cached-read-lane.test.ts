import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, getNamedType, isObjectType, type GraphQLObjectType } from 'graphql';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis, type RedisClient } from '../../src/platform/redis/redis.js';
import { REDIS_URL } from '../helpers/databases.js';
import { until } from '../helpers/gateway-process.js';
import {
  catalogVersionSettled,
  createTestUser,
  ROOT,
  seedFixture,
  startTestApp,
  uniqueTag,
  type TestApp,
} from '../helpers/kit.js';

const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'schema/generated/persisted-operations.json'), 'utf8')) as {
  operations: { id: string; name: string }[];
};
function idOf(name: string): string {
  const operation = MANIFEST.operations.find((o) => o.name === name);
  if (!operation) throw new Error(`${name} is not in the manifest`);
  return operation.id;
}
const persisted = (name: string) => ({ persistedQuery: { version: 1, sha256Hash: idOf(name) } });

interface Reply {
  status: number;
  headers: Headers;
  body: {
    data?: { productBySku?: { name: string } | null } & Record<string, unknown>;
    errors?: { message: string; extensions: Record<string, unknown> }[];
    extensions?: { cost?: { requested: number; remaining: number } };
  };
  text: string;
}

async function post(url: string, payload: Record<string, unknown>, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

async function get(url: string, name: string, variables: object, headers: Record<string, string>): Promise<Reply> {
  const search = new URLSearchParams({
    operationName: name,
    variables: JSON.stringify(variables),
    extensions: JSON.stringify(persisted(name)),
  });
  const res = await fetch(`${url}/graphql?${search}`, { headers: { 'apollo-require-preflight': '1', ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

// Issue 7 "make it fast": public manifest reads answered in front of Apollo from this instance's
// memory, with the same authentication, rate limits, body, headers and invalidation. Both ways a
// read executes record what it shows: a compiled read (ADR 0008) and the resolvers.
describe.each([
  { reads: 'compiled', COMPILED_READS_ENABLED: 'true' },
  { reads: 'executed', COMPILED_READS_ENABLED: 'false' },
])('cached-read lane, $reads reads', ({ COMPILED_READS_ENABLED }) => {
  const prefix = `test:lane:${uniqueTag()}:`;
  let a: TestApp;
  let b: TestApp;
  let raw: RedisClient;
  let statements = 0;
  let statementsOfB = 0;
  const env = {
    RESPONSE_CACHE_ENABLED: 'true',
    RESPONSE_CACHE_COALESCE_MS: '50',
    PERSISTED_OPERATIONS_MODE: 'safelist',
    COMPILED_READS_ENABLED,
  };

  beforeAll(async () => {
    a = await startTestApp(env, { redisKeyPrefix: prefix });
    b = await startTestApp(env, { redisKeyPrefix: prefix });
    a.database.onStatement(() => (statements += 1));
    b.database.onStatement(() => (statementsOfB += 1));
    raw = createRedis({ url: REDIS_URL, logger: createLogger({ level: 'error' }) });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    raw.disconnect();
  });

  /** Drops the shared (Redis) response cache, so only the lane can answer without executing. */
  async function dropSharedCache() {
    const keys = await raw.keys(`${prefix}fqc:*`);
    if (keys.length > 0) await raw.del(...keys);
  }

  /**
   * Waits until a fixture's own catalog-version bump has reached the app (NOTIFY, coalesced), so
   * that the next read is stored under the version that stays current.
   */
  async function settle(read: () => Promise<unknown>) {
    await catalogVersionSettled(a.database, a, b);
    await until(async () => {
      const before = statements;
      await read();
      return statements === before;
    }, 'a repeated read to be answered from a cache');
  }

  const productDetail = (t: TestApp, sku: string, headers = t.admin) =>
    post(
      t.url,
      { operationName: 'ProductDetail', variables: { sku }, extensions: persisted('ProductDetail') },
      headers,
    );

  it('answers a repeated public read without Apollo, the database or the shared cache, charging it like any request', async () => {
    const { tag } = await seedFixture(a.database, { stock: 4 });
    const sku = `P-${tag}`;
    // The first read of a new product is Apollo's answer: the lane must look exactly like it.
    const first = await productDetail(a, sku);
    expect(first.status).toBe(200);
    await settle(() => productDetail(a, sku));
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data?.productBySku?.name).toBe(`Product ${tag}`);
    await dropSharedCache();

    const before = statements;
    const second = await productDetail(a, sku);
    expect(statements - before).toBe(0);
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual(first.body.data);
    expect(second.headers.get('cache-control')).toBe(first.headers.get('cache-control'));
    expect(second.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    // The budget is spent on a hit too, and reported the same way.
    expect(second.body.extensions?.cost?.requested).toBe(first.body.extensions?.cost?.requested);
    expect(second.body.extensions?.cost?.remaining).toBeLessThan(first.body.extensions!.cost!.remaining);
    expect(Number(second.headers.get('ratelimit-remaining'))).toBe(second.body.extensions?.cost?.remaining);
  });

  it('GET hits carry the ETag Apollo computed and answer If-None-Match with 304', async () => {
    const { tag } = await seedFixture(a.database);
    const sku = `P-${tag}`;
    const first = await get(a.url, 'ProductDetail', { sku }, a.admin);
    expect(first.status).toBe(200);
    await settle(() => get(a.url, 'ProductDetail', { sku }, a.admin));
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\//);
    await dropSharedCache();
    const before = statements;
    const hit = await get(a.url, 'ProductDetail', { sku }, a.admin);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('etag')).toBe(etag);
    expect(hit.body.data).toEqual(first.body.data);
    const notModified = await get(a.url, 'ProductDetail', { sku }, { ...a.admin, 'if-none-match': etag! });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(statements - before).toBe(0);
  });

  it('a token that does not check out is refused on a hit as on a miss', async () => {
    const { tag } = await seedFixture(a.database);
    const sku = `P-${tag}`;
    expect((await productDetail(a, sku)).status).toBe(200);
    const refused = await productDetail(a, sku, { authorization: 'Bearer not-a-token' });
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.body.data ?? null).toBeNull();
  });

  it('reads revocation with the charge: a revoked token or session is refused on a hit, a live one served', async () => {
    const { tag } = await seedFixture(a.database);
    const sku = `P-${tag}`;
    await settle(() => productDetail(a, sku));
    const tokenUser = await createTestUser(a, ['CUSTOMER']);
    const sessionUser = await createTestUser(a, ['CUSTOMER']);
    const claims = (h: Record<string, string>) => decodeJwt(h.authorization!.slice('Bearer '.length));
    // Redis forgot that this session was confirmed: the hit asks the database, which says live,
    // and remembers it again.
    const live = `${prefix}session:live:${String(claims(tokenUser.headers).sid)}`;
    await raw.del(live);
    expect((await productDetail(a, sku, tokenUser.headers)).body.data?.productBySku?.name).toBeTruthy();
    expect(await raw.get(live)).toBe('1');
    expect((await productDetail(a, sku, sessionUser.headers)).status).toBe(200);

    const token = claims(tokenUser.headers);
    await a.app.identity.revocations.revokeToken(String(token.jti), token.exp!);
    await a.app.identity.revocations.revokeSessions([String(claims(sessionUser.headers).sid)]);
    for (const user of [tokenUser, sessionUser]) {
      const refused = await productDetail(a, sku, user.headers);
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      expect(refused.body.data ?? null).toBeNull();
    }
    // The entry is still there for everyone else.
    const served = await productDetail(a, sku);
    expect(served.status).toBe(200);
    expect(served.body.data?.productBySku?.name).toBeTruthy();
  });

  it('a product change reaches every instance at once; older entries are never served', async () => {
    const { tag, productId } = await seedFixture(a.database);
    const sku = `P-${tag}`;
    expect((await productDetail(a, sku)).body.data?.productBySku?.name).toBe(`Product ${tag}`);
    expect((await productDetail(b, sku)).body.data?.productBySku?.name).toBe(`Product ${tag}`);
    expect((await productDetail(b, sku)).body.data?.productBySku?.name).toBe(`Product ${tag}`);
    const rename = await post(
      a.url,
      {
        operationName: 'UpdateProduct',
        variables: { id: productId, input: { name: `Renamed ${tag}` } },
        extensions: persisted('UpdateProduct'),
      },
      a.admin,
    );
    expect(rename.body.errors).toBeUndefined();
    for (const t of [a, b]) {
      await until(
        async () => (await productDetail(t, sku)).body.data?.productBySku?.name === `Renamed ${tag}`,
        'the rename to show',
        5_000,
      );
    }
  });

  type Detail = { variants: { id: string; stockLevels: { quantity: number }[] }[] };
  const quantityOf = (reply: Reply) =>
    (reply.body.data?.productBySku as Detail | undefined)?.variants[0]?.stockLevels[0]?.quantity;

  it('a stock change drops only the answers that show that variant, on every instance', async () => {
    const changed = await seedFixture(a.database, { stock: 4 });
    const other = await seedFixture(a.database, { stock: 4 });
    await catalogVersionSettled(a.database, a, b);
    // Executed on a (the shared cache has nothing under this version): the lane knows what each shows.
    for (const { tag } of [changed, other]) {
      expect(quantityOf(await productDetail(a, `P-${tag}`))).toBe(4);
      await settle(() => productDetail(a, `P-${tag}`));
    }
    await a.database.prisma.inventoryLevel.updateMany({
      where: { variantId: changed.variantIds[0] },
      data: { quantity: 9 },
    });
    await catalogVersionSettled(a.database, a, b);
    await dropSharedCache();
    // The other product is still answered from memory, the changed one is read again.
    const before = statements;
    expect(quantityOf(await productDetail(a, `P-${other.tag}`))).toBe(4);
    expect(statements - before).toBe(0);
    expect(quantityOf(await productDetail(a, `P-${changed.tag}`))).toBe(9);
    expect(statements - before).toBeGreaterThan(0);
    expect(quantityOf(await productDetail(b, `P-${changed.tag}`))).toBe(9);
  });

  it('an answer from the shared cache, whose dependencies are unknown, is dropped by any stock change', async () => {
    const shown = await seedFixture(a.database, { stock: 4 });
    const unrelated = await seedFixture(a.database, { stock: 4 });
    await catalogVersionSettled(a.database, a, b);
    const sku = `P-${shown.tag}`;
    await productDetail(a, sku);
    await settle(() => productDetail(a, sku));
    // b's first read comes from the shared cache: no statement, nothing executed.
    const before = statementsOfB;
    expect(quantityOf(await productDetail(b, sku))).toBe(4);
    expect(quantityOf(await productDetail(b, sku))).toBe(4);
    expect(statementsOfB - before).toBe(0);
    await a.database.prisma.inventoryLevel.updateMany({
      where: { variantId: unrelated.variantIds[0] },
      data: { quantity: 1 },
    });
    await catalogVersionSettled(a.database, a, b);
    await dropSharedCache();
    const after = statementsOfB;
    expect(quantityOf(await productDetail(b, sku))).toBe(4);
    expect(statementsOfB - after).toBeGreaterThan(0);
  });

  it('concurrent misses of a read that was cacheable run it once: the others wait and take its answer', async () => {
    const { tag, variantIds } = await seedFixture(a.database, { stock: 4 });
    const sku = `P-${tag}`;
    /** Changes the variant's stock: the entry goes, the key stays known as cacheable. */
    const restock = async (quantity: number) => {
      await a.database.prisma.inventoryLevel.updateMany({ where: { variantId: variantIds[0] }, data: { quantity } });
      await catalogVersionSettled(a.database, a, b);
      await dropSharedCache();
    };
    await catalogVersionSettled(a.database, a, b);
    await productDetail(a, sku);
    await settle(() => productDetail(a, sku));
    await restock(5);
    // What one execution of the read costs.
    const first = statements;
    expect(quantityOf(await productDetail(a, sku))).toBe(5);
    const once = statements - first;
    expect(once).toBeGreaterThan(0);
    await settle(() => productDetail(a, sku));
    await restock(6);
    const before = statements;
    const replies = await Promise.all(Array.from({ length: 8 }, () => productDetail(a, sku)));
    for (const reply of replies) expect(quantityOf(reply)).toBe(6);
    // Up to eight executions without the single flight.
    expect(statements - before).toBe(once);
  });

  it('stock reaches public answers only through ProductVariant.stockLevels, which records it', () => {
    // A new path to stock levels must call ctx.cacheDeps.stockOf, or the lane would keep its
    // answers past a stock change: this list is where such a path is noticed.
    const schema = buildSchema(readFileSync(join(ROOT, 'schema/schema.graphql'), 'utf8'));
    const paths = Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && !type.name.startsWith('__'))
      .flatMap((type) =>
        Object.values((type as GraphQLObjectType).getFields())
          .filter((field) => getNamedType(field.type).name === 'StockLevel')
          .map((field) => `${type.name}.${field.name}`),
      )
      .sort();
    // Mutations are never cached; StockLevelPage is Query.stockLevels', which needs INVENTORY_READ.
    expect(paths).toEqual(['Mutation.adjustStock', 'ProductVariant.stockLevels', 'StockLevelPage.items']);
  });

  it('never answers private reads: order history runs every time', async () => {
    const { customerId } = await seedFixture(a.database);
    const user = await createTestUser(a, ['CUSTOMER'], { customerId });
    const payload = { operationName: 'OrderHistory', variables: { customerId }, extensions: persisted('OrderHistory') };
    expect((await post(a.url, payload, user.headers)).status).toBe(200);
    const before = statements;
    const again = await post(a.url, payload, user.headers);
    expect(again.status).toBe(200);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(statements - before).toBeGreaterThan(0);
  });
});

describe('cached-read lane under rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      RESPONSE_CACHE_ENABLED: 'true',
      RESPONSE_CACHE_COALESCE_MS: '50',
      PERSISTED_OPERATIONS_MODE: 'safelist',
      RATE_LIMIT_IP_PER_MINUTE: '3',
    });
  });
  afterAll(async () => t.close());

  it('a hit over the per-IP limit is 429 RATE_LIMITED with Retry-After, like any other request', async () => {
    const { tag } = await seedFixture(t.database);
    const payload = {
      operationName: 'ProductDetail',
      variables: { sku: `P-${tag}` },
      extensions: persisted('ProductDetail'),
    };
    const statuses: number[] = [];
    let last: Reply | undefined;
    for (let i = 0; i < 4; i += 1) {
      last = await post(t.url, payload, t.admin);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last?.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('cached-read lane memory', () => {
  let t: TestApp;
  let statements = 0;
  beforeAll(async () => {
    t = await startTestApp({
      RESPONSE_CACHE_ENABLED: 'true',
      RESPONSE_CACHE_COALESCE_MS: '50',
      PERSISTED_OPERATIONS_MODE: 'safelist',
    });
    t.database.onStatement(() => (statements += 1));
  });
  afterAll(async () => t.close());

  const held = async (what: 'entries' | 'bytes') =>
    (await t.app.metrics.registry.getSingleMetric(`response_cache_local_${what}`)?.get())?.values[0]?.value;

  it('lets go of an answer when its max-age ends, with no request for it (the gauges show it)', async () => {
    const { tag } = await seedFixture(t.database, { stock: 2 });
    await catalogVersionSettled(t.database, t);
    const payload = {
      operationName: 'ProductDetail',
      variables: { sku: `P-${tag}` },
      extensions: persisted('ProductDetail'),
    };
    const first = await post(t.url, payload, t.admin);
    expect(first.status).toBe(200);
    await until(async () => {
      const before = statements;
      await post(t.url, payload, t.admin);
      return statements === before;
    }, 'a repeated read to be answered without the database');
    expect(await held('entries')).toBe(1);
    expect(await held('bytes')).toBeGreaterThan(0);

    const maxAge = Number(/max-age=(\d+)/.exec(first.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    await until(async () => (await held('entries')) === 0, 'the expired answer to be dropped', (maxAge + 10) * 1000);
    expect(await held('bytes')).toBe(0);
  }, 60_000);
});

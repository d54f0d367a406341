import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/gateway-process.js';
import {
  catalogVersionSettled,
  createTestUser,
  gql,
  seedFixture,
  startTestApp,
  uniqueTag,
  type TestApp,
} from '../helpers/kit.js';

const PRODUCT = `query Product($sku: String!) {
  productBySku(sku: $sku) { name variants { sku stockLevels { quantity } } }
}`;
const UPDATE = `mutation Rename($id: UUID!, $name: String!) { updateProduct(id: $id, input: { name: $name }) { id } }`;
const ADJUST = `mutation Adjust($input: AdjustStockInput!) { adjustStock(input: $input) { quantity } }`;

interface ProductData {
  productBySku: { name: string; variants: { sku: string; stockLevels: { quantity: number }[] }[] } | null;
}

// Issue 7 "make it fast": public catalog reads served from a shared response cache, invalidated
// by the catalog version the database announces on every catalog or stock change.
describe('response cache for public catalog reads', () => {
  let a: TestApp;
  let b: TestApp;
  let statements = 0;
  beforeAll(async () => {
    const env = { RESPONSE_CACHE_ENABLED: 'true', RESPONSE_CACHE_COALESCE_MS: '50' };
    const prefix = `test:rc:${uniqueTag()}:`;
    a = await startTestApp(env, { redisKeyPrefix: prefix });
    b = await startTestApp(env, { redisKeyPrefix: prefix });
    b.database.onStatement(() => (statements += 1));
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  async function read(t: TestApp, sku: string) {
    return gql<ProductData>(t.url, PRODUCT, { sku }, { authorization: '' });
  }

  it('serves a repeated read from the cache shared by instances, without touching the database', async () => {
    const { tag } = await seedFixture(a.database);
    const sku = `P-${tag}`;
    // The seed bumped the catalog version: both instances must have heard of it, or each would
    // key the same read under a different version.
    await catalogVersionSettled(a.database, a, b);
    const first = await read(a, sku);
    expect(first.body.data?.productBySku?.name).toBe(`Product ${tag}`);
    const before = statements;
    const second = await read(b, sku);
    expect(second.body.data).toEqual(first.body.data);
    expect(statements - before).toBe(0);
    expect(Number(second.headers.get('age'))).toBeGreaterThanOrEqual(0);
    // Budgets still apply to cached answers.
    expect((second.body as { extensions?: { cost?: unknown } }).extensions?.cost).toBeDefined();
  });

  it('a product change or a stock change is visible on the next read, on every instance', async () => {
    const { tag, productId, variantIds, warehouseId } = await seedFixture(a.database, { stock: 5 });
    const sku = `P-${tag}`;
    expect((await read(b, sku)).body.data?.productBySku?.name).toBe(`Product ${tag}`);
    expect((await gql(a.url, UPDATE, { id: productId, name: `Renamed ${tag}` })).body.errors).toBeUndefined();
    await until(
      async () => (await read(b, sku)).body.data?.productBySku?.name === `Renamed ${tag}`,
      'the rename to show on instance b',
      5_000,
    );
    const input = { variantId: variantIds[0], warehouseId, delta: 3, reason: 'RECEIVED', note: 'restock' };
    expect((await gql(b.url, ADJUST, { input })).body.errors).toBeUndefined();
    await until(
      async () => (await read(a, sku)).body.data?.productBySku?.variants[0]?.stockLevels[0]?.quantity === 8,
      'the stock change to show on instance a',
      5_000,
    );
  });

  it('never caches what is not public: an authenticated `me` is answered fresh for each user', async () => {
    const me = '{ me { id } }';
    const first = await gql<{ me: { id: string } }>(a.url, me);
    expect(first.body.data?.me.id).toBe(a.adminId);
    const user = await createTestUser(a, []);
    const other = await gql<{ me: { id: string } }>(a.url, me, {}, user.headers);
    expect(other.body.data?.me.id).toBe(user.id);
    expect(first.headers.get('cache-control')).toBe('no-store');
  });
});

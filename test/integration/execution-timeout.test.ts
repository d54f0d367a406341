import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, seedFixture, startTestApp, workerDatabaseUrl, type TestApp } from '../helpers/kit.js';

const ADJUST = `mutation Adjust($input: AdjustStockInput!) { adjustStock(input: $input) { quantity } }`;

async function quantity(t: TestApp, variantId: string, warehouseId: string): Promise<number> {
  const level = await t.database.prisma.inventoryLevel.findUniqueOrThrow({
    where: { variantId_warehouseId: { variantId, warehouseId } },
  });
  return level.quantity;
}

// 004 section 1 / issue 5: an operation past GRAPHQL_EXECUTION_TIMEOUT_MS is answered 504 at the
// deadline and its transaction is cancelled and rolled back, whatever it was waiting for.
describe('per-operation execution timeout', () => {
  let t: TestApp;
  let blocker: pg.Client;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_EXECUTION_TIMEOUT_MS: '500' });
    blocker = new pg.Client({ connectionString: await workerDatabaseUrl() });
    await blocker.connect();
  });
  afterAll(async () => {
    await blocker.end();
    await t.close();
  });

  it('answers 504 OPERATION_TIMEOUT at the deadline and rolls the blocked transaction back', async () => {
    const { variantIds, warehouseId } = await seedFixture(t.database, { stock: 50 });
    const variantId = variantIds[0]!;
    // Another session holds the stock row, so the mutation's UPDATE waits on the row lock.
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM inventory_levels WHERE variant_id = $1 AND warehouse_id = $2 FOR UPDATE', [
      variantId,
      warehouseId,
    ]);
    let res;
    try {
      res = await gql(t.url, ADJUST, { input: { variantId, warehouseId, delta: 5, reason: 'RECEIVED', note: 'x' } });
    } finally {
      await blocker.query('COMMIT');
    }
    expect(res.status).toBe(504);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TIMEOUT', timeoutMs: 500 });
    expect(res.body.errors?.[0]?.extensions.correlationId).toEqual(expect.any(String));
    expect(res.headers.get('cache-control')).toBe('no-store');

    // Once the lock is gone nothing of the abandoned mutation may land: its statement was cancelled.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await quantity(t, variantId, warehouseId)).toBe(50);
    const adjustments = await t.database.prisma.stockAdjustment.count({ where: { variantId } });
    expect(adjustments).toBe(0);
    expect(t.logs().some((line) => line.includes('operation timed out'))).toBe(true);
  });

  it('leaves operations inside the deadline alone', async () => {
    const { variantIds, warehouseId } = await seedFixture(t.database, { stock: 50 });
    const res = await gql(t.url, ADJUST, {
      input: { variantId: variantIds[0], warehouseId, delta: 5, reason: 'RECEIVED', note: 'x' },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ adjustStock: { quantity: 55 } });
  });
});

// Issue 7 (overload): an operation that cannot get a database connection in time fails with the
// coded SERVICE_UNAVAILABLE, and when nothing of it succeeded the HTTP status says 503 with
// Retry-After, as the admission limit's shed answers do, so callers and balancers back off.
describe('no database connection in time', () => {
  let t: TestApp;
  let blocker: pg.Client;
  let observer: pg.Client;
  beforeAll(async () => {
    t = await startTestApp({ DATABASE_POOL_SIZE: '1', DATABASE_TX_MAX_WAIT_MS: '200' });
    blocker = new pg.Client({ connectionString: await workerDatabaseUrl() });
    observer = new pg.Client({ connectionString: await workerDatabaseUrl() });
    await Promise.all([blocker.connect(), observer.connect()]);
  });
  afterAll(async () => {
    await Promise.all([blocker.end(), observer.end()]);
    await t.close();
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After; the operation holding the connection still lands', async () => {
    const { variantIds, warehouseId } = await seedFixture(t.database, { variants: 2, stock: 50 });
    const [held, other] = [variantIds[0]!, variantIds[1]!];
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM inventory_levels WHERE variant_id = $1 AND warehouse_id = $2 FOR UPDATE', [
      held,
      warehouseId,
    ]);
    let first: Promise<Awaited<ReturnType<typeof gql>>> | undefined;
    try {
      // The first mutation takes the pool's only connection and waits on the row lock with it.
      first = gql(t.url, ADJUST, { input: { variantId: held, warehouseId, delta: 5, reason: 'RECEIVED', note: 'x' } });
      await expect
        .poll(
          async () =>
            (
              await observer.query<{ waiting: number }>(
                `SELECT count(*)::int AS waiting FROM pg_stat_activity
                  WHERE wait_event_type = 'Lock' AND datname = current_database()`,
              )
            ).rows[0]!.waiting,
          { timeout: 10_000, interval: 50 },
        )
        .toBeGreaterThan(0);
      const res = await gql(t.url, ADJUST, {
        input: { variantId: other, warehouseId, delta: 5, reason: 'RECEIVED', note: 'x' },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.body.data?.adjustStock ?? null).toBeNull();
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(res.body.errors?.[0]?.extensions.correlationId).toEqual(expect.any(String));
    } finally {
      await blocker.query('COMMIT');
    }
    const landed = await first;
    expect(landed.status).toBe(200);
    expect(landed.body.errors, JSON.stringify(landed.body.errors)).toBeUndefined();
    expect(await quantity(t, held, warehouseId)).toBe(55);
    // The refused one changed nothing.
    expect(await quantity(t, other, warehouseId)).toBe(50);
  });
});

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

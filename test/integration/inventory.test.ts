import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdjustStockDocument,
  CreateWarehouseDocument,
  LowStockDocument,
  ProductDetailDocument,
  StockLedgerDocument,
  WarehousesDocument,
} from '../../schema/generated/operations.js';
import { gql, op, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

interface WarehouseView {
  id: string;
  code: string;
  name: string;
  createdAt: string;
}

interface StockLevelView {
  id: string;
  quantity: number;
  updatedAt: string;
  variant: { id: string; sku: string; name: string; product: { id: string; sku: string; name: string } };
  warehouse: { id: string; code: string; name: string };
}

interface AdjustmentView {
  id: string;
  delta: number;
  reason: string;
  note: string;
  orderId: string | null;
  createdById: string | null;
  createdAt: string;
  variant: { id: string };
  warehouse: { id: string };
}

interface PageView<T> {
  items: T[];
  pageInfo: { page: number; limit: number; totalCount: number; hasNextPage: boolean };
}

type Reason = 'RECEIVED' | 'COUNT_CORRECTION' | 'DAMAGED' | 'RETURNED' | 'ORDER_PLACED' | 'ORDER_CANCELLED';

const WAREHOUSE = 'id code name createdAt';
const LEVEL = `id quantity updatedAt
  variant { id sku name product { id sku name } }
  warehouse { id code name }`;
const ADJUSTMENT = 'id delta reason note orderId createdById createdAt variant { id } warehouse { id }';
const PAGE_INFO = 'pageInfo { page limit totalCount hasNextPage }';

const WAREHOUSES = `{ warehouses { ${WAREHOUSE} } }`;
const WAREHOUSE_BY_ID = `query ($id: UUID!) { warehouse(id: $id) { ${WAREHOUSE} } }`;
const CREATE_WAREHOUSE = `mutation ($input: CreateWarehouseInput!) { createWarehouse(input: $input) { ${WAREHOUSE} } }`;
const ADJUST = `mutation ($input: AdjustStockInput!) { adjustStock(input: $input) { ${LEVEL} } }`;
const LEVELS = `query ($filter: StockLevelFilter, $page: Int, $limit: Int, $orderBy: [StockLevelOrderBy!]) {
  stockLevels(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) { items { ${LEVEL} } ${PAGE_INFO} }
}`;
const ADJUSTMENTS = `query ($filter: StockAdjustmentFilter, $page: Int, $limit: Int, $orderBy: [StockAdjustmentOrderBy!]) {
  stockAdjustments(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) {
    items { ${ADJUSTMENT} } ${PAGE_INFO}
  }
}`;
const VARIANT_LEVELS = `query ($id: UUID!) {
  variant(id: $id) { id sku stockLevels { id quantity variant { id } warehouse { id code } } }
}`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** An upper-case token no other test's data contains; valid inside a warehouse code. */
function tagged(): string {
  return `IN${uniqueTag().toUpperCase()}`;
}

type GqlResult = { status: number; body: { errors?: { extensions: Record<string, unknown>; message: string }[] } };

function firstError(res: GqlResult) {
  expect(res.body.errors, 'expected an error').toBeDefined();
  return res.body.errors![0]!;
}

function fieldKeys(res: GqlResult): string[] {
  const error = firstError(res);
  expect(error.extensions.code).toBe('VALIDATION_ERROR');
  return Object.keys(error.extensions.fields as object).sort();
}

async function createWarehouse(code: string, name = `Warehouse ${code}`): Promise<WarehouseView> {
  const res = await gql<{ createWarehouse: WarehouseView }>(t.url, CREATE_WAREHOUSE, { input: { code, name } });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.createWarehouse;
}

/** A fresh warehouse and a product with `variants` variants, without any stock rows. */
async function fixture(variants = 1) {
  const tag = tagged();
  const warehouse = await createWarehouse(`WH-${tag}`);
  const product = await t.database.prisma.product.create({
    data: {
      sku: `P-${tag}`,
      name: `Stocked ${tag}`,
      variants: {
        create: Array.from({ length: variants }, (_, i) => ({
          sku: `P-${tag}-${i + 1}`,
          name: `Variant ${i + 1}`,
          price: '1.00',
        })),
      },
    },
    include: { variants: { orderBy: { sku: 'asc' } } },
  });
  return { tag, warehouse, product, variantIds: product.variants.map((v) => v.id) };
}

async function adjustRaw(input: {
  variantId: string;
  warehouseId: string;
  delta: number;
  reason?: Reason;
  note?: string;
}) {
  return gql<{ adjustStock: StockLevelView }>(t.url, ADJUST, { input: { reason: 'RECEIVED', ...input } });
}

async function adjust(input: Parameters<typeof adjustRaw>[0]): Promise<StockLevelView> {
  const res = await adjustRaw(input);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.adjustStock;
}

async function levels(variables: Record<string, unknown>): Promise<PageView<StockLevelView>> {
  const res = await gql<{ stockLevels: PageView<StockLevelView> }>(t.url, LEVELS, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.stockLevels;
}

async function ledger(variables: Record<string, unknown>): Promise<PageView<AdjustmentView>> {
  const res = await gql<{ stockAdjustments: PageView<AdjustmentView> }>(t.url, ADJUSTMENTS, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.stockAdjustments;
}

async function stockRow(variantId: string, warehouseId: string) {
  return t.database.prisma.inventoryLevel.findUnique({
    where: { variantId_warehouseId: { variantId, warehouseId } },
  });
}

async function adjustmentCount(variantId: string) {
  return t.database.prisma.stockAdjustment.count({ where: { variantId } });
}

describe('warehouses', () => {
  it('creates a warehouse, reads it by id and lists it in code order', async () => {
    const tag = tagged();
    const name = `<b>"Dock" & Co's</b> 東京`;
    const second = await createWarehouse(`WH-${tag}-B`, name);
    expect(second).toMatchObject({ code: `WH-${tag}-B`, name });
    expect(second.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(second.createdAt)).not.toBeNaN();
    const typed = await op(t.url, CreateWarehouseDocument, { code: `WH-${tag}-A`, name: 'First by code' });
    expect(typed.body.errors).toBeUndefined();
    const first = typed.body.data!.createWarehouse;
    expect(first.code).toBe(`WH-${tag}-A`);

    const byId = await gql<{ warehouse: WarehouseView | null }>(t.url, WAREHOUSE_BY_ID, { id: second.id });
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data?.warehouse).toEqual(second);

    const all = await gql<{ warehouses: WarehouseView[] }>(t.url, WAREHOUSES);
    expect(all.body.errors).toBeUndefined();
    const ours = all.body.data!.warehouses.filter((w) => w.code.startsWith(`WH-${tag}-`));
    expect(ours.map((w) => w.id)).toEqual([first.id, second.id]);
    expect(ours[1]).toEqual(second);

    const typedList = await op(t.url, WarehousesDocument);
    expect(typedList.body.data?.warehouses).toContainEqual({
      id: first.id,
      code: `WH-${tag}-A`,
      name: 'First by code',
    });
  });

  it('returns null for an unknown warehouse id and rejects a malformed one', async () => {
    const missing = await gql<{ warehouse: WarehouseView | null }>(t.url, WAREHOUSE_BY_ID, { id: randomUUID() });
    expect(missing.body.errors).toBeUndefined();
    expect(missing.body.data).toEqual({ warehouse: null });
    const malformed = await gql(t.url, WAREHOUSE_BY_ID, { id: 'WH-1' });
    expect(firstError(malformed).extensions.code).toBe('VALIDATION_ERROR');
  });

  it('refuses a taken code: CONFLICT on code, nothing created', async () => {
    const tag = tagged();
    await createWarehouse(`WH-${tag}`, 'Original');
    const res = await gql(t.url, CREATE_WAREHOUSE, { input: { code: `WH-${tag}`, name: 'Copy' } });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'CONFLICT', field: 'code' });
    expect(firstError(res).message).toBe(`A warehouse with code WH-${tag} already exists.`);
    const rows = await t.database.prisma.warehouse.findMany({ where: { code: `WH-${tag}` } });
    expect(rows.map((w) => w.name)).toEqual(['Original']);
  });

  it('concurrent creates of one code: exactly one wins, the rest CONFLICT on code', async () => {
    const tag = tagged();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gql(t.url, CREATE_WAREHOUSE, { input: { code: `RACE-${tag}`, name: `Racer ${i}` } }),
      ),
    );
    expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
    for (const loser of results.filter((r) => r.body.errors)) {
      expect(loser.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'code' });
    }
    expect(await t.database.prisma.warehouse.count({ where: { code: `RACE-${tag}` } })).toBe(1);
  });

  it('validates the code format (2-32 upper-case letters, digits or dashes) and the name, together', async () => {
    const tag = tagged();
    for (const code of [
      `wh-${tag.toLowerCase()}`,
      'A',
      '',
      `W${tag}`.padEnd(33, 'X'),
      `WH ${tag}`,
      `-WH${tag}`,
      `WH_${tag}`,
      `WH.${tag}`,
      `WH-${tag}\n`,
      `ÄH-${tag}`,
    ]) {
      const res = await gql(t.url, CREATE_WAREHOUSE, { input: { code, name: 'Valid name' } });
      expect(firstError(res).extensions.fields, JSON.stringify(code)).toEqual({
        'input.code': ['code must be 2-32 upper-case letters, digits or dashes'],
      });
    }
    const both = await gql(t.url, CREATE_WAREHOUSE, { input: { code: 'lower', name: '  ' } });
    expect(fieldKeys(both)).toEqual(['input.code', 'input.name']);
    const control = await gql(t.url, CREATE_WAREHOUSE, { input: { code: `WH-${tag}`, name: 'Two\nlines' } });
    expect(fieldKeys(control)).toEqual(['input.name']);
    expect(await t.database.prisma.warehouse.count({ where: { code: { contains: tag } } })).toBe(0);

    const longest = `W${tag}`.padEnd(32, '-');
    expect((await createWarehouse(longest)).code).toBe(longest);
    const shortest = randomBytes(8)
      .toString('hex')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .slice(0, 2);
    expect((await createWarehouse(shortest)).code).toBe(shortest);
  });
});

describe('adjustStock', () => {
  it('RECEIVED on a variant/warehouse with no stock row creates the row; later adjustments add to it', async () => {
    const { warehouse, product, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    expect(await stockRow(variantId, warehouse.id)).toBeNull();

    const before = Date.now();
    const level = await adjust({ variantId, warehouseId: warehouse.id, delta: 7, reason: 'RECEIVED', note: 'PO-1' });
    expect(level).toMatchObject({
      quantity: 7,
      variant: { id: variantId, product: { id: product.id, name: product.name } },
      warehouse: { id: warehouse.id, code: warehouse.code },
    });
    expect(Date.parse(level.updatedAt)).toBeGreaterThanOrEqual(before - 1000);
    const row = await stockRow(variantId, warehouse.id);
    expect(row).toMatchObject({ id: level.id, quantity: 7 });

    const typed = await op(t.url, AdjustStockDocument, {
      variantId,
      warehouseId: warehouse.id,
      delta: 3,
      reason: 'RETURNED',
    });
    expect(typed.body.errors).toBeUndefined();
    expect(typed.body.data?.adjustStock.quantity).toBe(10);
    expect(await t.database.prisma.inventoryLevel.count({ where: { variantId } })).toBe(1);
  });

  it('may take stock down to exactly zero', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    await adjust({ variantId, warehouseId: warehouse.id, delta: 4 });
    const empty = await adjust({ variantId, warehouseId: warehouse.id, delta: -4, reason: 'DAMAGED' });
    expect(empty.quantity).toBe(0);
    expect((await stockRow(variantId, warehouse.id))?.quantity).toBe(0);
  });

  it('a removal below zero fails with INSUFFICIENT_STOCK naming variant, requested and available, changing nothing', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    await adjust({ variantId, warehouseId: warehouse.id, delta: 10 });
    const rowBefore = await stockRow(variantId, warehouse.id);
    const adjustmentsBefore = await adjustmentCount(variantId);

    const res = await adjustRaw({ variantId, warehouseId: warehouse.id, delta: -11, reason: 'DAMAGED' });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      variantId,
      requested: 11,
      available: 10,
    });
    expect(firstError(res).message).toBe(`Variant ${variantId} has 10 in stock; 11 requested.`);
    expect(await stockRow(variantId, warehouse.id)).toEqual(rowBefore);
    expect(await adjustmentCount(variantId)).toBe(adjustmentsBefore);
  });

  it('a removal where there is no stock row fails with available 0 and creates no row', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    const res = await adjustRaw({ variantId, warehouseId: warehouse.id, delta: -1, reason: 'COUNT_CORRECTION' });
    expect(firstError(res).extensions).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      variantId,
      requested: 1,
      available: 0,
    });
    expect(await stockRow(variantId, warehouse.id)).toBeNull();
    expect(await adjustmentCount(variantId)).toBe(0);
  });

  it('rejects delta 0, the system-only reasons and out-of-range values as VALIDATION_ERROR, recording nothing', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    const base = { variantId, warehouseId: warehouse.id };

    const zero = await adjustRaw({ ...base, delta: 0 });
    expect(firstError(zero).extensions.fields).toEqual({ 'input.delta': ['delta must not be zero'] });

    for (const reason of ['ORDER_PLACED', 'ORDER_CANCELLED'] as const) {
      const res = await adjustRaw({ ...base, delta: 5, reason });
      expect(firstError(res).extensions.fields, reason).toEqual({
        'input.reason': ['reason must be RECEIVED, COUNT_CORRECTION, DAMAGED or RETURNED'],
      });
    }
    for (const delta of [1_000_001, -1_000_001]) {
      expect(fieldKeys(await adjustRaw({ ...base, delta })), String(delta)).toEqual(['input.delta']);
    }
    const note = await adjustRaw({ ...base, delta: 1, note: 'Bell\u0007' });
    expect(fieldKeys(note)).toEqual(['input.note']);
    const longNote = await adjustRaw({ ...base, delta: 1, note: 'n'.repeat(1001) });
    expect(fieldKeys(longNote)).toEqual(['input.note']);

    const together = await adjustRaw({ ...base, delta: 0, reason: 'ORDER_PLACED', note: 'x\u0000' });
    expect(fieldKeys(together)).toEqual(['input.delta', 'input.note', 'input.reason']);

    // Not an Int, or not a reason at all: refused while coercing the variables.
    for (const input of [
      { ...base, delta: 1.5, reason: 'RECEIVED' },
      { ...base, delta: '3', reason: 'RECEIVED' },
      { ...base, delta: 1, reason: 'STOLEN' },
    ]) {
      const res = await gql(t.url, ADJUST, { input });
      expect(firstError(res).extensions.code, JSON.stringify(input)).toBe('VALIDATION_ERROR');
    }

    expect(await stockRow(variantId, warehouse.id)).toBeNull();
    expect(await adjustmentCount(variantId)).toBe(0);

    const largest = await adjust({ ...base, delta: 1_000_000, note: 'Line one\nLine two\r\n\tend' });
    expect(largest.quantity).toBe(1_000_000);
  });

  it('answers NOT_FOUND for an unknown variant or warehouse, recording nothing', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    const unknownVariant = randomUUID();
    const noVariant = await adjustRaw({ variantId: unknownVariant, warehouseId: warehouse.id, delta: 1 });
    expect(noVariant.body.data).toBeNull();
    expect(firstError(noVariant).extensions).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'ProductVariant',
      id: unknownVariant,
    });
    const unknownWarehouse = randomUUID();
    const noWarehouse = await adjustRaw({ variantId, warehouseId: unknownWarehouse, delta: 1 });
    expect(firstError(noWarehouse).extensions).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'Warehouse',
      id: unknownWarehouse,
    });
    expect(await t.database.prisma.inventoryLevel.count({ where: { variantId } })).toBe(0);
    expect(await t.database.prisma.inventoryLevel.count({ where: { variantId: unknownVariant } })).toBe(0);
    expect(await adjustmentCount(variantId)).toBe(0);
  });
});

describe('stockAdjustments (the stock ledger)', () => {
  it('records each adjustment with its reason, delta, note and time', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    const before = new Date(Date.now() - 1000);
    const steps: { delta: number; reason: Reason; note: string }[] = [
      { delta: 10, reason: 'RECEIVED', note: 'Delivery #1\nPallet 3' },
      { delta: -2, reason: 'DAMAGED', note: '' },
      { delta: 1, reason: 'COUNT_CORRECTION', note: 'cycle count' },
      { delta: 3, reason: 'RETURNED', note: `RMA <42> & "x" it's` },
    ];
    for (const step of steps) await adjust({ variantId, warehouseId: warehouse.id, ...step });
    const after = new Date(Date.now() + 1000);

    const page = await ledger({ filter: { variantId } });
    expect(page.pageInfo).toEqual({ page: 1, limit: 20, totalCount: 4, hasNextPage: false });
    const byReason = (a: { reason: string }, b: { reason: string }) => a.reason.localeCompare(b.reason);
    expect(page.items.map(({ delta, reason, note }) => ({ delta, reason, note })).sort(byReason)).toEqual(
      [...steps].sort(byReason),
    );
    for (const item of page.items) {
      expect(item).toMatchObject({
        orderId: null,
        createdById: t.adminId,
        variant: { id: variantId },
        warehouse: { id: warehouse.id },
      });
      const at = Date.parse(item.createdAt);
      expect(at).toBeGreaterThanOrEqual(before.getTime());
      expect(at).toBeLessThanOrEqual(after.getTime());
    }
    // The ledger adds up to the stock on hand.
    expect(page.items.reduce((sum, a) => sum + a.delta, 0)).toBe((await stockRow(variantId, warehouse.id))?.quantity);

    const typed = await op(t.url, StockLedgerDocument, { variantId, reason: 'RETURNED' });
    expect(typed.body.data?.stockAdjustments).toEqual({
      items: [
        {
          delta: 3,
          reason: 'RETURNED',
          note: `RMA <42> & "x" it's`,
          orderId: null,
          createdAt: expect.any(String),
          warehouse: { code: warehouse.code },
        },
      ],
      pageInfo: { totalCount: 1 },
    });
  });

  it('filters by variantId, warehouseId, reason and from (inclusive) / to (exclusive), newest first', async () => {
    const { variantIds, warehouse: w1 } = await fixture(2);
    const [v1, v2] = variantIds as [string, string];
    const w2 = await createWarehouse(`WH-${tagged()}`);
    const plan: [string, string, number, Reason, string][] = [
      [v1, w1.id, 10, 'RECEIVED', '2020-01-01T00:00:00.000Z'],
      [v1, w2.id, 5, 'RECEIVED', '2020-01-02T00:00:00.000Z'],
      [v2, w1.id, 8, 'RECEIVED', '2020-01-03T00:00:00.000Z'],
      [v1, w1.id, -1, 'DAMAGED', '2020-01-04T00:00:00.000Z'],
      [v2, w1.id, -2, 'DAMAGED', '2020-01-05T00:00:00.000Z'],
      [v1, w2.id, 2, 'RETURNED', '2020-01-06T00:00:00.000Z'],
    ];
    const ids: string[] = [];
    for (const [variantId, warehouseId, delta, reason, at] of plan) {
      await adjust({ variantId, warehouseId, delta, reason, note: at });
      // Each adjustment gets its own, known time so the range filters and order can be checked.
      const row = await t.database.prisma.stockAdjustment.findFirstOrThrow({ where: { variantId, note: at } });
      await t.database.prisma.stockAdjustment.update({ where: { id: row.id }, data: { createdAt: new Date(at) } });
      ids.push(row.id);
    }
    const [a1, a2, a3, a4, a5, a6] = ids as [string, string, string, string, string, string];
    const idsOf = async (filter: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      (await ledger({ filter, ...extra })).items.map((a) => a.id);

    expect(await idsOf({ variantId: v1 })).toEqual([a6, a4, a2, a1]);
    expect(await idsOf({ variantId: v2 })).toEqual([a5, a3]);
    expect(await idsOf({ warehouseId: w2.id })).toEqual([a6, a2]);
    expect(await idsOf({ warehouseId: w1.id })).toEqual([a5, a4, a3, a1]);
    expect(await idsOf({ variantId: v1, warehouseId: w1.id })).toEqual([a4, a1]);
    expect(await idsOf({ warehouseId: w1.id, reason: 'DAMAGED' })).toEqual([a5, a4]);
    expect(await idsOf({ variantId: v1, reason: 'RETURNED' })).toEqual([a6]);
    expect(await idsOf({ variantId: v2, reason: 'RETURNED' })).toEqual([]);
    expect(await idsOf({ warehouseId: w1.id, from: '2020-01-03T00:00:00Z' })).toEqual([a5, a4, a3]);
    expect(await idsOf({ warehouseId: w1.id, to: '2020-01-04T00:00:00Z' })).toEqual([a3, a1]);
    expect(await idsOf({ variantId: v1, from: '2020-01-02T00:00:00Z', to: '2020-01-06T00:00:00Z' })).toEqual([a4, a2]);
    expect(await idsOf({ variantId: v1, from: '2020-01-07T00:00:00Z' })).toEqual([]);

    // Other orders and pagination.
    expect(await idsOf({ variantId: v1 }, { orderBy: [{ field: 'CREATED_AT', direction: 'ASC' }] })).toEqual([
      a1,
      a2,
      a4,
      a6,
    ]);
    expect(await idsOf({ warehouseId: w1.id }, { orderBy: [{ field: 'DELTA', direction: 'ASC' }] })).toEqual([
      a5,
      a4,
      a3,
      a1,
    ]);
    expect(await idsOf({ warehouseId: w1.id }, { orderBy: [{ field: 'DELTA', direction: 'DESC' }] })).toEqual([
      a1,
      a3,
      a4,
      a5,
    ]);
    const page2 = await ledger({ filter: { variantId: v1 }, limit: 3, page: 2 });
    expect(page2.items.map((a) => a.id)).toEqual([a1]);
    expect(page2.pageInfo).toEqual({ page: 2, limit: 3, totalCount: 4, hasNextPage: false });
  });

  it('rejects limit 1001 and a malformed filter id', async () => {
    const res = await gql(t.url, ADJUSTMENTS, { limit: 1001 });
    expect(firstError(res).extensions.fields).toEqual({ limit: ['limit must be at most 1000'] });
    const bad = await gql(t.url, ADJUSTMENTS, { filter: { variantId: 'nope' } });
    expect(firstError(bad).extensions.code).toBe('VALIDATION_ERROR');
  });
});

describe('stockLevels', () => {
  /** Four variants in a fresh warehouse with 8, 3, 15 and 0 units and known update times. */
  async function stocked() {
    const f = await fixture(4);
    const [v1, v2, v3, v4] = f.variantIds as [string, string, string, string];
    const quantities: [string, number, string][] = [
      [v1, 8, '2021-01-02T00:00:00.000Z'],
      [v2, 3, '2021-01-04T00:00:00.000Z'],
      [v3, 15, '2021-01-01T00:00:00.000Z'],
      [v4, 0, '2021-01-03T00:00:00.000Z'],
    ];
    const levelIds: Record<string, string> = {};
    for (const [variantId, quantity, updatedAt] of quantities) {
      const level = await adjust({ variantId, warehouseId: f.warehouse.id, delta: quantity || 2 });
      if (quantity === 0) await adjust({ variantId, warehouseId: f.warehouse.id, delta: -2, reason: 'DAMAGED' });
      await t.database.prisma.inventoryLevel.update({
        where: { id: level.id },
        data: { updatedAt: new Date(updatedAt) },
      });
      levelIds[variantId] = level.id;
    }
    const rows = await t.database.prisma.inventoryLevel.findMany({ where: { warehouseId: f.warehouse.id } });
    expect(rows.map((r) => [r.quantity, r.updatedAt.toISOString()]).sort()).toEqual(
      quantities.map(([, q, at]) => [q, at]).sort(),
    );
    return { ...f, v1, v2, v3, v4, levelIds };
  }

  it('filters by warehouse, variant and below (strictly fewer units than)', async () => {
    const { warehouse, v1, v2, v3, v4, levelIds } = await stocked();
    const idsOf = async (filter: Record<string, unknown>) => (await levels({ filter })).items.map((l) => l.id);

    expect(await idsOf({ warehouseId: warehouse.id })).toEqual([v4, v2, v1, v3].map((v) => levelIds[v]));
    expect(await idsOf({ warehouseId: warehouse.id, below: 8 })).toEqual([v4, v2].map((v) => levelIds[v]));
    expect(await idsOf({ warehouseId: warehouse.id, below: 9 })).toEqual([v4, v2, v1].map((v) => levelIds[v]));
    expect(await idsOf({ warehouseId: warehouse.id, below: 1 })).toEqual([levelIds[v4]]);
    expect(await idsOf({ warehouseId: warehouse.id, below: 0 })).toEqual([]);
    expect(await idsOf({ variantId: v3 })).toEqual([levelIds[v3]]);
    expect(await idsOf({ variantId: v3, below: 15 })).toEqual([]);
    expect(await idsOf({ variantId: v3, warehouseId: warehouse.id })).toEqual([levelIds[v3]]);

    const other = await createWarehouse(`WH-${tagged()}`);
    expect(await idsOf({ warehouseId: other.id })).toEqual([]);
    expect(await idsOf({ variantId: v3, warehouseId: other.id })).toEqual([]);

    const negative = await gql(t.url, LEVELS, { filter: { below: -1 } });
    expect(fieldKeys(negative)).toEqual(['filter.below']);
  });

  it('sorts by QUANTITY and UPDATED_AT in both directions; fewest first by default; paginates', async () => {
    const { warehouse, v1, v2, v3, v4, levelIds } = await stocked();
    const filter = { warehouseId: warehouse.id };
    const idsOf = async (orderBy?: unknown) => (await levels({ filter, orderBy })).items.map((l) => l.id);
    const byQuantity = [v4, v2, v1, v3].map((v) => levelIds[v]);
    const byUpdatedAt = [v3, v1, v4, v2].map((v) => levelIds[v]);

    expect(await idsOf()).toEqual(byQuantity);
    expect(await idsOf([{ field: 'QUANTITY', direction: 'ASC' }])).toEqual(byQuantity);
    expect(await idsOf([{ field: 'QUANTITY', direction: 'DESC' }])).toEqual([...byQuantity].reverse());
    expect(await idsOf([{ field: 'UPDATED_AT', direction: 'ASC' }])).toEqual(byUpdatedAt);
    expect(await idsOf([{ field: 'UPDATED_AT', direction: 'DESC' }])).toEqual([...byUpdatedAt].reverse());

    const page = await levels({ filter, limit: 3, page: 1, orderBy: [{ field: 'QUANTITY', direction: 'DESC' }] });
    expect(page.items.map((l) => l.quantity)).toEqual([15, 8, 3]);
    expect(page.pageInfo).toEqual({ page: 1, limit: 3, totalCount: 4, hasNextPage: true });
    const last = await levels({ filter, limit: 3, page: 2, orderBy: [{ field: 'QUANTITY', direction: 'DESC' }] });
    expect(last.items.map((l) => l.quantity)).toEqual([0]);
    expect(last.pageInfo.hasNextPage).toBe(false);
    const beyond = await levels({ filter, limit: 3, page: 3 });
    expect(beyond.items).toEqual([]);
    expect(beyond.pageInfo).toEqual({ page: 3, limit: 3, totalCount: 4, hasNextPage: false });

    const unknown = await gql(t.url, `{ stockLevels(orderBy: [{ field: SKU }]) { pageInfo { totalCount } } }`);
    expect(firstError(unknown).extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const variable = await gql(t.url, LEVELS, { orderBy: [{ field: 'variant_id' }] });
    expect(firstError(variable).extensions.code).toBe('VALIDATION_ERROR');
    const tooBig = await gql(t.url, LEVELS, { limit: 1001 });
    expect(firstError(tooBig).extensions.fields).toEqual({ limit: ['limit must be at most 1000'] });
  });

  it('resolves the nested variant (with its product) and warehouse of each level', async () => {
    const { warehouse, product, v2 } = await stocked();
    const page = await levels({ filter: { warehouseId: warehouse.id }, limit: 2 });
    const variant = product.variants.find((v) => v.id === v2)!;
    expect(page.items[1]).toMatchObject({
      quantity: 3,
      variant: { id: v2, sku: variant.sku, name: variant.name, product: { id: product.id, sku: product.sku } },
      warehouse: { id: warehouse.id, code: warehouse.code, name: warehouse.name },
    });
    for (const item of page.items) expect(item.variant.product.name).toBe(product.name);

    const low = await op(t.url, LowStockDocument, { below: 10, warehouseId: warehouse.id });
    expect(low.body.errors).toBeUndefined();
    expect(low.body.data?.stockLevels.pageInfo).toEqual({ totalCount: 3, hasNextPage: false });
    expect(low.body.data?.stockLevels.items.map((l) => [l.quantity, l.variant.product.name, l.warehouse.code])).toEqual(
      [
        [0, product.name, warehouse.code],
        [3, product.name, warehouse.code],
        [8, product.name, warehouse.code],
      ],
    );
  });

  it('variant.stockLevels lists the stock of a variant in each warehouse that holds it', async () => {
    const { warehouse: w1, product, variantIds } = await fixture(2);
    const [v1, v2] = variantIds as [string, string];
    const w2 = await createWarehouse(`WH-${tagged()}`);
    const l1 = await adjust({ variantId: v1, warehouseId: w1.id, delta: 4 });
    const l2 = await adjust({ variantId: v1, warehouseId: w2.id, delta: 9 });

    const res = await gql<{
      variant: {
        id: string;
        stockLevels: { id: string; quantity: number; variant: { id: string }; warehouse: unknown }[];
      };
    }>(t.url, VARIANT_LEVELS, { id: v1 });
    expect(res.body.errors).toBeUndefined();
    const expected = [
      { id: l1.id, quantity: 4, variant: { id: v1 }, warehouse: { id: w1.id, code: w1.code } },
      { id: l2.id, quantity: 9, variant: { id: v1 }, warehouse: { id: w2.id, code: w2.code } },
    ];
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect([...res.body.data!.variant.stockLevels].sort(byId)).toEqual(expected.sort(byId));

    const none = await gql<{ variant: { stockLevels: unknown[] } }>(t.url, VARIANT_LEVELS, { id: v2 });
    expect(none.body.data?.variant.stockLevels).toEqual([]);

    const detail = await op(t.url, ProductDetailDocument, { sku: product.sku });
    const [d1, d2] = detail.body.data!.productBySku!.variants;
    expect(d1?.stockLevels.map((l) => l.quantity).sort((a, b) => a - b)).toEqual([4, 9]);
    expect(d2?.stockLevels).toEqual([]);
  });
});

describe('concurrent adjustments (no lost updates, never negative)', () => {
  it('20 parallel removals of 1 from 10 units: exactly 10 succeed, 10 get INSUFFICIENT_STOCK, ending at 0', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    await adjust({ variantId, warehouseId: warehouse.id, delta: 10 });

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        adjustRaw({ variantId, warehouseId: warehouse.id, delta: -1, reason: 'DAMAGED', note: `take ${i}` }),
      ),
    );
    const succeeded = results.filter((r) => !r.body.errors);
    const failed = results.filter((r) => r.body.errors);
    expect(succeeded).toHaveLength(10);
    expect(failed).toHaveLength(10);
    for (const r of failed) {
      expect(r.body.errors).toHaveLength(1);
      expect(r.body.errors?.[0]?.extensions).toMatchObject({
        code: 'INSUFFICIENT_STOCK',
        variantId,
        requested: 1,
        available: 0,
      });
    }
    // Each success saw a distinct remaining quantity: 9, 8, ..., 0.
    expect(succeeded.map((r) => r.body.data!.adjustStock.quantity).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
    expect((await stockRow(variantId, warehouse.id))?.quantity).toBe(0);
    const removals = await t.database.prisma.stockAdjustment.findMany({ where: { variantId, reason: 'DAMAGED' } });
    expect(removals).toHaveLength(10);
    expect(removals.every((a) => a.delta === -1)).toBe(true);
  });

  it('20 parallel additions of 1 on a fresh row end at exactly 20', async () => {
    const { warehouse, variantIds } = await fixture();
    const [variantId] = variantIds as [string];
    const results = await Promise.all(
      Array.from({ length: 20 }, () => adjustRaw({ variantId, warehouseId: warehouse.id, delta: 1 })),
    );
    for (const r of results) expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
    expect(results.map((r) => r.body.data!.adjustStock.quantity).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect((await stockRow(variantId, warehouse.id))?.quantity).toBe(20);
    expect(await t.database.prisma.inventoryLevel.count({ where: { variantId } })).toBe(1);
    expect(await adjustmentCount(variantId)).toBe(20);
  });
});

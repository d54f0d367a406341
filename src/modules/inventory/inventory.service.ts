import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import type { StockAdjustmentReason } from '../../generated/prisma/enums.js';
import { ConflictError, InsufficientStockError, NotFoundError } from '../../errors/index.js';
import { skipTake, SortDirection, toPage, toPrismaOrderBy } from '../../graphql/pagination.js';
import type { PrismaTx } from '../../platform/db/index.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type {
  AdjustStockInput,
  CreateWarehouseInput,
  ListStockAdjustmentsArgs,
  ListStockLevelsArgs,
} from './inventory.inputs.js';
import {
  STOCK_ADJUSTMENT_ORDER_COLUMNS,
  STOCK_LEVEL_ORDER_COLUMNS,
  StockAdjustmentOrderField,
  StockLevelOrderField,
} from './inventory.types.js';

type Ctx = Pick<ServiceContext, 'prisma' | 'runInTransaction' | 'signal' | 'actor'>;

export function listWarehouses(ctx: Pick<Ctx, 'prisma'>) {
  return ctx.prisma.warehouse.findMany({ orderBy: { code: 'asc' } });
}

export async function createWarehouse(ctx: Ctx, input: CreateWarehouseInput) {
  if (await ctx.prisma.warehouse.findUnique({ where: { code: input.code }, select: { id: true } })) {
    throw new ConflictError('code', `A warehouse with code ${input.code} already exists.`);
  }
  return ctx.prisma.warehouse.create({ data: { code: input.code, name: input.name } });
}

export async function listStockLevels(ctx: Ctx, args: ListStockLevelsArgs) {
  const f = args.filter;
  const where: PrismaTypes.InventoryLevelWhereInput = {
    ...(f?.variantId ? { variantId: f.variantId } : {}),
    ...(f?.warehouseId ? { warehouseId: f.warehouseId } : {}),
    ...(f?.below != null ? { quantity: { lt: f.below } } : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, STOCK_LEVEL_ORDER_COLUMNS, {
    field: StockLevelOrderField.QUANTITY,
    direction: SortDirection.ASC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.inventoryLevel.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.inventoryLevel.count({ where }),
  ]);
  return toPage(items, total, args);
}

export async function listStockAdjustments(ctx: Ctx, args: ListStockAdjustmentsArgs) {
  const f = args.filter;
  const where: PrismaTypes.StockAdjustmentWhereInput = {
    ...(f?.variantId ? { variantId: f.variantId } : {}),
    ...(f?.warehouseId ? { warehouseId: f.warehouseId } : {}),
    ...(f?.reason ? { reason: f.reason } : {}),
    ...(f?.from || f?.to ? { createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, STOCK_ADJUSTMENT_ORDER_COLUMNS, {
    field: StockAdjustmentOrderField.CREATED_AT,
    direction: SortDirection.DESC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.stockAdjustment.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.stockAdjustment.count({ where }),
  ]);
  return toPage(items, total, args);
}

export interface StockChange {
  variantId: string;
  warehouseId: string;
  /** Units added (positive) or removed (negative). */
  delta: number;
}

export interface StockChangeOptions {
  reason: StockAdjustmentReason;
  note?: string;
  orderId?: string;
  actorId: string | null;
}

/**
 * Applies stock changes inside the caller's transaction without ever overselling (spec 004
 * section 8.3): the affected rows are locked in one statement, in a fixed order (so two
 * checkouts cannot deadlock on each other), checked, then updated; each change is recorded as
 * a StockAdjustment. Throws INSUFFICIENT_STOCK naming the first short variant and what is
 * available. The CHECK (quantity >= 0) constraint is the last line of defence.
 */
export async function applyStockChanges(tx: PrismaTx, changes: StockChange[], options: StockChangeOptions) {
  if (changes.length === 0) return [];
  // One row per variant and warehouse: duplicates are summed, so the check and the update agree.
  const merged = new Map<string, StockChange>();
  for (const change of changes) {
    const key = `${change.variantId}/${change.warehouseId}`;
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, delta: seen.delta + change.delta } : { ...change });
  }
  const sorted = [...merged.values()].sort((a, b) =>
    a.variantId === b.variantId ? a.warehouseId.localeCompare(b.warehouseId) : a.variantId.localeCompare(b.variantId),
  );
  // Rows that do not exist yet start at zero (receiving stock into a new warehouse).
  await tx.$executeRaw`
    INSERT INTO inventory_levels (id, variant_id, warehouse_id, quantity, updated_at)
    SELECT gen_random_uuid(), c.variant_id, c.warehouse_id, 0, now()
      FROM unnest(${sorted.map((c) => c.variantId)}::uuid[], ${sorted.map((c) => c.warehouseId)}::uuid[]) AS c(variant_id, warehouse_id)
    ON CONFLICT (variant_id, warehouse_id) DO NOTHING`;
  const locked = await tx.$queryRaw<{ variant_id: string; warehouse_id: string; quantity: number }[]>`
    SELECT variant_id, warehouse_id, quantity FROM inventory_levels
     WHERE (variant_id, warehouse_id) IN (
       SELECT * FROM unnest(${sorted.map((c) => c.variantId)}::uuid[], ${sorted.map((c) => c.warehouseId)}::uuid[]))
     ORDER BY variant_id, warehouse_id
       FOR UPDATE`;
  const available = new Map(locked.map((row) => [`${row.variant_id}/${row.warehouse_id}`, row.quantity]));
  for (const change of sorted) {
    const have = available.get(`${change.variantId}/${change.warehouseId}`) ?? 0;
    if (have + change.delta < 0) throw new InsufficientStockError(change.variantId, -change.delta, have);
    available.set(`${change.variantId}/${change.warehouseId}`, have + change.delta);
  }
  await tx.$executeRaw`
    UPDATE inventory_levels AS l SET quantity = l.quantity + c.delta, updated_at = now()
      FROM unnest(${sorted.map((c) => c.variantId)}::uuid[], ${sorted.map((c) => c.warehouseId)}::uuid[], ${sorted.map((c) => c.delta)}::int[])
           AS c(variant_id, warehouse_id, delta)
     WHERE l.variant_id = c.variant_id AND l.warehouse_id = c.warehouse_id`;
  await tx.stockAdjustment.createMany({
    data: sorted.map((c) => ({
      variantId: c.variantId,
      warehouseId: c.warehouseId,
      delta: c.delta,
      reason: options.reason,
      note: options.note ?? '',
      orderId: options.orderId ?? null,
      createdById: options.actorId,
    })),
  });
  return sorted.map((c) => ({ ...c, quantity: available.get(`${c.variantId}/${c.warehouseId}`) ?? 0 }));
}

export async function adjustStock(ctx: Ctx, input: AdjustStockInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const [variant, warehouse] = await Promise.all([
        tx.productVariant.findUnique({ where: { id: input.variantId }, select: { id: true } }),
        tx.warehouse.findUnique({ where: { id: input.warehouseId }, select: { id: true } }),
      ]);
      if (!variant) throw new NotFoundError('ProductVariant', input.variantId);
      if (!warehouse) throw new NotFoundError('Warehouse', input.warehouseId);
      await applyStockChanges(
        tx,
        [{ variantId: input.variantId, warehouseId: input.warehouseId, delta: input.delta }],
        {
          reason: input.reason,
          note: input.note,
          actorId: ctx.actor.userId,
        },
      );
      return tx.inventoryLevel.findUniqueOrThrow({
        where: { variantId_warehouseId: { variantId: input.variantId, warehouseId: input.warehouseId } },
      });
    },
    { signal: ctx.signal },
  );
}

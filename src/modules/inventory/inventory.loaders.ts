import DataLoader from 'dataloader';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys } from '../catalog/index.js';

type WarehouseRow = Awaited<ReturnType<Prisma['warehouse']['findUniqueOrThrow']>>;
type LevelRow = Awaited<ReturnType<Prisma['inventoryLevel']['findUniqueOrThrow']>>;

/** Per-request batch loaders of inventory (REQ 6.3). */
export function createInventoryLoaders(prisma: Prisma) {
  return {
    warehouseById: new DataLoader<string, WarehouseRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.warehouse.findMany({ where: { id: { in: [...ids] } } }), (w) => w.id),
    ),
    stockLevelsByVariantId: new DataLoader<string, LevelRow[]>(async (variantIds) =>
      loaderKeys.groupBy(
        variantIds,
        await prisma.inventoryLevel.findMany({
          where: { variantId: { in: [...variantIds] } },
          orderBy: { warehouseId: 'asc' },
        }),
        (l) => l.variantId,
      ),
    ),
  };
}

export type InventoryLoaders = ReturnType<typeof createInventoryLoaders>;

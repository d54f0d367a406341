import { PrimedLoader } from '../../graphql/primed-loader.js';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys, type LevelRow, type WarehouseRow } from '../catalog/index.js';

/** Per-request batch loaders of inventory (REQ 6.3); the catalog page's statement primes both. */
export function createInventoryLoaders(prisma: Prisma) {
  return {
    warehouseById: new PrimedLoader<string, WarehouseRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.warehouse.findMany({ where: { id: { in: [...ids] } } }), (w) => w.id),
    ),
    stockLevelsByVariantId: new PrimedLoader<string, LevelRow[]>(async (variantIds) =>
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

import { PrimedLoader } from '../../graphql/primed-loader.js';
import type { Prisma } from '../../platform/db/index.js';
import type { ProductRow, VariantRow } from './catalog-page.js';

function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}

function groupBy<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): V[][] {
  const map = new Map<K, V[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const list = map.get(key);
    if (list) list.push(row);
    else map.set(key, [row]);
  }
  return keys.map((key) => map.get(key) ?? []);
}

export const loaderKeys = { byKey, groupBy };

/** Per-request batch loaders of the catalog (REQ 6.3): one statement per level, whatever N is. */
export function createCatalogLoaders(prisma: Prisma) {
  return {
    // Primed by the order history's and the catalog page's statements; `loadNow` answers those at once.
    productById: new PrimedLoader<string, ProductRow | null>(async (ids) =>
      byKey(ids, await prisma.product.findMany({ where: { id: { in: [...ids] } } }), (p) => p.id),
    ),
    variantById: new PrimedLoader<string, VariantRow | null>(async (ids) =>
      byKey(ids, await prisma.productVariant.findMany({ where: { id: { in: [...ids] } } }), (v) => v.id),
    ),
    // Primed by the catalog page's statement.
    variantsByProductId: new PrimedLoader<string, VariantRow[]>(async (productIds) =>
      groupBy(
        productIds,
        await prisma.productVariant.findMany({
          where: { productId: { in: [...productIds] } },
          orderBy: [{ sku: 'asc' }],
        }),
        (v) => v.productId,
      ),
    ),
  };
}

export type CatalogLoaders = ReturnType<typeof createCatalogLoaders>;

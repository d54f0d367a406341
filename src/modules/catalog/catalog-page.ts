import { Decimal, empty, join, raw, sql, type Sql } from '../../generated/prisma/internal/prismaNamespace.js';
import { containsText, skipTake, SortDirection, toPrismaOrderBy } from '../../graphql/pagination.js';
import type { Prisma } from '../../platform/db/index.js';
import type { ListProductsArgs } from './catalog.inputs.js';
import { PRODUCT_ORDER_COLUMNS, ProductOrderField } from './catalog.types.js';

export type ProductRow = Awaited<ReturnType<Prisma['product']['findUniqueOrThrow']>>;
export type VariantRow = Awaited<ReturnType<Prisma['productVariant']['findUniqueOrThrow']>>;
export type LevelRow = Awaited<ReturnType<Prisma['inventoryLevel']['findUniqueOrThrow']>>;
export type WarehouseRow = Awaited<ReturnType<Prisma['warehouse']['findUniqueOrThrow']>>;

/** What a `products` query asks for below the products themselves. */
export interface ProductPageShape {
  variants: boolean;
  /** Each variant's stock levels (only with `variants`). */
  stockLevels: boolean;
  /** Each stock level's warehouse (only with `stockLevels`). */
  warehouses: boolean;
}

/** A page of products and, as asked for, their variants, stock levels and warehouses. */
export interface ProductPageRows {
  items: ProductRow[];
  totalCount: number;
  variantsByProductId?: Map<string, VariantRow[]>;
  stockLevelsByVariantId?: Map<string, LevelRow[]>;
  warehouses?: WarehouseRow[];
}

/** The sort keys (whitelisted columns, REQ 2.2) with the id last to break ties, so pages are stable. */
export function orderByClause(orderBy: ListProductsArgs['orderBy']): Sql {
  const keys = toPrismaOrderBy(
    orderBy,
    PRODUCT_ORDER_COLUMNS,
    { field: ProductOrderField.CREATED_AT, direction: SortDirection.DESC },
    { id: SortDirection.ASC },
  );
  return join(
    keys.flatMap((key) =>
      Object.entries(key).map(([column, direction]) =>
        raw(`p.${column} ${direction === SortDirection.ASC ? 'ASC' : 'DESC'}`),
      ),
    ),
    ', ',
  );
}

/** The filter's conditions (`WHERE …` over products `p`), or nothing. */
export function whereClause(filter: ListProductsArgs['filter']): Sql {
  const conditions: Sql[] = [];
  if (filter?.status) conditions.push(sql`p.status = ${filter.status}::"ProductStatus"`);
  if (filter?.search) {
    const pattern = `%${containsText(filter.search).contains}%`;
    conditions.push(sql`(p.name ILIKE ${pattern} OR p.sku ILIKE ${pattern})`);
  }
  if (filter?.createdFrom) conditions.push(sql`p.created_at >= ${filter.createdFrom.toISOString()}::timestamptz`);
  if (filter?.createdTo) conditions.push(sql`p.created_at < ${filter.createdTo.toISOString()}::timestamptz`);
  return conditions.length > 0 ? sql`WHERE ${join(conditions, ' AND ')}` : empty;
}

// Rows nested as JSON come back as JSON values: money as text (never a float), times as ISO text.
interface ProductJson extends Omit<ProductRow, 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
  variants: VariantJson[] | null;
}
interface VariantJson extends Omit<VariantRow, 'price' | 'createdAt' | 'updatedAt'> {
  price: string;
  createdAt: string;
  updatedAt: string;
  stockLevels: LevelJson[] | null;
}
interface LevelJson extends Omit<LevelRow, 'updatedAt'> {
  updatedAt: string;
  warehouse: (Omit<WarehouseRow, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string }) | null;
}

/**
 * One page of products, its total count and, when the query asks for them, the products'
 * variants with their stock levels and warehouses, in ONE statement: Postgres nests the children
 * as JSON, where the loaders would take a statement per level (5 in all) and Prisma's model
 * queries would map every row. Sorting, filtering and paging are those of the Prisma query this
 * replaces (`test/properties/catalog-page.property.test.ts` holds the two to each other).
 */
export async function loadProductPage(
  prisma: Prisma,
  args: ListProductsArgs,
  shape: ProductPageShape,
): Promise<ProductPageRows> {
  const where = whereClause(args.filter);
  const orderBy = orderByClause(args.orderBy);
  const { skip, take } = skipTake(args);
  const variants = shape.variants;
  const stockLevels = variants && shape.stockLevels;
  const warehouses = stockLevels && shape.warehouses;
  const [record] = await prisma.$queryRaw<{ totalCount: number; items: ProductJson[] }[]>`
    SELECT (SELECT count(*)::int FROM products p ${where}) AS "totalCount",
           (SELECT coalesce(json_agg(json_build_object(
                     'id', p.id, 'sku', p.sku, 'name', p.name, 'description', p.description, 'status', p.status,
                     'createdAt', p.created_at, 'updatedAt', p.updated_at,
                     'variants', CASE WHEN ${variants}::boolean THEN (
                       SELECT coalesce(json_agg(json_build_object(
                                'id', v.id, 'productId', v.product_id, 'sku', v.sku, 'name', v.name,
                                'price', v.price::text, 'currency', v.currency, 'attributes', v.attributes,
                                'isActive', v.is_active, 'createdAt', v.created_at, 'updatedAt', v.updated_at,
                                'stockLevels', CASE WHEN ${stockLevels}::boolean THEN (
                                  SELECT coalesce(json_agg(json_build_object(
                                           'id', l.id, 'variantId', l.variant_id, 'warehouseId', l.warehouse_id,
                                           'quantity', l.quantity, 'updatedAt', l.updated_at,
                                           'warehouse', CASE WHEN ${warehouses}::boolean THEN json_build_object(
                                             'id', w.id, 'code', w.code, 'name', w.name,
                                             'createdAt', w.created_at, 'updatedAt', w.updated_at) END
                                         ) ORDER BY l.warehouse_id), '[]')
                                    FROM inventory_levels l
                                    JOIN warehouses w ON w.id = l.warehouse_id
                                   WHERE l.variant_id = v.id) END
                              ) ORDER BY v.sku), '[]')
                         FROM product_variants v
                        WHERE v.product_id = p.id) END
                   ) ORDER BY p.position), '[]')
              FROM (SELECT p.*, row_number() OVER (ORDER BY ${orderBy}) AS position
                      FROM products p ${where}
                     ORDER BY ${orderBy}
                     LIMIT ${take}::int OFFSET ${skip}::int) p) AS items`;
  const page = record!;
  const items: ProductRow[] = [];
  const variantsByProductId = variants ? new Map<string, VariantRow[]>() : undefined;
  const stockLevelsByVariantId = stockLevels ? new Map<string, LevelRow[]>() : undefined;
  const warehouseById = warehouses ? new Map<string, WarehouseRow>() : undefined;
  for (const { variants: variantJson, ...product } of page.items) {
    items.push({ ...product, createdAt: new Date(product.createdAt), updatedAt: new Date(product.updatedAt) });
    variantsByProductId?.set(
      product.id,
      (variantJson ?? []).map(({ stockLevels: levelJson, ...variant }) => {
        stockLevelsByVariantId?.set(
          variant.id,
          (levelJson ?? []).map(({ warehouse, ...level }) => {
            if (warehouse && !warehouseById!.has(warehouse.id)) {
              warehouseById!.set(warehouse.id, {
                ...warehouse,
                createdAt: new Date(warehouse.createdAt),
                updatedAt: new Date(warehouse.updatedAt),
              });
            }
            return { ...level, updatedAt: new Date(level.updatedAt) };
          }),
        );
        return {
          ...variant,
          price: new Decimal(variant.price),
          createdAt: new Date(variant.createdAt),
          updatedAt: new Date(variant.updatedAt),
        };
      }),
    );
  }
  return {
    items,
    totalCount: page.totalCount,
    variantsByProductId,
    stockLevelsByVariantId,
    warehouses: warehouseById ? [...warehouseById.values()] : undefined,
  };
}

import {
  column,
  computed,
  embed,
  money,
  referenced,
  referencing,
  timestamp,
  type Projections,
} from '../../graphql/projections.js';
import { skipTake } from '../../graphql/pagination.js';
import { orderByClause, whereClause } from './catalog-page.js';
import { ListProductsArgs, ProductBySkuArgs, ProductIdArgs, VariantIdArgs } from './catalog.inputs.js';

/**
 * The catalog as compiled reads read it (src/graphql/compiled-reads.ts): products, variants by
 * SKU (`variantsByProductId`), stock levels by warehouse (`stockLevelsByVariantId`), warehouses,
 * and the `products` page with the filter, order and paging of `loadProductPage`. A variant's
 * stock levels record that the answer shows its stock (ADR 0007), as the resolver does.
 */
export const catalogProjections: Projections = {
  types: {
    Product: {
      id: column('id'),
      sku: column('sku'),
      name: column('name'),
      description: column('description'),
      status: column('status'),
      createdAt: timestamp('created_at'),
      updatedAt: timestamp('updated_at'),
      variants: referencing('product_variants', 'product_id', ['sku']),
    },
    ProductVariant: {
      id: column('id'),
      sku: column('sku'),
      name: column('name'),
      price: money('price'),
      currency: column('currency'),
      attributes: column('attributes'),
      isActive: column('is_active'),
      createdAt: timestamp('created_at'),
      product: referenced('products', 'product_id'),
      stockLevels: {
        ...referencing('inventory_levels', 'variant_id', ['warehouse_id']),
        stockOf: (row) => `${row}.id`,
      },
    },
    StockLevel: {
      id: column('id'),
      quantity: column('quantity'),
      updatedAt: timestamp('updated_at'),
      variant: referenced('product_variants', 'variant_id'),
      warehouse: referenced('warehouses', 'warehouse_id'),
    },
    Warehouse: {
      id: column('id'),
      code: column('code'),
      name: column('name'),
      createdAt: timestamp('created_at'),
    },
  },
  roots: {
    product: {
      args: ProductIdArgs,
      read: (alias, { id }, bind) => ({ from: `FROM products ${alias} WHERE ${alias}.id = ${bind(id, 'uuid')}` }),
    },
    productBySku: {
      args: ProductBySkuArgs,
      read: (alias, { sku }, bind) => ({ from: `FROM products ${alias} WHERE ${alias}.sku = ${bind(sku, 'text')}` }),
    },
    variant: {
      args: VariantIdArgs,
      read: (alias, { id }, bind) => ({
        from: `FROM product_variants ${alias} WHERE ${alias}.id = ${bind(id, 'uuid')}`,
      }),
    },
    // One page: its items in the order of the sort keys, its counts over the same filter. Values are
    // bound where they are used: Postgres refuses a parameter the statement does not reference.
    products: {
      args: ListProductsArgs,
      read: (_alias, args) => {
        const { filter, orderBy, page, limit } = args as unknown as ListProductsArgs;
        const { skip, take } = skipTake({ page, limit });
        return {
          from: '',
          types: {
            ProductPage: {
              items: {
                kind: 'list',
                from: (_row, alias, _args, bind) => {
                  const where = embed(whereClause(filter), bind);
                  const order = embed(orderByClause(orderBy), bind);
                  return `FROM (SELECT p.*, row_number() OVER (ORDER BY ${order}) AS position FROM products p ${where}
                                 ORDER BY ${order} LIMIT ${bind(take, 'int')} OFFSET ${bind(skip, 'int')}) ${alias}`;
                },
                orderBy: (alias) => `${alias}.position`,
              },
              pageInfo: {
                kind: 'object',
                from: (_row, alias, bind) =>
                  `FROM (SELECT count(*)::int AS total_count FROM products p ${embed(whereClause(filter), bind)}) ${alias}`,
              },
            },
            PageInfo: {
              page: computed((_row, bind) => bind(page, 'int')),
              limit: computed((_row, bind) => bind(limit, 'int')),
              totalCount: computed((row) => `${row}.total_count`),
              hasNextPage: computed(
                (row, bind) => `${bind(page, 'int')}::bigint * ${bind(limit, 'int')} < ${row}.total_count`,
              ),
            },
          },
        };
      },
    },
  },
};

import { column, money, timestamp, type Projections } from '../../graphql/projections.js';

/**
 * Products and variants as compiled reads read them (src/graphql/compiled-reads.ts), variants by
 * SKU as `variantsByProductId` loads them. Stock levels are left to their resolver: it records
 * which variants' stock a cached answer shows (ADR 0007).
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
      variants: {
        kind: 'list',
        from: (row, alias) => `FROM product_variants ${alias} WHERE ${alias}.product_id = ${row}.id`,
        orderBy: (alias) => `${alias}.sku`,
      },
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
      product: {
        kind: 'object',
        from: (row, alias) => `FROM products ${alias} WHERE ${alias}.id = ${row}.product_id`,
      },
    },
  },
  roots: {},
};

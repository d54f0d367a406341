import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { containsText, SortDirection, toPrismaOrderBy } from '../../src/graphql/pagination.js';
import { gql, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

// The catalog page is one hand-written statement (src/modules/catalog/catalog-page.ts). Prisma's
// own query with relation loading is the oracle: for any filter, sort, page and selection, the
// gateway's answer must be what Prisma reads, and cost one statement.

const RUNS = { numRuns: 100 };
/** The sort enum onto Prisma's field names: the oracle's own table, independent of the gateway's. */
const PRISMA_FIELDS = {
  NAME: 'name',
  SKU: 'sku',
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
  STATUS: 'status',
} as const;
type SortField = keyof typeof PRISMA_FIELDS;
const STATUSES = ['DRAFT', 'ACTIVE', 'ARCHIVED'] as const;
/** Names sharing words in different cases, and the characters ILIKE would treat as wildcards. */
const NAMES = [
  'Alpha bolt',
  'alpha BOLT',
  'Beta nut',
  'beta washer',
  '50% off bolt',
  'snake_case nut',
  'Gamma',
  'gamma',
];
const SEARCHES = ['bolt', 'ALPHA', 'nut', '%', '_', '50%', 'e_c', 'zzz-none', 'a'];

let t: TestApp;
let tag: string;
/** A window of creation times no other test writes into. */
let windowStart: number;

beforeAll(async () => {
  t = await startTestApp();
  tag = `cp${uniqueTag()}`;
  windowStart = Date.UTC(2003, 0, 1) + Math.floor(Math.random() * 1e10);
  const warehouses = await Promise.all(
    [1, 2].map((i) =>
      t.database.prisma.warehouse.create({ data: { code: `W${i}-${tag}`, name: `Catalog page ${i} ${tag}` } }),
    ),
  );
  for (let i = 0; i < 24; i += 1) {
    // Every third product shares its creation time with the one before: ties the id must break.
    const createdAt = new Date(windowStart + (i - (i % 3 === 2 ? 1 : 0)) * 60_000);
    const product = await t.database.prisma.product.create({
      data: {
        sku: `${tag}-p${String(i).padStart(2, '0')}`,
        name: `${NAMES[i % NAMES.length]} ${tag}`,
        description: i % 2 ? `About ${i}` : '',
        status: STATUSES[i % STATUSES.length],
        createdAt,
        variants: {
          create: Array.from({ length: i % 4 }, (_, v) => ({
            sku: `${tag}-p${String(i).padStart(2, '0')}-v${3 - v}`,
            name: `Variant ${v}`,
            price: `${i}.${v}5`,
            attributes: v % 2 ? { grade: 'A', size: v } : {},
            isActive: v !== 2,
          })),
        },
      },
      include: { variants: true },
    });
    for (const [v, variant] of product.variants.entries()) {
      const held = warehouses.slice(0, (i + v) % 3);
      if (held.length > 0) {
        await t.database.prisma.inventoryLevel.createMany({
          data: held.map((w, k) => ({ variantId: variant.id, warehouseId: w.id, quantity: i * 10 + v + k })),
        });
      }
    }
  }
  // Warm the caller's permission cache: authentication is not what this counts.
  await gql(t.url, '{ health { status } }');
});
afterAll(() => t.close());

interface Selection {
  variants: boolean;
  stockLevels: boolean;
  warehouse: boolean;
}

function documentFor(selection: Selection): string {
  const warehouse = selection.warehouse ? 'warehouse { id code name }' : '';
  const stockLevels = selection.stockLevels ? `stockLevels { quantity ${warehouse} }` : '';
  const variants = selection.variants
    ? `variants { id sku name price currency attributes isActive createdAt ${stockLevels} }`
    : '';
  return `query ($filter: ProductFilter, $page: Int, $limit: Int, $orderBy: [ProductOrderBy!]) {
    products(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) {
      items { id sku name description status createdAt updatedAt ${variants} }
      pageInfo { page limit totalCount hasNextPage }
    }
  }`;
}

interface Filter {
  status?: (typeof STATUSES)[number];
  search?: string;
  createdFrom?: Date;
  createdTo?: Date;
}

const filterArb = fc.oneof(
  // Inside the window, optionally by status and text.
  fc
    .record({
      from: fc.integer({ min: -5, max: 30 }),
      span: fc.integer({ min: 0, max: 30 }),
      status: fc.option(fc.constantFrom(...STATUSES), { nil: undefined }),
      search: fc.option(fc.constantFrom(...SEARCHES), { nil: undefined }),
    })
    .map(({ from, span, status, search }): Filter => ({
      createdFrom: new Date(windowStart + from * 60_000),
      createdTo: new Date(windowStart + (from + span) * 60_000),
      status,
      search,
    })),
  // By the run's tag (only its products have it), optionally with one bound.
  fc
    .record({
      status: fc.option(fc.constantFrom(...STATUSES), { nil: undefined }),
      bound: fc.option(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 24 })), { nil: undefined }),
      upper: fc.boolean(),
    })
    .map(({ status, bound }): Filter => {
      const filter: Filter = { search: tag.toUpperCase(), status };
      if (bound) {
        const at = new Date(windowStart + bound[1] * 60_000);
        if (bound[0]) filter.createdFrom = at;
        else filter.createdTo = at;
      }
      return filter;
    }),
);

const orderByArb = fc.array(
  fc.record({
    field: fc.constantFrom(...(Object.keys(PRISMA_FIELDS) as SortField[])),
    direction: fc.constantFrom(SortDirection.ASC, SortDirection.DESC),
  }),
  { maxLength: 3 },
);

async function oracle(
  filter: Filter,
  orderBy: { field: SortField; direction: SortDirection }[],
  page: number,
  limit: number,
) {
  const where: Prisma.ProductWhereInput = {
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.search ? { OR: [{ name: containsText(filter.search) }, { sku: containsText(filter.search) }] } : {}),
    ...(filter.createdFrom || filter.createdTo
      ? {
          createdAt: {
            ...(filter.createdFrom ? { gte: filter.createdFrom } : {}),
            ...(filter.createdTo ? { lt: filter.createdTo } : {}),
          },
        }
      : {}),
  };
  const [rows, totalCount] = await Promise.all([
    t.database.prisma.product.findMany({
      where,
      orderBy: toPrismaOrderBy(orderBy, PRISMA_FIELDS, { field: 'CREATED_AT', direction: SortDirection.DESC }),
      skip: (page - 1) * limit,
      take: limit,
      include: {
        variants: {
          orderBy: { sku: 'asc' },
          include: { stockLevels: { orderBy: { warehouseId: 'asc' }, include: { warehouse: true } } },
        },
      },
    }),
    t.database.prisma.product.count({ where }),
  ]);
  return { rows, totalCount };
}

describe('the catalog page in one statement', () => {
  it('answers what Prisma reads for any filter, sort, page and selection, in exactly one statement', async () => {
    await fc.assert(
      fc.asyncProperty(
        filterArb,
        orderByArb,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 10 }),
        fc.record({ variants: fc.boolean(), stockLevels: fc.boolean(), warehouse: fc.boolean() }),
        async (filter, orderBy, page, limit, selection) => {
          const { rows, totalCount } = await oracle(filter, orderBy, page, limit);
          const expected = {
            items: rows.map((product) => ({
              id: product.id,
              sku: product.sku,
              name: product.name,
              description: product.description,
              status: product.status,
              createdAt: product.createdAt.toISOString(),
              updatedAt: product.updatedAt.toISOString(),
              ...(selection.variants
                ? {
                    variants: product.variants.map((variant) => ({
                      id: variant.id,
                      sku: variant.sku,
                      name: variant.name,
                      price: variant.price.toFixed(2),
                      currency: variant.currency,
                      attributes: variant.attributes,
                      isActive: variant.isActive,
                      createdAt: variant.createdAt.toISOString(),
                      ...(selection.stockLevels
                        ? {
                            stockLevels: variant.stockLevels.map((level) => ({
                              quantity: level.quantity,
                              ...(selection.warehouse
                                ? {
                                    warehouse: {
                                      id: level.warehouse.id,
                                      code: level.warehouse.code,
                                      name: level.warehouse.name,
                                    },
                                  }
                                : {}),
                            })),
                          }
                        : {}),
                    })),
                  }
                : {}),
            })),
            pageInfo: { page, limit, totalCount, hasNextPage: page * limit < totalCount },
          };

          let statements = 0;
          const stop = t.database.onStatement(() => (statements += 1));
          const res = await gql<{ products: unknown }>(t.url, documentFor(selection), {
            filter: {
              ...filter,
              createdFrom: filter.createdFrom?.toISOString(),
              createdTo: filter.createdTo?.toISOString(),
            },
            // The GraphQL enum values are the upper-case names.
            orderBy: orderBy.map(({ field, direction }) => ({ field, direction: direction.toUpperCase() })),
            page,
            limit,
          });
          stop();
          expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
          expect(res.body.data?.products).toEqual(expected);
          expect(statements).toBe(1);
        },
      ),
      RUNS,
    );
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.js';
import { SortDirection, toPrismaOrderBy } from '../../src/graphql/pagination.js';
import { CheckoutDocument } from '../../schema/generated/operations.js';
import { gql, op, seedFixture, startTestApp, type TestApp } from '../helpers/kit.js';

const RUNS = { numRuns: 100 };
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // Warm the caller's permission cache: authentication is not what these tests count.
  await gql(t.url, '{ health { status } }');
});
afterAll(() => t.close());

/** Sends a request and counts the SQL statements the gateway ran while answering it. */
async function countingStatements<T>(send: () => Promise<T>): Promise<{ result: T; statements: number }> {
  let statements = 0;
  const stop = t.database.onStatement(() => (statements += 1));
  try {
    const result = await send();
    return { result, statements };
  } finally {
    stop();
  }
}

const UUID = '6f1c1f8e-8a3b-4c55-9d1e-0b8f3a1c2d4e';
const controlChar = fc
  .integer({ min: 0, max: 31 })
  .filter((c) => c !== 9 && c !== 10 && c !== 13)
  .map((c) => String.fromCharCode(c));
const badText = fc.oneof(
  fc.constant(''),
  fc.constant('   '),
  fc.string({ minLength: 201, maxLength: 260 }),
  fc.tuple(fc.string({ maxLength: 10 }), controlChar, fc.string({ maxLength: 10 })).map(([a, c, b]) => `${a}${c}${b}`),
);
const badEmail = fc.oneof(
  fc.constant('not-an-email'),
  fc.constant('a@'),
  fc.string({ maxLength: 20 }).filter((s) => !s.includes('@')),
);
const badMoney = fc.constantFrom('1.999', '-5', 'abc', '1e3', '', '12.', '1234567890123.00');
const badQuantity = fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 10_001, max: 2 ** 31 - 1 }));
const badUuid = fc.oneof(
  fc.constant('123'),
  fc.string({ maxLength: 40 }).filter((s) => !/^[0-9a-f-]{36}$/i.test(s)),
);
const badSku = fc.oneof(fc.constant('has space'), fc.constant('-leading'), fc.string({ minLength: 65, maxLength: 80 }));

/** One invalid request: a mutation or query with at least one argument broken. */
const invalidRequest = fc.oneof(
  fc.record({ email: badEmail, name: fc.oneof(badText, fc.constant('Ok Name')) }).map((v) => ({
    query: 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }',
    variables: { input: v },
  })),
  fc.record({ email: fc.constant('valid@example.com'), name: badText }).map((v) => ({
    query: 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }',
    variables: { input: v },
  })),
  fc.record({ sku: badSku, name: fc.oneof(badText, fc.constant('Name')), price: badMoney }).map((v) => ({
    query: 'mutation ($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    variables: { input: { sku: v.sku, name: v.name, variants: [{ sku: 'OK-1', name: 'v', price: v.price }] } },
  })),
  fc.record({ quantity: badQuantity, cartId: fc.oneof(badUuid, fc.constant(UUID)) }).map((v) => ({
    query: 'mutation ($input: CartItemInput!) { addCartItem(input: $input) { id } }',
    variables: { input: { cartId: v.cartId, variantId: UUID, quantity: v.quantity } },
  })),
  fc
    .record({
      delta: fc.oneof(fc.constant(0), fc.integer({ min: 1_000_001 })),
      note: fc.oneof(badText, fc.constant('')),
    })
    .map((v) => ({
      query: 'mutation ($input: AdjustStockInput!) { adjustStock(input: $input) { quantity } }',
      variables: { input: { variantId: UUID, warehouseId: UUID, delta: v.delta, reason: 'RECEIVED', note: v.note } },
    })),
  fc.record({ reason: fc.constantFrom('ORDER_PLACED', 'ORDER_CANCELLED', 'STOLEN') }).map((v) => ({
    query: 'mutation ($input: AdjustStockInput!) { adjustStock(input: $input) { quantity } }',
    variables: { input: { variantId: UUID, warehouseId: UUID, delta: 5, reason: v.reason } },
  })),
  fc
    .record({
      page: fc.integer({ max: 0 }),
      limit: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 1001, max: 2 ** 31 - 1 })),
    })
    .map((v) => ({
      query: 'query ($page: Int!, $limit: Int!) { orders(page: $page, limit: $limit) { pageInfo { totalCount } } }',
      variables: v,
    })),
  fc.record({ amount: badMoney }).map((v) => ({
    query: 'mutation ($input: CreatePaymentInput!) { createPayment(input: $input) { id } }',
    variables: { input: { orderId: UUID, amount: v.amount, method: 'CARD' } },
  })),
);

describe('PROP 3 input validation consistency', () => {
  it('every invalid input is rejected with a structured validation error before any database statement', async () => {
    await fc.assert(
      fc.asyncProperty(invalidRequest, async ({ query, variables }) => {
        const { result, statements } = await countingStatements(() => gql(t.url, query, variables));
        const error = result.body.errors?.[0];
        expect(error?.extensions.code).toBe('VALIDATION_ERROR');
        expect(result.body.data ?? null).toBeNull();
        expect(statements).toBe(0);
      }),
      RUNS,
    );
  });

  it('reports every violation of a request together, keyed by input path', async () => {
    const res = await gql(t.url, 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }', {
      input: { email: 'nope', name: ' ', phone: 'call me', address: 'a\u0000b' },
    });
    expect(Object.keys(res.body.errors?.[0]?.extensions.fields as object).sort()).toEqual([
      'input.address',
      'input.email',
      'input.name',
      'input.phone',
    ]);
  });
});

describe('PROP 4 SQL column whitelisting', () => {
  const table = { NAME: 'name', CREATED_AT: 'createdAt' } as const;

  it('no string outside the whitelist can become a sort column', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(SortDirection.ASC, SortDirection.DESC), (field, direction) => {
        fc.pre(!Object.hasOwn(table, field));
        expect(() =>
          toPrismaOrderBy([{ field: field as keyof typeof table, direction }], table, { field: 'NAME', direction }),
        ).toThrow(ValidationError);
      }),
      RUNS,
    );
  });

  it('whitelisted fields map only onto their columns, with id as the tiebreaker', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            field: fc.constantFrom('NAME', 'CREATED_AT' as const),
            direction: fc.constantFrom(SortDirection.ASC, SortDirection.DESC),
          }),
          { maxLength: 5 },
        ),
        (orderBy) => {
          const result = toPrismaOrderBy(orderBy, table, { field: 'CREATED_AT', direction: SortDirection.DESC });
          const columns = result.flatMap((entry) => Object.keys(entry));
          expect(columns.every((c) => ['name', 'createdAt', 'id'].includes(c))).toBe(true);
          expect(columns.at(-1)).toBe('id');
        },
      ),
      RUNS,
    );
  });

  it('over HTTP, arbitrary sort keys are refused before any statement runs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), async (field) => {
        fc.pre(!['NAME', 'SKU', 'CREATED_AT', 'UPDATED_AT', 'STATUS'].includes(field));
        const { result, statements } = await countingStatements(() =>
          gql(t.url, 'query ($orderBy: [ProductOrderBy!]) { products(orderBy: $orderBy) { items { id } } }', {
            orderBy: [{ field, direction: 'ASC' }],
          }),
        );
        expect(result.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
        expect(statements).toBe(0);
      }),
      RUNS,
    );
  });
});

describe('concurrent checkouts never oversell', () => {
  it('K parallel checkouts of a variant with S in stock give exactly min(K, S) orders and leave max(S - K, 0)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 8 }), async (k, s) => {
        const f = await seedFixture(t.database, { variants: 1, stock: s });
        const variantId = f.variantIds[0]!;
        const carts = await Promise.all(
          Array.from({ length: k }, () =>
            t.database.prisma.cart.create({
              data: { customerId: f.customerId, items: { create: { variantId, quantity: 1 } } },
            }),
          ),
        );
        const results = await Promise.all(
          carts.map((cart) => op(t.url, CheckoutDocument, { cartId: cart.id, warehouseId: f.warehouseId })),
        );
        const succeeded = results.filter((r) => r.body.data?.submitCart);
        const failures = results.filter((r) => r.body.errors).map((r) => r.body.errors?.[0]?.extensions.code);
        expect(succeeded).toHaveLength(Math.min(k, s));
        expect(failures.every((code) => code === 'INSUFFICIENT_STOCK')).toBe(true);
        const level = await t.database.prisma.inventoryLevel.findFirstOrThrow({
          where: { variantId, warehouseId: f.warehouseId },
        });
        expect(level.quantity).toBe(Math.max(s - k, 0));
        expect(await t.database.prisma.order.count({ where: { items: { some: { variantId } } } })).toBe(Math.min(k, s));
      }),
      RUNS,
    );
  });
});

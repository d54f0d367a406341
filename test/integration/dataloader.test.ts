import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/index.js';
import { loadRequired, PrimedLoader } from '../../src/graphql/primed-loader.js';
import { gql, seedFixture, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

const NESTED_ORDERS = `query ($from: DateTime!, $to: DateTime!, $limit: Int!) {
  orders(limit: $limit, filter: { createdFrom: $from, createdTo: $to }) {
    items {
      id
      items { quantity variant { sku product { name } stockLevels { quantity } } }
      customer { name }
      payments { amount status }
    }
    pageInfo { totalCount }
  }
}`;

describe('DataLoader batching (REQ 6.3)', () => {
  let t: TestApp;
  // A window of time no other test writes into, so the list holds exactly our orders.
  const from = new Date(Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 1e9));
  const to = new Date(from.getTime() + 3_600_000);

  beforeAll(async () => {
    // The loaders are what this measures: compiled reads (ADR 0008) would answer the order history
    // in one statement without them (test/properties/compiled-reads.property.test.ts).
    t = await startTestApp({ COMPILED_READS_ENABLED: 'false' });
    const fixtures = await Promise.all(Array.from({ length: 5 }, () => seedFixture(t.database, { variants: 3 })));
    const customers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.database.prisma.customer.create({ data: { email: `n1-${uniqueTag()}-${i}@example.com`, name: `N+1 ${i}` } }),
      ),
    );
    for (let i = 0; i < 100; i += 1) {
      const fixture = fixtures[i % fixtures.length]!;
      await t.database.prisma.order.create({
        data: {
          customerId: customers[i % customers.length]!.id,
          totalAmount: '21.00',
          createdAt: new Date(from.getTime() + i * 1000),
          items: {
            create: fixture.variantIds.slice(0, 2).map((variantId) => ({
              variantId,
              warehouseId: fixture.warehouseId,
              quantity: 1,
              unitPrice: '10.50',
              lineTotal: '10.50',
            })),
          },
          payments: { create: { amount: '21.00', method: 'CARD', status: 'COMPLETED' } },
        },
      });
    }
  });
  afterAll(() => t.close());

  async function statementsFor(limit: number): Promise<number> {
    let statements = 0;
    const stop = t.database.onStatement(() => (statements += 1));
    try {
      const res = await gql<{ orders: { items: unknown[] } }>(t.url, NESTED_ORDERS, {
        from: from.toISOString(),
        to: to.toISOString(),
        limit,
      });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.orders.items).toHaveLength(limit);
      return statements;
    } finally {
      stop();
    }
  }

  it('takes the same number of statements for 10 and for 100 orders: one per level', async () => {
    await statementsFor(1); // warms the caller's permission cache, which is not part of the query
    const ten = await statementsFor(10);
    const hundred = await statementsFor(100);
    expect(hundred).toBe(ten);
    // orders + count, items, variants, products, stock levels, customers, payments
    expect(hundred).toBeLessThanOrEqual(8);
  });

  it("customer.orders batches every customer's recent orders in constant statements", async () => {
    const query = `query ($limit: Int!) { customers(limit: $limit, filter: { search: "N+1" }) { items { orders(limit: 3) { id items { quantity } } } } }`;
    const counts: number[] = [];
    await gql(t.url, query, { limit: 1 });
    for (const limit of [2, 20]) {
      let statements = 0;
      const stop = t.database.onStatement(() => (statements += 1));
      const res = await gql(t.url, query, { limit });
      stop();
      expect(res.body.errors).toBeUndefined();
      counts.push(statements);
    }
    expect(counts[1]).toBe(counts[0]);
  });

  it("a customer's order history with lines, variants, products and payments is one statement, equal to Prisma's own relation loading", async () => {
    const query = `query ($id: UUID!) { customer(id: $id) { orders(limit: 4) {
      id number status totalAmount currency createdAt updatedAt cartId
      items { id quantity unitPrice lineTotal
        variant { id sku name price currency isActive attributes createdAt
          product { id sku name description status createdAt updatedAt } } }
      payments { id amount currency method status reference createdAt updatedAt }
    } } }`;
    const customer = await t.database.prisma.customer.findFirstOrThrow({ where: { name: 'N+1 7' } });
    const rows = await t.database.prisma.order.findMany({
      where: { customerId: customer.id },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: 4,
      include: {
        items: { orderBy: { id: 'asc' }, include: { variant: { include: { product: true } } } },
        payments: { orderBy: { createdAt: 'asc' } },
      },
    });
    const times = (row: { createdAt: Date; updatedAt: Date }) => ({
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    });
    const expected = rows.map((order) => ({
      id: order.id,
      number: String(order.number),
      status: order.status,
      totalAmount: order.totalAmount.toFixed(2),
      currency: order.currency,
      ...times(order),
      cartId: order.cartId,
      items: order.items.map(({ variant, ...item }) => ({
        id: item.id,
        quantity: item.quantity,
        unitPrice: item.unitPrice.toFixed(2),
        lineTotal: item.lineTotal.toFixed(2),
        variant: {
          id: variant.id,
          sku: variant.sku,
          name: variant.name,
          price: variant.price.toFixed(2),
          currency: variant.currency,
          isActive: variant.isActive,
          attributes: variant.attributes,
          createdAt: variant.createdAt.toISOString(),
          product: {
            id: variant.product.id,
            sku: variant.product.sku,
            name: variant.product.name,
            description: variant.product.description,
            status: variant.product.status,
            ...times(variant.product),
          },
        },
      })),
      payments: order.payments.map((payment) => ({
        id: payment.id,
        amount: payment.amount.toFixed(2),
        currency: payment.currency,
        method: payment.method,
        status: payment.status,
        reference: payment.reference,
        ...times(payment),
      })),
    }));
    expect(expected).toHaveLength(4);
    expect(expected.every((order) => order.items.length === 2 && order.payments.length === 1)).toBe(true);

    await gql(t.url, query, { id: customer.id }); // warms the caller's permission cache
    let statements = 0;
    const stop = t.database.onStatement(() => (statements += 1));
    const res = await gql<{ customer: { orders: unknown[] } }>(t.url, query, { id: customer.id });
    stop();
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    expect(res.body.data?.customer.orders).toEqual(expected);
    // The customer, then its orders with everything below them.
    expect(statements).toBe(2);
  });
});

// What the order history's relation fields rely on to resolve without a promise per field.
describe('PrimedLoader', () => {
  const loaderOf = () => {
    const batches: string[][] = [];
    const loader = new PrimedLoader<string, string | null>(async (keys) => {
      batches.push([...keys]);
      return keys.map((key) => (key.startsWith('missing') ? null : `loaded ${key}`));
    });
    return { loader, batches };
  };

  it('answers a primed key at once and loads the others in one batch', async () => {
    const { loader, batches } = loaderOf();
    loader.prime('a', 'primed a');
    expect(loader.loadNow('a')).toBe('primed a');
    const b = loader.loadNow('b');
    const c = loader.loadNow('c');
    expect(b).toBeInstanceOf(Promise);
    expect(await Promise.all([b, c])).toEqual(['loaded b', 'loaded c']);
    expect(await loader.load('a')).toBe('primed a');
    expect(batches).toEqual([['b', 'c']]);
  });

  it('keeps the first value primed, as DataLoader does, and forgets cleared keys', async () => {
    const { loader, batches } = loaderOf();
    loader.prime('a', 'first').prime('a', 'second');
    expect(loader.loadNow('a')).toBe('first');
    expect(await loader.load('a')).toBe('first');
    loader.clear('a');
    expect(await loader.loadNow('a')).toBe('loaded a');
    loader.prime('x', 'primed x').clearAll();
    expect(await loader.loadNow('x')).toBe('loaded x');
    // A primed error or promise is DataLoader's to answer, never answered at once.
    loader.prime('e', new Error('boom'));
    const failed = loader.loadNow('e');
    expect(failed).toBeInstanceOf(Promise);
    await expect(failed).rejects.toThrow('boom');
    expect(batches).toEqual([['a'], ['x']]);
  });

  it('loadRequired answers NOT_FOUND naming the resource, at once or loaded', async () => {
    const { loader } = loaderOf();
    loader.prime('missing-1', null);
    expect(() => loadRequired(loader, 'missing-1', 'Product')).toThrow(AppError);
    expect(() => loadRequired(loader, 'missing-1', 'Product')).toThrow('Product missing-1 not found.');
    await expect(loadRequired(loader, 'missing-2', 'Product')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { resource: 'Product', id: 'missing-2' },
    });
    expect(await loadRequired(loader, 'p', 'Product')).toBe('loaded p');
  });
});

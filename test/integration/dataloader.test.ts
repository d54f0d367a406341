import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    t = await startTestApp();
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
});

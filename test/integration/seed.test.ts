import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCatalogEmpty, seedDatabase } from '../../src/platform/db/seed.js';
import { dropDatabase } from '../helpers/databases.js';
import { captureLogger, scratchDatabase } from '../helpers/kit.js';

describe('seed data generator', () => {
  let pool: pg.Pool;
  let name: string;
  beforeAll(async () => {
    const db = await scratchDatabase('seed', { migrated: true });
    name = db.name;
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    // pool.end() can resolve before a client's socket has closed; the DROP … WITH (FORCE) below then
    // terminates it (57P01), which without a listener is an uncaught error of the whole run.
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    await pool.end();
    await dropDatabase(name);
  });

  it('produces a consistent ERP data set of the requested size', async () => {
    expect(await isCatalogEmpty(pool)).toBe(true);
    const counts = await seedDatabase(pool, { products: 300, orders: 2_000 }, captureLogger('warn').logger);
    expect(counts).toMatchObject({
      products: 300,
      variants: 600,
      'inventory levels': 1_800,
      customers: 100,
      orders: 2_000,
    });
    expect(await isCatalogEmpty(pool)).toBe(false);

    const q = async (sql: string) => (await pool.query<{ n: string }>(sql)).rows[0]!.n;
    // Orders total exactly the sum of their items, priced at the variant's price.
    expect(
      await q(
        `SELECT count(*) AS n FROM orders o WHERE o.total_amount <> (SELECT sum(line_total) FROM order_items i WHERE i.order_id = o.id)`,
      ),
    ).toBe('0');
    expect(
      await q(
        `SELECT count(*) AS n FROM order_items i JOIN product_variants v ON v.id = i.variant_id WHERE i.unit_price <> v.price OR i.line_total <> v.price * i.quantity`,
      ),
    ).toBe('0');
    expect(
      await q(
        `SELECT count(*) AS n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)`,
      ),
    ).toBe('0');
    expect(
      await q(
        `SELECT count(*) AS n FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.amount <> o.total_amount`,
      ),
    ).toBe('0');
    expect(await q(`SELECT count(*) AS n FROM inventory_levels WHERE quantity < 0`)).toBe('0');
    expect(Number(await q(`SELECT count(DISTINCT customer_id) AS n FROM orders`))).toBeGreaterThan(50);
  });

  it('a failing seed leaves the database as it was', async () => {
    const before = await pool.query<{ n: string }>('SELECT count(*) AS n FROM products');
    await expect(seedDatabase(pool, { products: 10, orders: 10 }, captureLogger('error').logger)).rejects.toThrow(
      /duplicate key/,
    );
    const after = await pool.query<{ n: string }>('SELECT count(*) AS n FROM products');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

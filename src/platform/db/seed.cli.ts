// npm run db:seed [-- --products 10000 --orders 100000 [--customers N]]
// Fills an empty, migrated database; for benchmarks use the sizes above (< 1 minute).
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openCliDatabase } from './cli-support.js';
import { DEMO_SEED, isCatalogEmpty, seedDatabase } from './seed.js';

const { values } = parseArgs({
  options: {
    products: { type: 'string' },
    orders: { type: 'string' },
    customers: { type: 'string' },
  },
});
function count(raw: string | undefined, fallback: number | undefined, name: string): number | undefined {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000)
    throw new Error(`--${name} must be a whole number from 0 to 10000000`);
  return n;
}

const cli = await openCliDatabase();
const pool = new pg.Pool({ connectionString: cli.url, max: 1 });
try {
  const size = {
    products: count(values.products, DEMO_SEED.products, 'products') ?? DEMO_SEED.products,
    orders: count(values.orders, DEMO_SEED.orders, 'orders') ?? DEMO_SEED.orders,
    customers: count(values.customers, values.orders === undefined ? DEMO_SEED.customers : undefined, 'customers'),
  };
  if (!(await isCatalogEmpty(pool))) {
    cli.logger.error('the database already has products; seed only an empty, migrated database');
    process.exitCode = 1;
  } else {
    await seedDatabase(pool, size, cli.logger);
  }
} catch (error) {
  cli.logger.error('seeding failed', { error });
  process.exitCode = 1;
} finally {
  await pool.end();
  await cli.stop();
}

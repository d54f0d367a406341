// What the benchmark needs in the seeded database, and how it leaves it as it found it:
//   - a signed-in bench administrator (the user measure-operations.ts and measure-edge.ts use, with a
//     real session of its own; ADMIN role),
//   - realistic variables taken from the data (catalog pages, product SKUs, customers with >= 20 orders),
//   - checkout: a bench customer of its own with PENDING carts of 2 items each (one unit of two variants
//     that are in stock in one warehouse), created in bulk, one per Checkout request.
// Cleanup puts the stock back from the ledger (the stock_adjustments of the bench customer's orders) and
// deletes the bench customer's orders, carts and status transitions, so an interrupted run is repaired
// by the next one. The audit log is append-only: audit rows the requests wrote stay.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AppConfig } from '../../src/config/index.js';
import { createPasswordHasher } from '../../src/modules/identity/index.js';
import { createTokenService } from '../../src/modules/identity/tokens.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Database } from '../../src/platform/db/index.js';

export const BENCH_ADMIN_EMAIL = 'bench-admin@example.com';
export const BENCH_CUSTOMER_EMAIL = 'bench-checkout@example.com';
/** Expected seed (load/measure-operations.ts header): npm run db:seed -- --products 10000 --orders 100000 */
const EXPECTED = { products: 10_000, orders: 100_000 };
const CATALOG_PAGES = 20;
const PRODUCT_SKUS = 100;
const ORDER_CUSTOMERS = 50;
const ORDERS_PER_HISTORY = 20;
/** Variants checkout carts draw from, and the stock each must have in the checkout warehouse. */
const CHECKOUT_VARIANTS = 2_000;
const CHECKOUT_MIN_STOCK = 100;

export interface SeedCounts {
  products: number;
  variants: number;
  orders: number;
  customers: number;
}

/** Refuses an unseeded database with the command that seeds it; warns (returns notes) when smaller than expected. */
export async function checkSeed(database: Database): Promise<{ counts: SeedCounts; notes: string[] }> {
  const { rows } = await database.pool.query<{
    products: string;
    variants: string;
    orders: string;
    customers: string;
  }>(`
    SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM product_variants) AS variants,
           (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM customers) AS customers`);
  const row = rows[0]!;
  const counts = {
    products: Number(row.products),
    variants: Number(row.variants),
    orders: Number(row.orders),
    customers: Number(row.customers),
  };
  const seedCommand =
    'DATABASE_URL=… npm run db:migrate && DATABASE_URL=… npm run db:seed -- --products 10000 --orders 100000';
  if (counts.products < 1_000 || counts.orders < 1_000) {
    throw new Error(
      `The database is not seeded (${counts.products} products, ${counts.orders} orders): ${seedCommand}`,
    );
  }
  const notes: string[] = [];
  if (counts.products < EXPECTED.products || counts.orders < EXPECTED.orders) {
    notes.push(
      `the database has ${counts.products} products and ${counts.orders} orders, fewer than the ` +
        `${EXPECTED.products}/${EXPECTED.orders} the recorded baseline was measured on`,
    );
  }
  return { counts, notes };
}

export interface BenchSession {
  userId: string;
  sessionId: string;
  token: string;
}

/** The bench administrator with a fresh session, and an access token signed with the gateway's secrets. */
export async function signInBenchAdmin(database: Database, config: AppConfig): Promise<BenchSession> {
  const { prisma } = database;
  const adminRole = await prisma.role.findUniqueOrThrow({ where: { name: 'ADMIN' } });
  let user = await prisma.user.findUnique({ where: { email: BENCH_ADMIN_EMAIL } });
  if (!user) {
    const passwords = createPasswordHasher({
      pepper: config.auth.passwordPepper,
      memoryKib: config.auth.password.argon2MemoryKib,
      timeCost: config.auth.password.argon2TimeCost,
    });
    user = await prisma.user.upsert({
      where: { email: BENCH_ADMIN_EMAIL },
      create: {
        email: BENCH_ADMIN_EMAIL,
        displayName: 'Bench admin',
        passwordHash: await passwords.hash(randomBytes(24).toString('base64url')),
        roles: { create: { roleId: adminRole.id } },
      },
      update: {},
    });
  }
  // Sessions of earlier runs that ended without cleanup.
  await prisma.session.deleteMany({ where: { userId: user.id, expiresAt: { lt: new Date() } } });
  const session = await prisma.session.create({
    data: {
      userId: user.id,
      familyId: randomUUID(),
      tokenHash: randomBytes(32).toString('hex'),
      expiresAt: new Date(Date.now() + 3_600_000),
    },
  });
  const tokens = createTokenService({
    secrets: config.auth.jwtSecrets,
    issuer: config.auth.jwtIssuer,
    audience: config.auth.jwtAudience,
    accessTtlSeconds: config.auth.accessTokenTtlSeconds,
    mfaTtlSeconds: config.auth.mfaChallengeTtlSeconds,
    logger: createLogger({ level: 'error' }),
  });
  const { token } = await tokens.signAccess(user.id, session.id);
  return { userId: user.id, sessionId: session.id, token };
}

export async function endBenchSession(database: Database, session: BenchSession | undefined): Promise<void> {
  if (session) await database.prisma.session.deleteMany({ where: { id: session.sessionId } });
}

export interface ReadVariables {
  catalogPages: number[];
  productSkus: string[];
  /** Customers with at least 20 orders, busiest first. */
  orderCustomers: string[];
}

/** Variables from the data itself: the requests of a run rotate through them. */
export async function readVariables(database: Database): Promise<ReadVariables> {
  const { pool } = database;
  const skus = await pool.query<{ sku: string }>(
    `SELECT sku FROM products WHERE status = 'ACTIVE' ORDER BY md5(sku) LIMIT $1`,
    [PRODUCT_SKUS],
  );
  const customers = await pool.query<{ customer_id: string }>(
    `SELECT customer_id FROM orders GROUP BY customer_id HAVING count(*) >= $1
      ORDER BY count(*) DESC, customer_id LIMIT $2`,
    [ORDERS_PER_HISTORY, ORDER_CUSTOMERS],
  );
  if (customers.rows.length === 0) throw new Error(`No customer has ${ORDERS_PER_HISTORY} orders: reseed`);
  return {
    catalogPages: Array.from({ length: CATALOG_PAGES }, (_, i) => i + 1),
    productSkus: skus.rows.map((r) => r.sku),
    orderCustomers: customers.rows.map((r) => r.customer_id),
  };
}

/** Undoes every checkout of the bench customer (this run's or an interrupted one's), then deletes it. */
export async function cleanupCheckout(database: Database): Promise<{ orders: number; carts: number }> {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const found = await client.query<{ id: string }>('SELECT id FROM customers WHERE email = $1', [
      BENCH_CUSTOMER_EMAIL,
    ]);
    const customerId = found.rows[0]?.id;
    if (!customerId) {
      await client.query('COMMIT');
      return { orders: 0, carts: 0 };
    }
    const bench = 'SELECT id FROM orders WHERE customer_id = $1';
    // The ledger says what the orders took: put it back.
    await client.query(
      `UPDATE inventory_levels il SET quantity = il.quantity - s.delta, updated_at = now()
         FROM (SELECT variant_id, warehouse_id, sum(delta)::int AS delta FROM stock_adjustments
                WHERE order_id IN (${bench}) GROUP BY variant_id, warehouse_id) s
        WHERE il.variant_id = s.variant_id AND il.warehouse_id = s.warehouse_id`,
      [customerId],
    );
    await client.query(`DELETE FROM stock_adjustments WHERE order_id IN (${bench})`, [customerId]);
    await client.query(`DELETE FROM status_transitions WHERE entity_type = 'ORDER' AND entity_id IN (${bench})`, [
      customerId,
    ]);
    await client.query(
      `DELETE FROM status_transitions WHERE entity_type = 'CART'
          AND entity_id IN (SELECT id FROM carts WHERE customer_id = $1)`,
      [customerId],
    );
    await client.query(`DELETE FROM payments WHERE order_id IN (${bench})`, [customerId]);
    const orders = await client.query('DELETE FROM orders WHERE customer_id = $1', [customerId]);
    const carts = await client.query('DELETE FROM carts WHERE customer_id = $1', [customerId]);
    await client.query('DELETE FROM customers WHERE id = $1', [customerId]);
    await client.query('COMMIT');
    return { orders: orders.rowCount ?? 0, carts: carts.rowCount ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export interface CheckoutCarts {
  warehouseId: string;
  /** Hands out the next unused cart; undefined when none is left. */
  next(): string | undefined;
  remaining(): number;
  created(): number;
  /** Most carts the chosen stock allows. */
  capacity: number;
  /** Creates `count` more PENDING carts (capped at the capacity). Returns how many were created. */
  add(count: number): Promise<number>;
}

/** The bench customer, and a supply of PENDING carts over in-stock variants of one warehouse. */
export async function prepareCheckout(database: Database): Promise<CheckoutCarts> {
  const { pool, prisma } = database;
  const customer = await prisma.customer.create({
    data: { email: BENCH_CUSTOMER_EMAIL, name: 'Bench checkout' },
  });
  const warehouses = await pool.query<{ warehouse_id: string }>(
    `SELECT warehouse_id FROM inventory_levels WHERE quantity >= $1
      GROUP BY warehouse_id ORDER BY count(*) DESC, warehouse_id LIMIT 1`,
    [CHECKOUT_MIN_STOCK],
  );
  const warehouseId = warehouses.rows[0]?.warehouse_id;
  if (!warehouseId) throw new Error(`No warehouse has variants with ${CHECKOUT_MIN_STOCK} units in stock`);
  const variants = await pool.query<{ variant_id: string; quantity: number }>(
    `SELECT il.variant_id, il.quantity FROM inventory_levels il
       JOIN product_variants v ON v.id = il.variant_id
       JOIN products p ON p.id = v.product_id
      WHERE il.warehouse_id = $1 AND il.quantity >= $2 AND v.is_active AND p.status = 'ACTIVE'
      ORDER BY il.variant_id LIMIT $3`,
    [warehouseId, CHECKOUT_MIN_STOCK, CHECKOUT_VARIANTS],
  );
  const ids = variants.rows.map((r) => r.variant_id);
  // Pairs of neighbours: cart i takes variants 2i and 2i+1 (mod the pool), one unit each.
  const pairs = Math.floor(ids.length / 2);
  if (pairs === 0) throw new Error('Not enough in-stock variants for checkout carts');
  const capacity = pairs * CHECKOUT_MIN_STOCK;
  const carts: string[] = [];
  let handedOut = 0;
  let made = 0;
  return {
    warehouseId,
    capacity,
    next: () => (handedOut < carts.length ? carts[handedOut++] : undefined),
    remaining: () => carts.length - handedOut,
    created: () => carts.length,
    async add(count) {
      const n = Math.max(0, Math.min(count, capacity - made));
      if (n === 0) return 0;
      const cartIds = Array.from({ length: n }, () => randomUUID());
      const itemCarts: string[] = [];
      const itemVariants: string[] = [];
      for (let i = 0; i < n; i += 1) {
        const pair = (made + i) % pairs;
        itemCarts.push(cartIds[i]!, cartIds[i]!);
        itemVariants.push(ids[2 * pair]!, ids[2 * pair + 1]!);
      }
      await pool.query(
        `INSERT INTO carts (id, customer_id, status, created_at, updated_at)
         SELECT id, $2, 'PENDING', now(), now() FROM unnest($1::uuid[]) AS id`,
        [cartIds, customer.id],
      );
      await pool.query(
        `INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at, updated_at)
         SELECT gen_random_uuid(), c, v, 1, now(), now() FROM unnest($1::uuid[], $2::uuid[]) AS t(c, v)`,
        [itemCarts, itemVariants],
      );
      made += n;
      carts.push(...cartIds);
      return n;
    },
  };
}

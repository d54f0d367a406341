import type pg from 'pg';
import type { Logger } from '../../observability/logger.js';

export interface SeedSize {
  /** Products; each gets two variants, stocked in every warehouse. */
  products: number;
  /** Orders, with one to four items and a payment each. */
  orders: number;
  /** @default max(10, orders / 20) */
  customers?: number;
}

/** What `npm start` puts in an empty database: enough to click around in Sandbox. */
export const DEMO_SEED: SeedSize = { products: 200, orders: 1_000, customers: 50 };

const WAREHOUSES = [
  ['WH-EAST', 'East distribution centre'],
  ['WH-WEST', 'West distribution centre'],
  ['WH-NORTH', 'North hub'],
] as const;

/**
 * Set-based generation in the database itself (generate_series), so 10k products and 100k
 * orders take seconds rather than minutes of round-trips. Deterministic for a given size:
 * random() is seeded, uuids are not (they are not compared across runs).
 */
const SEED_STEPS: { label: string; sql: string }[] = [
  { label: 'seed random', sql: `SELECT setseed(0.4242)` },
  {
    label: 'warehouses',
    sql: `INSERT INTO warehouses (id, code, name, updated_at)
          SELECT gen_random_uuid(), w.code, w.name, now() FROM jsonb_to_recordset($1::jsonb) AS w(code text, name text)`,
  },
  {
    label: 'products',
    sql: `INSERT INTO products (id, sku, name, description, status, created_at, updated_at)
          SELECT gen_random_uuid(),
                 'SKU-' || lpad(g::text, 6, '0'),
                 (ARRAY['Steel','Oak','Carbon','Copper','Nylon','Glass','Walnut','Titanium','Cotton','Granite'])[1 + g % 10]
                   || ' ' || (ARRAY['bracket','hinge','panel','valve','fastener','crate','spindle','gasket','cable','pallet'])[1 + (g / 10) % 10]
                   || ' ' || g,
                 'Industrial part number ' || g || '.',
                 (CASE WHEN g % 50 = 0 THEN 'DRAFT' WHEN g % 97 = 0 THEN 'ARCHIVED' ELSE 'ACTIVE' END)::"ProductStatus",
                 now() - (g || ' minutes')::interval,
                 now()
            FROM generate_series(1, $1::int) AS g`,
  },
  {
    label: 'variants',
    sql: `INSERT INTO product_variants (id, product_id, sku, name, price, currency, attributes, created_at, updated_at)
          SELECT gen_random_uuid(), p.id, p.sku || '-' || v,
                 (ARRAY['Standard','Heavy duty'])[v],
                 round((5 + random() * 495)::numeric, 2), 'USD',
                 jsonb_build_object('grade', (ARRAY['standard','heavy'])[v]),
                 p.created_at, now()
            FROM products p CROSS JOIN generate_series(1, 2) AS v`,
  },
  {
    label: 'inventory levels',
    sql: `INSERT INTO inventory_levels (id, variant_id, warehouse_id, quantity, updated_at)
          SELECT gen_random_uuid(), v.id, w.id, (random() * 500)::int, now()
            FROM product_variants v CROSS JOIN warehouses w`,
  },
  {
    label: 'customers',
    sql: `INSERT INTO customers (id, email, name, phone, address, created_at, updated_at)
          SELECT gen_random_uuid(), 'customer' || g || '@example.com',
                 (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken','Radia','Tim'])[1 + g % 10]
                   || ' ' || (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson','Perlman','Berners-Lee'])[1 + (g / 10) % 10],
                 '+1-555-' || lpad((g % 10000)::text, 4, '0'),
                 g || ' Market Street, Springfield',
                 now() - (g || ' hours')::interval, now()
            FROM generate_series(1, $1::int) AS g`,
  },
  {
    label: 'orders',
    sql: `WITH c AS (SELECT array_agg(id ORDER BY email) AS ids FROM customers)
          INSERT INTO orders (id, customer_id, status, currency, total_amount, created_at, updated_at)
          SELECT gen_random_uuid(), c.ids[1 + (g * 7919) % array_length(c.ids, 1)],
                 (ARRAY['DELIVERED','DELIVERED','DELIVERED','SHIPPED','PROCESSING','PENDING','CANCELLED'])[1 + g % 7]::"OrderStatus",
                 'USD', 0, now() - ((g * 3) || ' minutes')::interval, now()
            FROM c, generate_series(1, $1::int) AS g`,
  },
  {
    label: 'order items',
    sql: `WITH v AS (SELECT array_agg(id ORDER BY sku) AS ids FROM product_variants),
               w AS (SELECT id FROM warehouses ORDER BY code LIMIT 1)
          INSERT INTO order_items (id, order_id, variant_id, warehouse_id, quantity, unit_price, line_total)
          SELECT gen_random_uuid(), o.id,
                 v.ids[1 + abs(hashtext(o.id::text || i)) % array_length(v.ids, 1)],
                 w.id, 1 + abs(hashtext(o.id::text || 'q' || i)) % 5, 0, 0
            FROM orders o CROSS JOIN v CROSS JOIN w
            CROSS JOIN LATERAL generate_series(1, 1 + abs(hashtext(o.id::text)) % 4) AS i`,
  },
  {
    label: 'item prices',
    sql: `UPDATE order_items oi SET unit_price = pv.price, line_total = pv.price * oi.quantity
            FROM product_variants pv WHERE pv.id = oi.variant_id`,
  },
  {
    label: 'order totals',
    sql: `UPDATE orders o SET total_amount = t.total
            FROM (SELECT order_id, sum(line_total) AS total FROM order_items GROUP BY order_id) t
           WHERE t.order_id = o.id`,
  },
  {
    label: 'payments',
    sql: `INSERT INTO payments (id, order_id, amount, currency, method, status, created_at, updated_at)
          SELECT gen_random_uuid(), o.id, o.total_amount, o.currency,
                 (ARRAY['CARD','BANK_TRANSFER','INVOICE','CARD'])[1 + o.number % 4]::"PaymentMethod",
                 (CASE o.status WHEN 'PENDING' THEN 'PENDING' WHEN 'CANCELLED' THEN 'REFUNDED' ELSE 'COMPLETED' END)::"PaymentStatus",
                 o.created_at, now()
            FROM orders o WHERE o.total_amount > 0`,
  },
  // Workforce scheduling (issue 8): a dozen employees of WH-EAST and next week's shifts there,
  // ready for generateSchedule. Every third employee drives a forklift; every fifth works part-time
  // on weekday mornings only. Of the full-timers (by name), every third prefers early shifts
  // (06:00-14:00, any day), the next one late shifts on weekdays (14:00-22:00), the next none.
  {
    label: 'employees',
    sql: `INSERT INTO employees (id, home_warehouse_id, name, skills, weekly_limit_minutes, created_at, updated_at)
          SELECT gen_random_uuid(), w.id,
                 (ARRAY['Maya','Omar','Lena','Tariq','Sofia','Jonas','Amara','Felix','Noor','Hugo','Ines','Kofi'])[g]
                   || ' ' || (ARRAY['Berg','Costa','Dahl','Evans','Fischer','Garcia','Haddad','Ito','Jansen','Kowalski','Lund','Mensah'])[g],
                 (CASE WHEN g % 3 = 0 THEN ARRAY['FORKLIFT', 'FIRST-AID'] WHEN g % 4 = 0 THEN ARRAY['FIRST-AID'] ELSE ARRAY[]::text[] END)::varchar(64)[],
                 CASE WHEN g % 5 = 0 THEN 1200 ELSE 2400 END,
                 now(), now()
            FROM warehouses w CROSS JOIN generate_series(1, 12) AS g
           WHERE w.code = 'WH-EAST'`,
  },
  {
    label: 'employee availability',
    sql: `INSERT INTO employee_availability (id, employee_id, weekday, start_minute, end_minute)
          SELECT gen_random_uuid(), e.id, d,
                 CASE WHEN e.weekly_limit_minutes < 2400 THEN 360 ELSE 0 END,
                 CASE WHEN e.weekly_limit_minutes < 2400 THEN 840 ELSE 1440 END
            FROM employees e JOIN warehouses w ON w.id = e.home_warehouse_id AND w.code = 'WH-EAST'
           CROSS JOIN generate_series(1, 7) AS d
           WHERE e.weekly_limit_minutes = 2400 OR d <= 5`,
  },
  {
    label: 'employee preferences',
    sql: `WITH full_timers AS (
            SELECT e.id, row_number() OVER (ORDER BY e.name) AS n
              FROM employees e JOIN warehouses w ON w.id = e.home_warehouse_id AND w.code = 'WH-EAST'
             WHERE e.weekly_limit_minutes = 2400)
          INSERT INTO employee_preferences (id, employee_id, weekday, start_minute, end_minute)
          SELECT gen_random_uuid(), f.id, d,
                 CASE WHEN f.n % 3 = 1 THEN 360 ELSE 840 END,
                 CASE WHEN f.n % 3 = 1 THEN 840 ELSE 1320 END
            FROM full_timers f CROSS JOIN generate_series(1, 7) AS d
           WHERE f.n % 3 = 1 OR (f.n % 3 = 2 AND d <= 5)`,
  },
  {
    label: 'shifts',
    sql: `WITH week AS (SELECT date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '7 days' AS monday)
          INSERT INTO shifts (id, warehouse_id, starts_at, ends_at, required_skill, headcount, created_at, updated_at)
          SELECT gen_random_uuid(), w.id,
                 week.monday + d * interval '1 day' + s.starts * interval '1 hour',
                 week.monday + d * interval '1 day' + (s.starts + 8) * interval '1 hour',
                 s.skill, s.headcount, now(), now()
            FROM warehouses w CROSS JOIN week CROSS JOIN generate_series(0, 6) AS d
           CROSS JOIN (VALUES (6, NULL::varchar, 2), (14, NULL::varchar, 2), (8, 'FORKLIFT'::varchar, 1)) AS s(starts, skill, headcount)
           WHERE w.code = 'WH-EAST' AND (s.skill IS NULL OR d < 5)`,
  },
];

function paramsFor(label: string, size: Required<SeedSize>): unknown[] {
  switch (label) {
    case 'warehouses':
      return [JSON.stringify(WAREHOUSES.map(([code, name]) => ({ code, name })))];
    case 'products':
      return [size.products];
    case 'customers':
      return [size.customers];
    case 'orders':
      return [size.orders];
    default:
      return [];
  }
}

/** True when the catalog is empty, i.e. the database has never been seeded. */
export async function isCatalogEmpty(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ empty: boolean }>('SELECT NOT EXISTS (SELECT 1 FROM products) AS empty');
  return rows[0]?.empty ?? true;
}

/**
 * Fills an empty database with a consistent ERP data set: warehouses, products and variants
 * with stock, customers, orders with items priced at order time, and payments. One
 * transaction: a failed seed leaves the database as it was.
 */
export async function seedDatabase(pool: pg.Pool, size: SeedSize, logger: Logger): Promise<Record<string, number>> {
  const full: Required<SeedSize> = {
    ...size,
    customers: size.customers ?? Math.max(10, Math.floor(size.orders / 20)),
  };
  const client = await pool.connect();
  const counts: Record<string, number> = {};
  const started = Date.now();
  try {
    await client.query('BEGIN');
    for (const step of SEED_STEPS) {
      const stepStarted = Date.now();
      const result = await client.query(step.sql, paramsFor(step.label, full));
      counts[step.label] = result.rowCount ?? 0;
      logger.debug('seed step done', { step: step.label, rows: result.rowCount, durationMs: Date.now() - stepStarted });
    }
    await client.query('COMMIT');
    // Fresh planner statistics for what was just loaded: without them Postgres estimates from
    // empty tables and picks sequential scans (45 ms instead of 0.3 ms for a page of payments by
    // order, issue 7), until autovacuum gets to it, and never where autovacuum is off.
    await client.query('ANALYZE');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  delete counts['seed random'];
  logger.info('database seeded', { ...counts, durationMs: Date.now() - started });
  return counts;
}

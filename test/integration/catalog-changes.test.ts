import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { watchVersion, type VersionWatch } from '../../src/platform/db/version-watch.js';
import { dropDatabase } from '../helpers/databases.js';
import { until } from '../helpers/gateway-process.js';
import { scratchDatabase } from '../helpers/kit.js';

// Issue 7: stock changes name their variants, so the cached-read lane drops only the answers that
// show them. The triggers (prisma/schema.extra.sql) and the watch (version-watch.ts) on a database of
// their own: nothing else writes to it, so every notification is this file's.
/** A variant id no statement ever names. */
const NOBODY = '00000000-0000-0000-0000-000000000000';

describe('catalog changes: keyed stock notifications', () => {
  let name: string;
  let url: string;
  let db: pg.Client;
  let listener: pg.Client;
  let watch: VersionWatch;
  const payloads: string[] = [];
  let warehouseId: string;
  let productId: string;

  async function lastVersion(): Promise<string> {
    const { rows } = await db.query<{ v: string }>('SELECT last_value::text AS v FROM catalog_version_seq');
    return rows[0]!.v;
  }

  /** Waits until the watch applied the sequence's latest version (notifications are coalesced). */
  async function heard(): Promise<void> {
    const version = await lastVersion();
    await until(() => watch.current().split(/[~@]/)[0] === version, 'the watch to hear the latest change', 5_000);
  }

  async function addVariants(count: number): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO product_variants (id, product_id, sku, name, price, updated_at)
       SELECT gen_random_uuid(), $1, 'V-' || gen_random_uuid(), 'Variant', 1, now() FROM generate_series(1, $2::int)
       RETURNING id`,
      [productId, count],
    );
    return rows.map((r) => r.id);
  }

  async function stock(variantIds: string[], quantity: number): Promise<void> {
    await db.query(
      `INSERT INTO inventory_levels (id, variant_id, warehouse_id, quantity, updated_at)
       SELECT gen_random_uuid(), v, $2, $3, now() FROM unnest($1::uuid[]) AS v
       ON CONFLICT (variant_id, warehouse_id) DO UPDATE SET quantity = EXCLUDED.quantity`,
      [variantIds, warehouseId, quantity],
    );
  }

  beforeAll(async () => {
    const scratch = await scratchDatabase('catalog_changes', { migrated: true });
    name = scratch.name;
    url = scratch.url;
    db = new pg.Client({ connectionString: scratch.url });
    listener = new pg.Client({ connectionString: scratch.url });
    await db.connect();
    await listener.connect();
    listener.on('notification', (message) => payloads.push(`${message.channel} ${message.payload ?? ''}`));
    await listener.query('LISTEN catalog_change');
    watch = watchVersion({
      url: scratch.url,
      channel: 'catalog_change',
      sequence: 'catalog_version_seq',
      coalesceMs: 10,
      maxKeys: 150,
      logger: createLogger({ level: 'error' }),
    });
    const warehouse = await db.query<{ id: string }>(
      `INSERT INTO warehouses (id, code, name, updated_at) VALUES (gen_random_uuid(), 'W-1', 'One', now()) RETURNING id`,
    );
    warehouseId = warehouse.rows[0]!.id;
    const product = await db.query<{ id: string }>(
      `INSERT INTO products (id, sku, name, updated_at) VALUES (gen_random_uuid(), 'P-1', 'One', now()) RETURNING id`,
    );
    productId = product.rows[0]!.id;
    await until(() => watch.current() !== 'unknown', 'the watch to connect', 5_000);
    await heard();
  });

  afterAll(async () => {
    await watch.close();
    await listener.end();
    await db.end();
    await dropDatabase(name);
  });

  it('a stock change names its variants and moves the version, not the whole-catalog version', async () => {
    const [x, y] = await addVariants(2);
    await heard();
    const unkeyed = watch.unkeyed();
    const mark = watch.changes.mark();
    payloads.length = 0;
    await stock([x!], 5);
    await heard();
    expect(payloads).toEqual([`catalog_change ${await lastVersion()}:${x}`]);
    expect(watch.unkeyed()).toBe(unkeyed);
    expect(watch.changes.changedSince(mark, [x!])).toBe(true);
    expect(watch.changes.changedSince(mark, [y!])).toBe(false);
    expect(watch.changes.anySince(mark)).toBe(true);
    // A later mark has seen it.
    expect(watch.changes.changedSince(watch.changes.mark(), [x!])).toBe(false);
  });

  it('an update of one row names the variant once; one that changed no row announces nothing', async () => {
    const [x] = await addVariants(1);
    await stock([x!], 1);
    await heard();
    const before = await lastVersion();
    payloads.length = 0;
    await db.query('UPDATE inventory_levels SET quantity = quantity + 1 WHERE variant_id = $1', [x]);
    await db.query('UPDATE inventory_levels SET quantity = 0 WHERE variant_id = gen_random_uuid()');
    await heard();
    expect(BigInt(await lastVersion())).toBe(BigInt(before) + 1n);
    expect(payloads).toEqual([`catalog_change ${await lastVersion()}:${x}`]);
  });

  it('a product, variant or warehouse change is a change to everything', async () => {
    const [x] = await addVariants(1);
    await heard();
    const mark = watch.changes.mark();
    await db.query(`UPDATE products SET name = 'Renamed' WHERE id = $1`, [productId]);
    await heard();
    expect(watch.unkeyed()).toBe(await lastVersion());
    expect(watch.changes.changedSince(mark, [x!])).toBe(true);
  });

  it('a statement that changes the stock of more than 100 variants announces a change to everything', async () => {
    const variants = await addVariants(101);
    await heard();
    const mark = watch.changes.mark();
    payloads.length = 0;
    await stock(variants, 3);
    await heard();
    expect(payloads).toEqual([`catalog_change ${await lastVersion()}`]);
    expect(watch.unkeyed()).toBe(await lastVersion());
    expect(watch.changes.changedSince(mark, [NOBODY])).toBe(true);
  });

  it('past maxKeys remembered variants, the record restarts as a change to everything', async () => {
    const variants = await addVariants(160);
    await heard();
    const mark = watch.changes.mark();
    const unkeyed = watch.unkeyed();
    // 100 at a time stay keyed; the second batch takes the record past 150.
    await stock(variants.slice(0, 100), 2);
    await heard();
    expect(watch.unkeyed()).toBe(unkeyed);
    expect(watch.changes.changedSince(mark, [NOBODY])).toBe(false);
    await stock(variants.slice(100), 2);
    await heard();
    expect(watch.unkeyed()).toBe(await lastVersion());
    expect(watch.changes.changedSince(mark, [NOBODY])).toBe(true);
  });

  it('a change that commits after a higher version still moves the version the shared cache is keyed by', async () => {
    const [x, y] = await addVariants(2);
    await stock([x!, y!], 1);
    await heard();
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    try {
      // The slow transaction takes its version first and commits last.
      await slow.query('BEGIN');
      await slow.query('UPDATE inventory_levels SET quantity = 7 WHERE variant_id = $1', [x]);
      await stock([y!], 8);
      await heard();
      const before = watch.current();
      expect(before).toBe(await lastVersion());
      await slow.query('COMMIT');
      await until(() => watch.current() !== before, 'the late commit to move the version', 5_000);
      expect(watch.current()).toMatch(new RegExp(`^${before}~\\d+$`));
    } finally {
      await slow.end();
    }
  });

  it('after a lost connection, everything counts as changed: what happened meanwhile went unheard', async () => {
    const [x] = await addVariants(1);
    await heard();
    const mark = watch.changes.mark();
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'erp-gateway-version-watch' AND datname = current_database()`,
    );
    await until(() => watch.current() === 'unknown', 'the watch to notice the loss', 5_000);
    expect(watch.unkeyed()).toBe('unknown');
    await until(() => watch.current() !== 'unknown', 'the watch to reconnect', 10_000);
    // Its own version until the next higher one: another instance's under this number may lack a
    // change that committed late, before this connection listened.
    expect(watch.current()).toMatch(/^\d+@[0-9a-f]{8}$/);
    expect(watch.changes.changedSince(mark, [x!])).toBe(true);
    expect(watch.unkeyed()).toBe(await lastVersion());
  });
});

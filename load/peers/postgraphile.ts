// A peer on the same data: PostGraphile v5 (amber preset, default inflection) answering the gateway's
// CatalogPage and OrderHistory shapes, so the benchmark can put its numbers next to ours as a ratio.
//
//   import { startPostGraphile } from './peers/postgraphile.ts';
//   const peer = await startPostGraphile(process.env.DATABASE_URL);   // spawns the server, waits for it
//   … POST { query: peer.documents.catalog, variables: peer.variables.catalog } to peer.url …
//   await peer.stop();
//
// Self-check against a seeded database (compares both answers with plain SQL):
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/erp_bench node load/peers/postgraphile.ts --verify
//
// The server runs in a child process (this same file, started with SERVE_FLAG) so the load
// generator never shares its event loop. Node 24 runs this file directly (type stripping); older
// runtimes get the tsx loader. Keep the syntax erasable: no enums, namespaces or parameter properties.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { PgAdaptorMakePgServiceOptions } from 'postgraphile/@dataplan/pg/adaptors/pg';

const THIS_FILE = fileURLToPath(import.meta.url);
const SERVE_FLAG = '--postgraphile-peer-serve';
const DATABASE_URL_ENV = 'POSTGRAPHILE_PEER_DATABASE_URL';
const POOL_SIZE_ENV = 'POSTGRAPHILE_PEER_POOL_SIZE';
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

// ------------------------------------------------------------------ documents

/**
 * The gateway's CatalogPage (page 3 of 50 ACTIVE products by name): same fields, same order
 * (name, then id; variants by sku; stock levels by warehouse id), same page info (total count and
 * whether a next page exists). PostGraphile's amber preset names the uuid primary key `rowId`
 * (`id` is its global Node ID).
 */
const CATALOG_DOCUMENT = /* GraphQL */ `
  query PeerCatalogPage($first: Int!, $offset: Int!) {
    allProducts(first: $first, offset: $offset, condition: { status: ACTIVE }, orderBy: [NAME_ASC, ROW_ID_ASC]) {
      nodes {
        rowId
        sku
        name
        productVariantsByProductId(orderBy: [SKU_ASC]) {
          nodes {
            rowId
            sku
            name
            price
            currency
            inventoryLevelsByVariantId(orderBy: [WAREHOUSE_ID_ASC]) {
              nodes {
                quantity
                warehouseByWarehouseId {
                  code
                }
              }
            }
          }
        }
      }
      totalCount
      pageInfo {
        hasNextPage
      }
    }
  }
`;

/**
 * The gateway's OrderHistory: a customer's 20 most recent orders (created_at DESC, then id) with
 * their items (by id) and payments (by created_at), the same fields as the gateway document.
 */
const ORDER_HISTORY_DOCUMENT = /* GraphQL */ `
  query PeerOrderHistory($customerId: UUID!, $first: Int!) {
    customerByRowId(rowId: $customerId) {
      rowId
      name
      ordersByCustomerId(first: $first, orderBy: [CREATED_AT_DESC, ROW_ID_ASC]) {
        nodes {
          rowId
          number
          status
          totalAmount
          currency
          createdAt
          orderItemsByOrderId(orderBy: [ROW_ID_ASC]) {
            nodes {
              quantity
              unitPrice
              lineTotal
              productVariantByVariantId {
                sku
                name
                productByProductId {
                  name
                }
              }
            }
          }
          paymentsByOrderId(orderBy: [CREATED_AT_ASC]) {
            nodes {
              amount
              status
              method
            }
          }
        }
      }
    }
  }
`;

const CATALOG_PAGE = 3;
const CATALOG_LIMIT = 50;
const ORDER_HISTORY_LIMIT = 20;

// ------------------------------------------------------------------ parent side

export interface PostGraphilePeer {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:PORT/graphql */
  url: string;
  /** GraphQL documents for PostGraphile's schema, answering the gateway's shapes. */
  documents: { catalog: string; orderHistory: string };
  variables: {
    catalog: Record<string, unknown>;
    orderHistory: (customerId: string) => Record<string, unknown>;
  };
  /** Milliseconds from spawning the child to the first answered request. */
  startupMs: number;
  /** Of which: introspecting the database and building the schema, inside the child. */
  schemaMs: number;
  /** The child's process id (for diagnostics). */
  pid: number;
  stop(): Promise<void>;
}

export interface StartPostGraphileOptions {
  /** Connections in PostGraphile's pool. Default 10, the gateway bench's pool size. */
  poolSize?: number;
}

type ChildMessage = { type: 'ready'; port: number; schemaMs: number } | { type: 'error'; message: string };

/** Spawns PostGraphile in a child process on 127.0.0.1 (a free port) and resolves once it answers. */
export async function startPostGraphile(
  databaseUrl: string,
  options: StartPostGraphileOptions = {},
): Promise<PostGraphilePeer> {
  const started = performance.now();
  // Node >= 23.6 strips types natively; otherwise load tsx (a devDependency of this project).
  const loader = process.features.typescript ? [] : ['--import', 'tsx'];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    GRAPHILE_ENV: 'production', // production mode, and silences the "GRAPHILE_ENV is not set" notice
    [DATABASE_URL_ENV]: databaseUrl,
    [POOL_SIZE_ENV]: String(options.poolSize ?? 10),
  };
  delete env.DEBUG; // graphile's `debug` namespaces would print to stderr
  delete env.NODE_OPTIONS; // e.g. tsx's loader inherited from the harness: the child needs none
  const child = spawn(process.execPath, [...loader, THIS_FILE, SERVE_FLAG], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });

  let ready: { port: number; schemaMs: number };
  try {
    ready = await waitForReady(child);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  const url = `http://127.0.0.1:${ready.port}/graphql`;
  // One real round trip, so the harness's first timed request is not the server's first.
  const probe = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  const probeText = await probe.text();
  if (!probe.ok || !probeText.includes('"Query"')) {
    await stopChild(child);
    throw new Error(`PostGraphile peer answered the probe with ${probe.status}: ${probeText.slice(0, 300)}`);
  }

  return {
    url,
    documents: { catalog: CATALOG_DOCUMENT, orderHistory: ORDER_HISTORY_DOCUMENT },
    variables: {
      catalog: { first: CATALOG_LIMIT, offset: (CATALOG_PAGE - 1) * CATALOG_LIMIT },
      orderHistory: (customerId: string) => ({ customerId, first: ORDER_HISTORY_LIMIT }),
    },
    startupMs: performance.now() - started,
    schemaMs: ready.schemaMs,
    pid: child.pid ?? -1,
    stop: () => stopChild(child),
  };
}

function waitForReady(child: ChildProcess): Promise<{ port: number; schemaMs: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`PostGraphile peer did not start within ${STARTUP_TIMEOUT_MS} ms`)),
      STARTUP_TIMEOUT_MS,
    );
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready') finish(null, { port: message.port, schemaMs: message.schemaMs });
      else finish(new Error(`PostGraphile peer failed to start: ${message.message}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`PostGraphile peer exited during startup (code ${code}, signal ${signal})`));
    const onError = (error: Error) => finish(error);
    function finish(error: Error | null, ready?: { port: number; schemaMs: number }) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(ready!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// ------------------------------------------------------------------ child side

async function serve(): Promise<void> {
  const connectionString = process.env[DATABASE_URL_ENV];
  if (!connectionString) throw new Error(`${DATABASE_URL_ENV} is not set`);
  const poolSize = Number(process.env[POOL_SIZE_ENV] ?? 10);

  // Loaded here, never in the harness's process.
  const { createServer } = await import('node:http');
  const { postgraphile } = await import('postgraphile');
  const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
  const { makePgService } = await import('postgraphile/adaptors/pg');
  const { grafserv } = await import('postgraphile/grafserv/node');

  const pgService: PgAdaptorMakePgServiceOptions = {
    connectionString,
    schemas: ['public'],
    poolConfig: { max: poolSize },
  };
  const preset: GraphileConfig.Preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService(pgService)],
    grafserv: {
      graphqlPath: '/graphql',
      graphiql: false,
      graphiqlOnGraphQLGET: false,
      graphqlOverGET: false,
      watch: false,
      websockets: false,
      // Grafast writes the JSON of the data directly (a documented speed optimisation).
      outputDataAsString: true,
    },
    grafast: { explain: false },
  };

  const startedAt = performance.now();
  const pgl = postgraphile(preset);
  await pgl.getSchema(); // introspect and build now, not on the first request
  const schemaMs = performance.now() - startedAt;
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  await serv.addTo(server, false);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');

  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    server.close();
    await pgl.release(); // also releases the grafserv instance and the pg pool
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
  // The parent went away without stopping us: do not outlive it.
  process.once('disconnect', () => void shutdown(0));

  process.send?.({ type: 'ready', port: address.port, schemaMs } satisfies ChildMessage);
}

// ------------------------------------------------------------------ self-check

interface GraphQLAnswer<T> {
  data?: T;
  errors?: { message: string }[];
}
type Nodes<T> = { nodes: T[] };
interface CatalogData {
  allProducts: {
    nodes: {
      rowId: string;
      sku: string;
      name: string;
      productVariantsByProductId: Nodes<{
        rowId: string;
        sku: string;
        name: string;
        price: string;
        currency: string;
        inventoryLevelsByVariantId: Nodes<{ quantity: number; warehouseByWarehouseId: { code: string } | null }>;
      }>;
    }[];
    totalCount: number;
    pageInfo: { hasNextPage: boolean };
  };
}
interface OrderHistoryData {
  customerByRowId: {
    rowId: string;
    name: string;
    ordersByCustomerId: Nodes<{
      rowId: string;
      number: string;
      status: string;
      totalAmount: string;
      currency: string;
      createdAt: string;
      orderItemsByOrderId: Nodes<{
        quantity: number;
        unitPrice: string;
        lineTotal: string;
        productVariantByVariantId: { sku: string; name: string; productByProductId: { name: string } | null } | null;
      }>;
      paymentsByOrderId: Nodes<{ amount: string; status: string; method: string }>;
    }>;
  } | null;
}

export interface VerifyReport {
  ok: true;
  startupMs: number;
  schemaMs: number;
  catalog: {
    products: number;
    variants: number;
    stockLevels: number;
    totalCount: number;
    hasNextPage: boolean;
    firstSku: string;
    lastSku: string;
    responseBytes: number;
  };
  orderHistory: {
    customerId: string;
    orders: number;
    items: number;
    payments: number;
    newestOrderNumber: string;
    responseBytes: number;
  };
}

/**
 * Starts the peer, runs both documents against `databaseUrl` and checks every answer against plain
 * SQL written with the gateway's semantics (ordering, paging, limits). Throws on the first mismatch.
 */
export async function verifyPostGraphile(databaseUrl: string): Promise<VerifyReport> {
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const peer = await startPostGraphile(databaseUrl);
  try {
    const post = async <T>(query: string, variables: Record<string, unknown>) => {
      const response = await fetch(peer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      const answer = JSON.parse(text) as GraphQLAnswer<T>;
      if (!response.ok || answer.errors || !answer.data) {
        throw new Error(`PostGraphile answered ${response.status}: ${text.slice(0, 500)}`);
      }
      return { data: answer.data, bytes: text.length };
    };
    const expectEqual = (what: string, actual: unknown, expected: unknown) => {
      const a = JSON.stringify(actual);
      const e = JSON.stringify(expected);
      if (a !== e) throw new Error(`${what}: expected ${e.slice(0, 300)}, got ${a.slice(0, 300)}`);
    };

    // Catalog page 3: the gateway's filter and order (status ACTIVE; name ASC, id ASC).
    const catalog = await post<CatalogData>(peer.documents.catalog, peer.variables.catalog);
    const products = catalog.data.allProducts.nodes;
    const expectedProducts = await db.query<{ id: string; sku: string; name: string }>(
      `SELECT id, sku, name FROM products WHERE status = 'ACTIVE' ORDER BY name, id OFFSET $1 LIMIT $2`,
      [(CATALOG_PAGE - 1) * CATALOG_LIMIT, CATALOG_LIMIT],
    );
    expectEqual('catalog product count', products.length, CATALOG_LIMIT);
    expectEqual(
      'catalog products (id, sku, name)',
      products.map((p) => [p.rowId, p.sku, p.name]),
      expectedProducts.rows.map((p) => [p.id, p.sku, p.name]),
    );
    const expectedVariants = await db.query<{ product_id: string; id: string; sku: string; price: string }>(
      `SELECT product_id, id, sku, name, price::text AS price, currency FROM product_variants
        WHERE product_id = ANY($1::uuid[]) ORDER BY product_id, sku`,
      [expectedProducts.rows.map((p) => p.id)],
    );
    const actualVariants = products.flatMap((p) =>
      p.productVariantsByProductId.nodes.map((v) => ({ productId: p.rowId, ...v })),
    );
    expectEqual(
      'catalog variants (id, sku, price)',
      actualVariants.map((v) => [v.productId, v.rowId, v.sku, v.price]).sort(),
      expectedVariants.rows.map((v) => [v.product_id, v.id, v.sku, v.price]).sort(),
    );
    const expectedLevels = await db.query<{ variant_id: string; quantity: number; code: string }>(
      `SELECT l.variant_id, l.quantity, w.code FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id
        WHERE l.variant_id = ANY($1::uuid[]) ORDER BY l.variant_id, l.warehouse_id`,
      [expectedVariants.rows.map((v) => v.id)],
    );
    const actualLevels = actualVariants.flatMap((v) =>
      v.inventoryLevelsByVariantId.nodes.map((l) => [v.rowId, l.quantity, l.warehouseByWarehouseId?.code]),
    );
    expectEqual(
      'catalog stock levels (variant, quantity, warehouse code)',
      actualLevels.sort(),
      expectedLevels.rows.map((l) => [l.variant_id, l.quantity, l.code]).sort(),
    );
    const activeCount = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM products WHERE status = 'ACTIVE'`,
    );
    expectEqual('catalog totalCount', catalog.data.allProducts.totalCount, activeCount.rows[0]!.n);
    expectEqual(
      'catalog hasNextPage',
      catalog.data.allProducts.pageInfo.hasNextPage,
      activeCount.rows[0]!.n > CATALOG_PAGE * CATALOG_LIMIT,
    );

    // Order history of the customer with the most orders (the gateway bench's choice).
    const busiest = await db.query<{ customer_id: string }>(
      `SELECT customer_id FROM orders GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1`,
    );
    const customerId = busiest.rows[0]!.customer_id;
    const history = await post<OrderHistoryData>(peer.documents.orderHistory, peer.variables.orderHistory(customerId));
    const customer = history.data.customerByRowId;
    if (!customer) throw new Error(`order history: customer ${customerId} not found`);
    const orders = customer.ordersByCustomerId.nodes;
    const expectedOrders = await db.query<{ id: string; number: string; status: string; total_amount: string }>(
      `SELECT id, number::text AS number, status::text AS status, total_amount::text AS total_amount FROM orders
        WHERE customer_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [customerId, ORDER_HISTORY_LIMIT],
    );
    expectEqual('order history order count', orders.length, ORDER_HISTORY_LIMIT);
    expectEqual(
      'order history orders (id, number, status, total)',
      orders.map((o) => [o.rowId, o.number, o.status, o.totalAmount]),
      expectedOrders.rows.map((o) => [o.id, o.number, o.status, o.total_amount]),
    );
    const orderIds = expectedOrders.rows.map((o) => o.id);
    const expectedItems = await db.query<{ order_id: string; quantity: number; unit_price: string; sku: string }>(
      `SELECT i.order_id, i.quantity, i.unit_price::text AS unit_price, v.sku FROM order_items i
         JOIN product_variants v ON v.id = i.variant_id
        WHERE i.order_id = ANY($1::uuid[]) ORDER BY i.order_id, i.id`,
      [orderIds],
    );
    const actualItems = orders.flatMap((o) =>
      o.orderItemsByOrderId.nodes.map((i) => [o.rowId, i.quantity, i.unitPrice, i.productVariantByVariantId?.sku]),
    );
    expectEqual(
      'order history items (order, quantity, unit price, variant sku)',
      actualItems.sort(),
      expectedItems.rows.map((i) => [i.order_id, i.quantity, i.unit_price, i.sku]).sort(),
    );
    const expectedPayments = await db.query<{ order_id: string; amount: string; status: string }>(
      `SELECT order_id, amount::text AS amount, status::text AS status FROM payments
        WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, created_at`,
      [orderIds],
    );
    const actualPayments = orders.flatMap((o) => o.paymentsByOrderId.nodes.map((p) => [o.rowId, p.amount, p.status]));
    expectEqual(
      'order history payments (order, amount, status)',
      actualPayments.sort(),
      expectedPayments.rows.map((p) => [p.order_id, p.amount, p.status]).sort(),
    );

    return {
      ok: true,
      startupMs: Math.round(peer.startupMs),
      schemaMs: Math.round(peer.schemaMs),
      catalog: {
        products: products.length,
        variants: actualVariants.length,
        stockLevels: actualLevels.length,
        totalCount: catalog.data.allProducts.totalCount,
        hasNextPage: catalog.data.allProducts.pageInfo.hasNextPage,
        firstSku: products[0]!.sku,
        lastSku: products.at(-1)!.sku,
        responseBytes: catalog.bytes,
      },
      orderHistory: {
        customerId,
        orders: orders.length,
        items: actualItems.length,
        payments: actualPayments.length,
        newestOrderNumber: orders[0]!.number,
        responseBytes: history.bytes,
      },
    };
  } finally {
    await peer.stop();
    await db.end();
  }
}

// ------------------------------------------------------------------ entry points

if (process.argv[1] === THIS_FILE && process.argv.includes(SERVE_FLAG)) {
  try {
    await serve();
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`postgraphile peer: ${message}\n`);
    process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
} else if (process.argv[1] === THIS_FILE && process.argv.includes('--verify')) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('Set DATABASE_URL to a seeded database');
  process.stdout.write(`${JSON.stringify(await verifyPostGraphile(url), null, 2)}\n`);
}

// Statements per request and latency of the clients' read operations against a seeded database.
//
//   DATABASE_URL=postgres://…/erp_bench npm run bench:operations [-- --runs 50]
//
// Seed the database first: npm run db:migrate && npm run db:seed -- --products 10000 --orders 100000
// Requests are sequential (one in flight), so latency is the per-request cost without queueing.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import * as ops from '../schema/generated/operations.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/observability/logger.js';
import { createDatabase } from '../src/platform/db/index.js';
import { findProjectRoot } from '../src/platform/project-root.js';
import { signInBenchAdmin } from './bench/fixtures.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL to a seeded database');

const config = loadConfig({
  rootDir: findProjectRoot(),
  env: {
    NODE_ENV: 'test',
    DATABASE_URL: url,
    JWT_SECRETS: randomBytes(48).toString('base64url'),
    PASSWORD_PEPPER: randomBytes(48).toString('base64url'),
    DATABASE_SLOW_QUERY_MS: '100000',
  },
});
const logger = createLogger({ level: 'error' });
const database = createDatabase({ ...config.database, url, poolSize: 10, logger });
const app = await createApp(config, { logger, database, runtime: { version: 'bench', startedAt: new Date() } });
const base = await app.server.listen({ host: '127.0.0.1', port: 0 });

// Staff operations need a signed-in caller: a bench administrator with a real session.
const { token } = await signInBenchAdmin(database, config);
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

// Realistic variables from the data itself.
const busiest = await database.prisma.$queryRaw<{ customer_id: string }[]>`
  SELECT customer_id FROM orders GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1`;
const anOrder = await database.prisma.order.findFirstOrThrow({ orderBy: { createdAt: 'desc' } });
const aVariant = await database.prisma.productVariant.findFirstOrThrow({ orderBy: { sku: 'asc' } });
const aProduct = await database.prisma.product.findFirstOrThrow({
  where: { status: 'ACTIVE' },
  orderBy: { sku: 'desc' },
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a table of differently typed documents
const cases: [string, TypedDocumentNode<any, any>, Record<string, unknown>][] = [
  ['CatalogPage (50 products)', ops.CatalogPageDocument, { page: 3, limit: 50 }],
  ['CatalogPage search', ops.CatalogPageDocument, { limit: 50, search: 'oak' }],
  ['ProductDetail', ops.ProductDetailDocument, { sku: aProduct.sku }],
  ['OrderHistory (20 orders)', ops.OrderHistoryDocument, { customerId: busiest[0]!.customer_id, limit: 20 }],
  ['OrdersDashboard (50 orders)', ops.OrdersDashboardDocument, { limit: 50 }],
  ['OrderDetail', ops.OrderDetailDocument, { id: anOrder.id }],
  ['LowStock (100 levels)', ops.LowStockDocument, { below: 10, limit: 100 }],
  ['StockLedger', ops.StockLedgerDocument, { variantId: aVariant.id }],
  ['Customers', ops.CustomersDocument, { limit: 50 }],
  ['MobileCatalog', ops.MobileCatalogDocument, {}],
  ['TrackOrder', ops.TrackOrderDocument, { id: anOrder.id }],
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const rows: { name: string; statements: number; median: number; p95: number; bytes: number }[] = [];
for (const [name, document, variables] of cases) {
  const body = JSON.stringify({ query: print(document), variables });
  let statements = 0;
  const stop = database.onStatement(() => (statements += 1));
  const timings: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS + 5; i += 1) {
    const started = performance.now();
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers,
      body,
    });
    const text = await response.text();
    if (i >= 5) timings.push(performance.now() - started);
    if (text.includes('"errors"')) throw new Error(`${name} answered with errors: ${text.slice(0, 300)}`);
    bytes = text.length;
    if (i === 4) statements = 0;
  }
  stop();
  timings.sort((a, b) => a - b);
  rows.push({
    name,
    statements: statements / RUNS,
    median: percentile(timings, 50),
    p95: percentile(timings, 95),
    bytes,
  });
}

rows.sort((a, b) => b.median - a.median);
console.log(`\n${RUNS} sequential runs each, after 5 warm-up runs\n`);
console.log('operation                      statements/req   median ms   p95 ms   response bytes');
for (const r of rows) {
  console.log(
    `${r.name.padEnd(30)} ${r.statements.toFixed(1).padStart(14)} ${r.median.toFixed(1).padStart(11)} ${r.p95.toFixed(1).padStart(8)} ${String(r.bytes).padStart(16)}`,
  );
}
await app.close();
await database.close();

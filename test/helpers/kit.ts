import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type AppConfig } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { createDatabase as createDb, type Database } from '../../src/platform/db/index.js';
import { findProjectRoot } from '../../src/platform/project-root.js';
import { createRedis, waitForRedis, type RedisClient } from '../../src/platform/redis/redis.js';
import { createDatabase, databaseUrl, REDIS_URL } from './databases.js';

export const ROOT = findProjectRoot();

/** A secret that passes every startup check. */
export function strongSecret(): string {
  return randomBytes(48).toString('base64url');
}

let workerDatabase: Promise<string> | undefined;

/**
 * This worker's own database, cloned once from the migrated template. Tests share it within
 * the worker and never depend on its contents: each test creates the rows it reads.
 */
export function workerDatabaseUrl(): Promise<string> {
  workerDatabase ??= createDatabase(
    `${inject('databasePrefix')}w${process.env.VITEST_POOL_ID ?? process.pid}`,
    inject('templateDatabase'),
  );
  return workerDatabase;
}

/** A fresh database of its own for a test that changes schema or needs it empty. */
export async function scratchDatabase(
  label: string,
  options: { migrated?: boolean } = {},
): Promise<{ url: string; name: string }> {
  const name = `${inject('databasePrefix')}${label}_${randomBytes(4).toString('hex')}`;
  const url = await createDatabase(name, options.migrated ? inject('templateDatabase') : undefined);
  return { url, name };
}

export function adminDatabaseUrl(name: string): string {
  return databaseUrl(name);
}

export async function testConfig(env: Record<string, string | undefined> = {}): Promise<AppConfig> {
  return loadConfig({
    rootDir: ROOT,
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: await workerDatabaseUrl(),
      JWT_SECRETS: strongSecret(),
      PASSWORD_PEPPER: strongSecret(),
      // Whatever NODE_ENV a test picks, the shared machine's noise must not shed its requests;
      // the overload test sets its own threshold.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
  });
}

/** A logger whose lines tests can read. */
export function captureLogger(
  level = 'debug',
  secretValues: readonly string[] = [],
): { logger: Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level, format: 'json', stream, secretValues });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

export interface TestApp {
  url: string;
  app: App;
  config: AppConfig;
  database: Database;
  redis: { client: RedisClient; subscriber: RedisClient };
  logs: () => string[];
  /** Headers of an ADMIN user; `gql`/`op` send them by default unless `actAs: 'anonymous'`. */
  admin: Record<string, string>;
  adminId: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Who `gql`/`op` act as when a test passes no headers. @default 'admin' */
  actAs?: 'admin' | 'anonymous';
  /** Redis key prefix; several apps given the same one share state like instances. @default unique */
  redisKeyPrefix?: string;
}

const defaultHeaders = new Map<string, Record<string, string>>();

/**
 * The real app over real HTTP on a loopback port, against this worker's database and the real
 * Redis (keys under a prefix of its own, so apps do not see each other unless told to).
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const keyPrefix = options.redisKeyPrefix ?? `test:${uniqueTag()}:`;
  const config = await testConfig({ REDIS_URL: REDIS_URL, REDIS_KEY_PREFIX: keyPrefix, ...env });
  const { logger, lines } = captureLogger('debug', config.secretValues);
  const database = createDb({ ...config.database, url: config.database.url!, logger });
  const redisOptions = { url: config.redis.url ?? REDIS_URL, keyPrefix, logger };
  const redis = { client: createRedis(redisOptions), subscriber: createRedis({ ...redisOptions, name: 'test-sub' }) };
  await waitForRedis(redis.client);
  const app = await createApp(config, { logger, database, redis, runtime: { version: 'test', startedAt: new Date() } });
  const address = await app.server.listen({ host: '127.0.0.1', port: 0 });
  const t: TestApp = {
    url: address,
    app,
    config,
    database,
    redis,
    logs: lines,
    admin: {},
    adminId: '',
    async close() {
      defaultHeaders.delete(address);
      await app.close();
      await redis.subscriber.quit().catch(() => undefined);
      await redis.client.quit().catch(() => undefined);
      await database.close();
    },
  };
  const admin = await createTestUser(t, ['ADMIN']);
  t.admin = admin.headers;
  t.adminId = admin.id;
  if ((options.actAs ?? 'admin') === 'admin') defaultHeaders.set(address, t.admin);
  return t;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  /** Authorization header of a fresh session. */
  headers: Record<string, string>;
}

/** A user with the given roles (and customer link), signed in through a real session row. */
export async function createTestUser(
  t: Pick<TestApp, 'app' | 'database'>,
  roleNames: string[],
  options: { customerId?: string; password?: string } = {},
): Promise<TestUser> {
  const email = `user-${uniqueTag()}@example.com`;
  const password = options.password ?? `Tst-${randomBytes(12).toString('base64url')}`;
  const roles = await t.database.prisma.role.findMany({ where: { name: { in: roleNames } } });
  const user = await t.database.prisma.user.create({
    data: {
      email,
      displayName: `Test ${email}`,
      passwordHash: await t.app.identity.passwords.hash(password),
      customerId: options.customerId ?? null,
      roles: { create: roles.map((r) => ({ roleId: r.id })) },
    },
  });
  const session = await t.database.prisma.session.create({
    data: {
      userId: user.id,
      familyId: crypto.randomUUID(),
      tokenHash: randomBytes(32).toString('hex'),
      expiresAt: new Date(Date.now() + 3_600_000),
    },
  });
  const access = await t.app.identity.tokens.signAccess(user.id, session.id);
  return { id: user.id, email, password, headers: { authorization: `Bearer ${access.token}` } };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; path?: string[]; extensions: Record<string, unknown> }[] };
}

export async function gql<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    // The app's default caller (admin) unless the test names one; `authorization: ''` is anonymous.
    headers: { 'content-type': 'application/json', ...defaultHeaders.get(baseUrl), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as GraphQLResponse<T>['body'],
  };
}

/** Sends one of the clients' typed operations (schema/generated/operations.ts). */
export async function op<TResult, TVariables extends Record<string, unknown>>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables?: TVariables,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TResult>> {
  return gql<TResult>(baseUrl, print(document), variables, headers);
}

/**
 * Waits until every app keys its caches by the database's latest catalog version: a write's
 * NOTIFY arrives a moment after its commit (and is coalesced), so a read made before then would
 * be cached under a version about to go stale.
 */
export async function catalogVersionSettled(database: Database, ...apps: TestApp[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await database.pool.query<{ v: string }>('SELECT last_value::text AS v FROM catalog_version_seq');
    // `42`, `42~41` (a late commit) and `42@…` (after a connect) are all keyed by the latest, 42.
    if (apps.every((t) => t.app.catalogVersion().split(/[~@]/)[0] === rows[0]!.v)) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for the apps to hear the catalog version');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function uniqueTag(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Typed fixtures through Prisma: a warehouse, a product with variants and stock, a customer. */
export async function seedFixture(
  database: Database,
  options: { variants?: number; stock?: number; price?: string } = {},
): Promise<{
  tag: string;
  warehouseId: string;
  productId: string;
  variantIds: string[];
  customerId: string;
}> {
  const tag = uniqueTag().toUpperCase();
  const warehouse = await database.prisma.warehouse.create({ data: { code: `W-${tag}`, name: `Warehouse ${tag}` } });
  const product = await database.prisma.product.create({
    data: {
      sku: `P-${tag}`,
      name: `Product ${tag}`,
      variants: {
        create: Array.from({ length: options.variants ?? 2 }, (_, i) => ({
          sku: `P-${tag}-${i + 1}`,
          name: `Variant ${i + 1}`,
          price: options.price ?? '10.50',
        })),
      },
    },
    include: { variants: { orderBy: { sku: 'asc' } } },
  });
  await database.prisma.inventoryLevel.createMany({
    data: product.variants.map((v) => ({ variantId: v.id, warehouseId: warehouse.id, quantity: options.stock ?? 100 })),
  });
  const customer = await database.prisma.customer.create({
    data: { email: `customer-${tag.toLowerCase()}@example.com`, name: `Customer ${tag}` },
  });
  return {
    tag,
    warehouseId: warehouse.id,
    productId: product.id,
    variantIds: product.variants.map((v) => v.id),
    customerId: customer.id,
  };
}

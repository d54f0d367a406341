import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildSchema, graphql, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAuthDirectives, assertEveryRootFieldDecided } from '../../src/graphql/directives/auth.directive.js';
import { buildGraphQLSchema } from '../../src/graphql/schema.js';
import { PERMISSION_KEYS, type PermissionKey } from '../../src/modules/identity/index.js';
import { createPermissionCache } from '../../src/modules/identity/permission-cache.js';
import { createRedis } from '../../src/platform/redis/redis.js';
import { ANONYMOUS } from '../../src/platform/service-context.js';
import { REDIS_URL } from '../helpers/databases.js';
import { until } from '../helpers/gateway-process.js';
import {
  captureLogger,
  createTestUser,
  gql,
  ROOT,
  seedFixture,
  startTestApp,
  strongSecret,
  uniqueTag,
  type GraphQLResponse,
  type TestApp,
  type TestUser,
} from '../helpers/kit.js';

const RUNS = { numRuns: 100 };

const ME = `{ me { id roles permissions customerId } }`;
type MeResponse = GraphQLResponse<{
  me: { id: string; roles: string[]; permissions: string[]; customerId: string | null };
}>;

function codeOf(res: GraphQLResponse<unknown>): string | undefined {
  return res.body.errors?.[0]?.extensions.code as string | undefined;
}

function logLines(lines: string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const sorted = <T extends string>(values: Iterable<T>): T[] => [...new Set(values)].sort();

/** Two instances of one deployment: the same secrets, the same Redis key prefix. */
async function startPair(env: Record<string, string> = {}): Promise<[TestApp, TestApp]> {
  const shared = { JWT_SECRETS: strongSecret(), PASSWORD_PEPPER: strongSecret(), ...env };
  const redisKeyPrefix = `test:${uniqueTag()}:`;
  const a = await startTestApp(shared, { redisKeyPrefix });
  const b = await startTestApp(shared, { redisKeyPrefix });
  return [a, b];
}

// ------------------------------------------------------------------------------------ PROP 11

describe('PROP 11 permission cache consistency', () => {
  let t: TestApp;
  let roles: { id: string; name: string }[];
  let permissionIds: Map<string, string>;
  let userId: string;

  beforeAll(async () => {
    // A local level of 50 ms, so that "after the local TTL" is quick to reach.
    t = await startTestApp({ PERMISSION_LOCAL_TTL_MS: '50' });
    const prisma = t.database.prisma;
    const tag = uniqueTag();
    roles = [];
    for (let i = 0; i < 4; i++) {
      roles.push(await prisma.role.create({ data: { name: `p11-${tag}-r${i}` }, select: { id: true, name: true } }));
    }
    permissionIds = new Map(
      (await prisma.permission.findMany({ select: { id: true, key: true } })).map((p) => [p.key, p.id]),
    );
    userId = (
      await prisma.user.create({
        data: { email: `p11-${tag}@example.com`, displayName: 'P11', passwordHash: 'x' },
        select: { id: true },
      })
    ).id;
  });
  afterAll(() => t?.close());

  it('concurrent misses of one user share one database load; one under way when the user is invalidated is not kept', async () => {
    const cache = t.app.identity.permissions;
    const redis = t.redis.client;
    await cache.invalidateUsers([userId]);
    const before = cache.stats.databaseLoads;
    const answers = await Promise.all(Array.from({ length: 8 }, () => cache.get(userId)));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(cache.stats.databaseLoads).toBe(before + 1);

    // A change lands on this instance while a load is under way: the load answers its own callers,
    // and nothing of it is kept.
    await cache.invalidateUsers([userId]);
    const underWay = cache.get(userId);
    await cache.invalidateUsers([userId]);
    await underWay;
    expect(await redis.exists(`perm:${userId}`)).toBe(0);
    const loads = cache.stats.databaseLoads;
    await cache.get(userId);
    expect(cache.stats.databaseLoads).toBe(loads + 1);
    expect(await redis.exists(`perm:${userId}`)).toBe(1);

    // …or on another instance, whose message has not arrived: its new generation keeps Redis clean.
    await cache.invalidateUsers([userId]);
    const racing = cache.get(userId); // reads the generation first (the same connection, in order)
    await redis.incr(`permgen:${userId}`);
    await racing;
    expect(await redis.exists(`perm:${userId}`)).toBe(0);
  });

  it('an instance whose subscriber connection is still connecting subscribes once it is ready, and hears the others', async () => {
    const channel = `test:permission-invalidations:${uniqueTag()}`;
    const capture = captureLogger('debug');
    const subscriber = createRedis({ url: REDIS_URL, logger: capture.logger, name: 'test-sub' });
    try {
      expect(subscriber.status).not.toBe('ready');
      const options = { prisma: t.database.prisma, redis: t.redis.client, logger: capture.logger, channel };
      const listening = createPermissionCache({ ...options, subscriber, localTtlMs: 60_000 });
      const other = createPermissionCache(options);
      await until(async () => {
        const [, subscribers] = (await t.redis.client.pubsub('NUMSUB', channel)) as [string, number];
        return subscribers === 1;
      }, 'the subscriber connection to subscribe');

      await listening.get(userId);
      const localHits = listening.stats.localHits;
      await listening.get(userId);
      expect(listening.stats.localHits).toBe(localHits + 1);
      await other.invalidateUsers([userId]);
      await until(async () => {
        const before = listening.stats.localHits;
        await listening.get(userId);
        return listening.stats.localHits === before;
      }, "the other instance's invalidation to reach this one");
      expect(listening.stats.redisErrors).toBe(0);
    } finally {
      subscriber.disconnect();
    }
  });

  const assignmentArb = fc.record({
    rolePermissions: fc.array(fc.subarray([...PERMISSION_KEYS]), { minLength: 4, maxLength: 4 }),
    userRoles: fc.subarray([0, 1, 2, 3]),
    waitPastLocalTtl: fc.boolean(),
  });

  it('returns exactly what the database implies; later lookups come from the cache (local, then Redis), never the database', async () => {
    const cache = t.app.identity.permissions;
    const redis = t.redis.client;
    await fc.assert(
      fc.asyncProperty(assignmentArb, async ({ rolePermissions, userRoles, waitPastLocalTtl }) => {
        // This run's assignments, written straight to the database.
        await t.database.prisma.$transaction([
          t.database.prisma.rolePermission.deleteMany({ where: { roleId: { in: roles.map((r) => r.id) } } }),
          t.database.prisma.rolePermission.createMany({
            data: rolePermissions.flatMap((keys, i) =>
              keys.map((key) => ({ roleId: roles[i]!.id, permissionId: permissionIds.get(key)! })),
            ),
          }),
          t.database.prisma.userRole.deleteMany({ where: { userId } }),
          t.database.prisma.userRole.createMany({ data: userRoles.map((i) => ({ userId, roleId: roles[i]!.id })) }),
        ]);
        // Changed behind the API's back: drop what is cached, as the mutations do.
        await cache.invalidateUsers([userId]);
        const expected = {
          roles: sorted(userRoles.map((i) => roles[i]!.name)),
          permissions: sorted(userRoles.flatMap((i) => rolePermissions[i]!)),
          customerId: null,
          isActive: true,
        };

        const s0 = { ...cache.stats };
        expect(await cache.get(userId)).toEqual(expected);
        expect(cache.stats.databaseLoads).toBe(s0.databaseLoads + 1);

        // REQ 7.1/7.2: in Redis, permissions for 5 minutes, roles for 10.
        const [perm, roleNames] = await redis.mget(`perm:${userId}`, `roles:${userId}`);
        expect(JSON.parse(perm!)).toEqual({ permissions: expected.permissions, customerId: null, isActive: true });
        expect(JSON.parse(roleNames!)).toEqual(expected.roles);
        const [permTtl, rolesTtl] = await Promise.all([redis.pttl(`perm:${userId}`), redis.pttl(`roles:${userId}`)]);
        expect(permTtl).toBeGreaterThan(290_000);
        expect(permTtl).toBeLessThanOrEqual(300_000);
        expect(rolesTtl).toBeGreaterThan(590_000);
        expect(rolesTtl).toBeLessThanOrEqual(600_000);

        // Within the TTL: served from the cache (local, or Redis if the 50 ms already passed).
        const s1 = { ...cache.stats };
        expect(await cache.get(userId)).toEqual(expected);
        expect(cache.stats.localHits + cache.stats.redisHits).toBe(s1.localHits + s1.redisHits + 1);
        expect(cache.stats.databaseLoads).toBe(s1.databaseLoads);

        if (waitPastLocalTtl) {
          await sleep(70);
          const s2 = { ...cache.stats };
          expect(await cache.get(userId)).toEqual(expected);
          expect(cache.stats.redisHits).toBe(s2.redisHits + 1);
          expect(cache.stats.localHits).toBe(s2.localHits);
          expect(cache.stats.databaseLoads).toBe(s2.databaseLoads);
        }
      }),
      RUNS,
    );
  });

  it('REQ 7.5: many distinct users looked up once each log a hit-rate warning', async () => {
    const tag = uniqueTag();
    // 400 misses: at least one whole sample of 200 lookups is all misses, whatever came before.
    await t.database.prisma.user.createMany({
      data: Array.from({ length: 400 }, (_, i) => ({
        email: `hit-${tag}-${i}@example.com`,
        displayName: `Hit ${i}`,
        passwordHash: 'x',
      })),
    });
    const users = await t.database.prisma.user.findMany({
      where: { email: { startsWith: `hit-${tag}-` } },
      select: { id: true },
    });
    expect(users).toHaveLength(400);
    for (const user of users) await t.app.identity.permissions.get(user.id);
    const warnings = logLines(t.logs()).filter((l) => l.message === 'permission cache hit rate below 70%');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.at(-1)).toMatchObject({ level: 'warn', hitRate: 0, lookups: 200 });
  });

  it('REQ 7.5: no warning while the hit rate is high', async () => {
    const capture = captureLogger('debug');
    const cache = createPermissionCache({ prisma: t.database.prisma, redis: t.redis.client, logger: capture.logger });
    await cache.invalidateUsers([userId]);
    for (let i = 0; i < 400; i++) await cache.get(userId);
    expect(cache.stats).toMatchObject({ misses: 1, hits: 399 });
    expect(capture.lines().filter((l) => l.includes('hit rate below'))).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------ PROP 12

type Op = 'assignRole' | 'revokeRole' | 'grantPermission' | 'revokePermission';
/** Permissions the property moves around, each with a query that needs exactly it. */
const PROBES: Partial<Record<PermissionKey, string>> = {
  USER_READ: '{ permissions { key } }',
  CUSTOMER_READ: '{ customers(limit: 1) { pageInfo { totalCount } } }',
  INVENTORY_READ: '{ stockLevels(limit: 1) { pageInfo { totalCount } } }',
  AUDIT_READ: '{ auditLogs(limit: 1) { pageInfo { totalCount } } }',
  ORDER_READ: '{ payments(limit: 1) { pageInfo { totalCount } } }',
};
const PROBED = Object.keys(PROBES) as PermissionKey[];

const MUTATIONS: Record<Op, string> = {
  assignRole: `mutation ($userId: UUID!, $roleName: String!) { assignRole(input: { userId: $userId, roleName: $roleName }) { id } }`,
  revokeRole: `mutation ($userId: UUID!, $roleName: String!) { revokeRole(input: { userId: $userId, roleName: $roleName }) { id } }`,
  grantPermission: `mutation ($roleName: String!, $permission: String!) { grantPermission(input: { roleName: $roleName, permission: $permission }) { id } }`,
  revokePermission: `mutation ($roleName: String!, $permission: String!) { revokePermission(input: { roleName: $roleName, permission: $permission }) { id } }`,
};

describe('authorization over two instances of one deployment', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    [a, b] = await startPair();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  describe('PROP 12 cache invalidation on role change', () => {
    let user: TestUser;
    const roleNames: string[] = [];
    const roleIds = new Map<string, string>();
    const rolePermissions = new Map<string, Set<PermissionKey>>();
    const userRoles = new Set<string>();
    const effective = () => sorted([...userRoles].flatMap((r) => [...rolePermissions.get(r)!]));

    beforeAll(async () => {
      const tag = uniqueTag();
      const initial: PermissionKey[][] = [
        ['USER_READ'],
        ['CUSTOMER_READ', 'INVENTORY_READ'],
        ['AUDIT_READ', 'ORDER_READ'],
      ];
      for (const [i, keys] of initial.entries()) {
        const name = `p12-${tag}-r${i}`;
        const role = await a.database.prisma.role.create({
          data: {
            name,
            permissions: { create: keys.map((key) => ({ permission: { connect: { key } } })) },
          },
        });
        roleNames.push(name);
        roleIds.set(name, role.id);
        rolePermissions.set(name, new Set(keys));
      }
      user = await createTestUser(a, [roleNames[0]!]);
      userRoles.add(roleNames[0]!);
    });

    async function expectSees(app: TestApp, permissions: string[], label: string) {
      const res: MeResponse = await gql(app.url, ME, {}, user.headers);
      expect(res.body.errors, label).toBeUndefined();
      expect(res.body.data!.me.permissions, label).toEqual(permissions);
      expect(res.body.data!.me.roles, label).toEqual(sorted(userRoles));
    }

    async function expectProbe(app: TestApp, permission: PermissionKey, allowed: boolean, label: string) {
      const res = await gql(app.url, PROBES[permission]!, {}, user.headers);
      if (allowed) {
        expect(res.body.errors, label).toBeUndefined();
      } else {
        expect(codeOf(res), label).toBe('FORBIDDEN');
        expect(res.body.errors![0]!.extensions.requiredAnyOf, label).toEqual([permission]);
        expect(res.body.data, label).toBeNull();
      }
    }

    const changeArb = fc.record({
      op: fc.constantFrom<Op>('assignRole', 'revokeRole', 'grantPermission', 'revokePermission'),
      role: fc.nat({ max: 2 }),
      permission: fc.constantFrom(...PROBED),
      via: fc.constantFrom('A', 'B'),
    });

    it('the next request of the user sees the change, on the instance that made it and on the other one; audited with before/after', async () => {
      await fc.assert(
        fc.asyncProperty(changeArb, async ({ op, role, permission, via }) => {
          const roleName = roleNames[role]!;
          // Both instances have the current permissions cached locally.
          await expectSees(a, effective(), 'A before');
          await expectSees(b, effective(), 'B before');
          const before = op.endsWith('Role') ? sorted(userRoles) : sorted(rolePermissions.get(roleName)!);

          const variables = op.endsWith('Role') ? { userId: user.id, roleName } : { roleName, permission };
          const res = await gql(via === 'A' ? a.url : b.url, MUTATIONS[op], variables, a.admin);
          expect(res.body.errors).toBeUndefined();
          if (op === 'assignRole') userRoles.add(roleName);
          if (op === 'revokeRole') userRoles.delete(roleName);
          if (op === 'grantPermission') rolePermissions.get(roleName)!.add(permission);
          if (op === 'revokePermission') rolePermissions.get(roleName)!.delete(permission);
          const after = op.endsWith('Role') ? sorted(userRoles) : sorted(rolePermissions.get(roleName)!);

          // The very next requests, on both instances.
          const allowed = effective().includes(permission);
          await expectProbe(b, permission, allowed, `B probe ${op} ${permission}`);
          await expectProbe(a, permission, allowed, `A probe ${op} ${permission}`);
          await expectSees(b, effective(), 'B after');
          await expectSees(a, effective(), 'A after');

          const [row] = await a.database.prisma.auditLog.findMany({
            where: {
              eventType: {
                assignRole: 'role.assigned',
                revokeRole: 'role.revoked',
                grantPermission: 'permission.granted',
                revokePermission: 'permission.revoked',
              }[op],
              resourceId: op.endsWith('Role') ? user.id : roleIds.get(roleName)!,
            },
            orderBy: { sequence: 'desc' },
            take: 1,
          });
          expect(row).toMatchObject({ userId: a.adminId, success: true });
          expect(row!.details).toMatchObject({ role: roleName, before, after });
          if (!op.endsWith('Role')) expect(row!.details).toMatchObject({ permission });
        }),
        RUNS,
      );
    });
  });

  // ---------------------------------------------------------------------------------- authorization

  describe('authorization (@auth)', () => {
    it('anonymous callers get UNAUTHENTICATED on @auth fields; public fields work anonymously', async () => {
      const anonymous = { authorization: '' };
      for (const query of [ME, '{ customers { pageInfo { totalCount } } }', '{ roles { name } }']) {
        const res = await gql(a.url, query, {}, anonymous);
        expect(codeOf(res), query).toBe('UNAUTHENTICATED');
        expect(res.body.data, query).toBeNull();
      }
      const mutation = await gql(
        a.url,
        `mutation { createCustomer(input: { email: "anon-${uniqueTag()}@example.com", name: "Anon" }) { id } }`,
        {},
        anonymous,
      );
      expect(codeOf(mutation)).toBe('UNAUTHENTICATED');

      const products = await gql<{ products: { pageInfo: { totalCount: number } } }>(
        a.url,
        '{ products(limit: 1) { items { id } pageInfo { totalCount } } }',
        {},
        anonymous,
      );
      expect(products.body.errors).toBeUndefined();
      expect(products.body.data?.products.pageInfo.totalCount).toEqual(expect.any(Number));
      const health = await gql<{ health: { status: string } }>(a.url, '{ health { status } }', {}, anonymous);
      expect(health.body.errors).toBeUndefined();
      expect(health.body.data?.health.status).toEqual(expect.any(String));
    });

    it('a token that does not check out is UNAUTHENTICATED (401), not anonymous', async () => {
      const res = await gql(a.url, '{ health { status } }', {}, { authorization: 'Bearer not.a.token' });
      expect(res.status).toBe(401);
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    });

    it('a user without the permission gets FORBIDDEN naming what would open the field, and nothing happens', async () => {
      const catalog = await createTestUser(a, ['CATALOG_MANAGER']);
      const list = await gql(a.url, '{ customers { pageInfo { totalCount } } }', {}, catalog.headers);
      expect(codeOf(list)).toBe('FORBIDDEN');
      expect(list.body.errors![0]!.extensions.requiredAnyOf).toEqual(['CUSTOMER_READ']);
      const one = await gql(
        a.url,
        'query ($id: UUID!) { customer(id: $id) { id } }',
        { id: crypto.randomUUID() },
        catalog.headers,
      );
      expect(codeOf(one)).toBe('FORBIDDEN');
      expect(one.body.errors![0]!.extensions.requiredAnyOf).toEqual(['CUSTOMER_READ', 'SELF_SERVICE']);
      const email = `forbidden-${uniqueTag()}@example.com`;
      const create = await gql(
        a.url,
        `mutation ($email: String!) { createCustomer(input: { email: $email, name: "Nope" }) { id } }`,
        { email },
        catalog.headers,
      );
      expect(codeOf(create)).toBe('FORBIDDEN');
      expect(create.body.errors![0]!.extensions.requiredAnyOf).toEqual(['CUSTOMER_WRITE']);
      expect(await a.database.prisma.customer.count({ where: { email } })).toBe(0);
      // What the role does grant works.
      const me: MeResponse = await gql(a.url, ME, {}, catalog.headers);
      expect(me.body.data?.me.permissions).toEqual(['CATALOG_WRITE', 'INVENTORY_READ']);
    });
  });

  // ---------------------------------------------------------------------------------- IDOR

  describe('object-level rules (no IDOR) for a customer-facing account', () => {
    const CREATE_CART = `mutation ($customerId: UUID!) { createCart(input: { customerId: $customerId }) { id status customer { id } } }`;
    const ADD_ITEM = `mutation ($cartId: UUID!, $variantId: UUID!, $quantity: Int!) {
      addCartItem(input: { cartId: $cartId, variantId: $variantId, quantity: $quantity }) { id items { quantity variant { id } } }
    }`;
    const UPDATE_ITEM = `mutation ($cartId: UUID!, $variantId: UUID!, $quantity: Int!) {
      updateCartItem(input: { cartId: $cartId, variantId: $variantId, quantity: $quantity }) { id }
    }`;
    const REMOVE_ITEM = `mutation ($cartId: UUID!, $variantId: UUID!) {
      removeCartItem(input: { cartId: $cartId, variantId: $variantId }) { id }
    }`;
    const SUBMIT = `mutation ($cartId: UUID!, $warehouseId: UUID!) {
      submitCart(input: { cartId: $cartId, warehouseId: $warehouseId }) { id status totalAmount customer { id } }
    }`;
    const ABANDON = `mutation ($cartId: UUID!) { abandonCart(input: { cartId: $cartId }) { id status } }`;
    const CUSTOMER = `query ($id: UUID!) { customer(id: $id) { id name email orders { id } } }`;
    const ORDER = `query ($id: UUID!) { order(id: $id) { id number customer { id name email } items { quantity } } }`;
    const CART = `query ($id: UUID!) { cart(id: $id) { id customer { id name email } items { quantity } } }`;
    const ORDERS = `query ($customerId: UUID) {
      orders(filter: { customerId: $customerId }, limit: 100) { items { id customer { id } } pageInfo { totalCount } }
    }`;
    const CARTS = `query ($customerId: UUID) {
      carts(filter: { customerId: $customerId }, limit: 100) { items { id customer { id } } pageInfo { totalCount } }
    }`;

    let fixture: Awaited<ReturnType<typeof seedFixture>>;
    let shopper: TestUser;
    let other: {
      id: string;
      name: string;
      email: string;
      phone: string;
      orderId: string;
      orderNumber: string;
      cartId: string;
    };

    beforeAll(async () => {
      fixture = await seedFixture(a.database);
      shopper = await createTestUser(a, ['CUSTOMER'], { customerId: fixture.customerId });
      // Another customer with an order and a pending cart, made by staff.
      const tag = uniqueTag();
      const customer = await a.database.prisma.customer.create({
        data: { email: `other-${tag}@example.com`, name: `Other Customer ${tag}`, phone: `+1555${Date.now() % 1e7}` },
      });
      const staff = a.admin;
      const cart = await gql<{ createCart: { id: string } }>(a.url, CREATE_CART, { customerId: customer.id }, staff);
      const cartId = cart.body.data!.createCart.id;
      await gql(a.url, ADD_ITEM, { cartId, variantId: fixture.variantIds[0], quantity: 1 }, staff);
      const order = await gql<{ submitCart: { id: string } }>(
        a.url,
        SUBMIT,
        { cartId, warehouseId: fixture.warehouseId },
        staff,
      );
      expect(order.body.errors).toBeUndefined();
      const pending = await gql<{ createCart: { id: string } }>(a.url, CREATE_CART, { customerId: customer.id }, staff);
      await gql(
        a.url,
        ADD_ITEM,
        { cartId: pending.body.data!.createCart.id, variantId: fixture.variantIds[1], quantity: 3 },
        staff,
      );
      const orderRow = await a.database.prisma.order.findUniqueOrThrow({
        where: { id: order.body.data!.submitCart.id },
      });
      other = {
        id: customer.id,
        name: customer.name,
        email: customer.email,
        phone: customer.phone!,
        orderId: orderRow.id,
        orderNumber: orderRow.number.toString(),
        cartId: pending.body.data!.createCart.id,
      };
    });

    /** Nothing of the other customer in a response: not its name, email, phone, order id or customer id. */
    function expectNothingOfOther(res: GraphQLResponse<unknown>, allowedIds: string[] = []) {
      const text = JSON.stringify(res.body);
      for (const secret of [other.name, other.email, other.phone, other.id, other.orderId]) {
        if (allowedIds.includes(secret)) continue;
        expect(text).not.toContain(secret);
      }
    }

    it('works on its own customer: reads it, creates a cart, adds items, submits, sees its orders', async () => {
      const own = await gql<{ customer: { id: string } }>(a.url, CUSTOMER, { id: fixture.customerId }, shopper.headers);
      expect(own.body.errors).toBeUndefined();
      expect(own.body.data?.customer.id).toBe(fixture.customerId);

      const cart = await gql<{ createCart: { id: string; status: string; customer: { id: string } } }>(
        a.url,
        CREATE_CART,
        { customerId: fixture.customerId },
        shopper.headers,
      );
      expect(cart.body.errors).toBeUndefined();
      expect(cart.body.data?.createCart).toMatchObject({ status: 'PENDING', customer: { id: fixture.customerId } });
      const cartId = cart.body.data!.createCart.id;
      const added = await gql(
        a.url,
        ADD_ITEM,
        { cartId, variantId: fixture.variantIds[0], quantity: 2 },
        shopper.headers,
      );
      expect(added.body.errors).toBeUndefined();
      const submitted = await gql<{ submitCart: { id: string; status: string; customer: { id: string } } }>(
        a.url,
        SUBMIT,
        { cartId, warehouseId: fixture.warehouseId },
        shopper.headers,
      );
      expect(submitted.body.errors).toBeUndefined();
      expect(submitted.body.data?.submitCart).toMatchObject({
        status: 'PENDING',
        customer: { id: fixture.customerId },
      });

      const ownOrders = await a.database.prisma.order.findMany({ where: { customerId: fixture.customerId } });
      expect(ownOrders.map((o) => o.id)).toContain(submitted.body.data!.submitCart.id);
      for (const customerId of [undefined, fixture.customerId, other.id]) {
        const list = await gql<{
          orders: { items: { id: string; customer: { id: string } }[]; pageInfo: { totalCount: number } };
        }>(a.url, ORDERS, { customerId }, shopper.headers);
        expect(list.body.errors).toBeUndefined();
        expect(sorted(list.body.data!.orders.items.map((o) => o.id))).toEqual(sorted(ownOrders.map((o) => o.id)));
        expect(list.body.data!.orders.pageInfo.totalCount).toBe(ownOrders.length);
        expectNothingOfOther(list);
        const carts = await gql<{ carts: { items: { customer: { id: string } }[] } }>(
          a.url,
          CARTS,
          { customerId },
          shopper.headers,
        );
        expect(carts.body.errors).toBeUndefined();
        expect(carts.body.data!.carts.items.length).toBeGreaterThan(0);
        expect(carts.body.data!.carts.items.every((c) => c.customer.id === fixture.customerId)).toBe(true);
        expectNothingOfOther(carts);
      }
      const order = await gql<{ order: { id: string } }>(
        a.url,
        ORDER,
        { id: submitted.body.data!.submitCart.id },
        shopper.headers,
      );
      expect(order.body.data?.order.id).toBe(submitted.body.data!.submitCart.id);
    });

    it("another customer's records read as null, exactly like ids that do not exist", async () => {
      for (const [query, id, field] of [
        [CUSTOMER, other.id, 'customer'],
        [ORDER, other.orderId, 'order'],
        [CART, other.cartId, 'cart'],
      ] as const) {
        const res = await gql<Record<string, unknown>>(a.url, query, { id }, shopper.headers);
        expect(res.body.errors, field).toBeUndefined();
        expect(res.body.data, field).toEqual({ [field]: null });
        expectNothingOfOther(res);
        const missing = await gql(a.url, query, { id: crypto.randomUUID() }, shopper.headers);
        // The same answer as for an id that does not exist (the cost report aside, which counts every request).
        expect({ ...missing.body, extensions: undefined }).toEqual({ ...res.body, extensions: undefined });
      }
      // Staff see them: the ids are real.
      const staff = await gql<{ order: { id: string } }>(a.url, ORDER, { id: other.orderId }, a.admin);
      expect(staff.body.data?.order.id).toBe(other.orderId);
    });

    it("another customer's cart cannot be changed, submitted or abandoned, nor a cart created for it: NOT_FOUND", async () => {
      const before = await a.database.prisma.cart.findUniqueOrThrow({
        where: { id: other.cartId },
        include: { items: true },
      });
      const cartsBefore = await a.database.prisma.cart.count({ where: { customerId: other.id } });
      const attempts: [string, Record<string, unknown>, string][] = [
        [ADD_ITEM, { cartId: other.cartId, variantId: fixture.variantIds[0], quantity: 5 }, 'Cart'],
        [UPDATE_ITEM, { cartId: other.cartId, variantId: fixture.variantIds[1], quantity: 1 }, 'Cart'],
        [REMOVE_ITEM, { cartId: other.cartId, variantId: fixture.variantIds[1] }, 'Cart'],
        [SUBMIT, { cartId: other.cartId, warehouseId: fixture.warehouseId }, 'Cart'],
        [ABANDON, { cartId: other.cartId }, 'Cart'],
        [CREATE_CART, { customerId: other.id }, 'Customer'],
      ];
      for (const [mutation, variables, resource] of attempts) {
        const res = await gql(a.url, mutation, variables, shopper.headers);
        expect(codeOf(res), mutation).toBe('NOT_FOUND');
        expect(res.body.data, mutation).toBeNull();
        expect(res.body.errors![0]!.extensions.resource).toBe(resource);
        // Only the id the caller sent comes back.
        expectNothingOfOther(res, resource === 'Customer' ? [other.id] : []);
        // The same answer as for an id that does not exist.
        const ghost = crypto.randomUUID();
        const key = resource === 'Customer' ? 'customerId' : 'cartId';
        const missing = await gql(a.url, mutation, { ...variables, [key]: ghost }, shopper.headers);
        expect(codeOf(missing)).toBe('NOT_FOUND');
        expect(missing.body.errors![0]!.message.replace(ghost, '<id>')).toBe(
          res.body.errors![0]!.message.replace(String(variables[key]), '<id>'),
        );
      }
      const after = await a.database.prisma.cart.findUniqueOrThrow({
        where: { id: other.cartId },
        include: { items: true },
      });
      expect(after).toEqual(before);
      expect(await a.database.prisma.cart.count({ where: { customerId: other.id } })).toBe(cartsBefore);
    });
  });

  // ---------------------------------------------------------------------------------- cost

  it('a warm permission check costs no database statement; median timings reported', async () => {
    const user = await createTestUser(a, ['AUDITOR']);
    const cheap = '{ errorCodes { code } }';
    await gql(a.url, ME, {}, user.headers); // warm the cache
    await a.app.audit.flush();

    // Authenticated requests to a public field: token, revocation check and permissions only.
    const statements: string[] = [];
    const loadsBefore = a.app.identity.permissions.stats.databaseLoads;
    const stop = a.database.onStatement((event) => statements.push(event.sql));
    try {
      for (let i = 0; i < 50; i++) expect((await gql(a.url, cheap, {}, user.headers)).body.errors).toBeUndefined();
    } finally {
      stop();
    }
    expect(statements).toEqual([]);
    expect(a.app.identity.permissions.stats.databaseLoads).toBe(loadsBefore);

    // Timings, interleaved so that drift in machine load hits every kind alike.
    const kinds = {
      anonymous: [cheap, { authorization: '' }],
      authenticated: [cheap, user.headers],
      me: [ME, user.headers],
    } as const;
    const samples: Record<keyof typeof kinds, number[]> = { anonymous: [], authenticated: [], me: [] };
    for (let i = 0; i < 50; i++) {
      for (const [kind, [query, headers]] of Object.entries(kinds) as [keyof typeof kinds, (typeof kinds)['me']][]) {
        const started = performance.now();
        const res = await gql(a.url, query, {}, headers);
        samples[kind].push(performance.now() - started);
        expect(res.body.errors).toBeUndefined();
      }
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!.toFixed(2);
    console.info(
      `median of 50 requests: anonymous public field ${median(samples.anonymous)} ms, ` +
        `authenticated public field (token + revocation + cached permissions) ${median(samples.authenticated)} ms, ` +
        `authenticated me ${median(samples.me)} ms`,
    );
  });
});

// ------------------------------------------------------------------------------------ Redis down

describe('Redis down (REQ 7.4): authentication and authorization through the database', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The kit builds its Redis clients from REDIS_URL: nothing listens on port 1.
    t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
  });
  afterAll(async () => {
    if (!t) return;
    t.redis.client.disconnect();
    t.redis.subscriber.disconnect();
    await t.close();
  });

  it('authenticates, authorizes, and sees role changes at once on this instance', async () => {
    expect(t.redis.client.status).not.toBe('ready');
    const admin: MeResponse = await gql(t.url, ME);
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data?.me.roles).toEqual(['ADMIN']);

    const user = await createTestUser(t, ['CATALOG_MANAGER']);
    const list = '{ customers(limit: 1) { pageInfo { totalCount } } }';
    expect(codeOf(await gql(t.url, list, {}, user.headers))).toBe('FORBIDDEN');
    const assign = await gql(t.url, MUTATIONS.assignRole, { userId: user.id, roleName: 'ORDER_DESK' });
    expect(assign.body.errors).toBeUndefined();
    expect((await gql(t.url, list, {}, user.headers)).body.errors).toBeUndefined();
    await gql(t.url, MUTATIONS.revokeRole, { userId: user.id, roleName: 'ORDER_DESK' });
    expect(codeOf(await gql(t.url, list, {}, user.headers))).toBe('FORBIDDEN');
    expect(codeOf(await gql(t.url, ME, {}, { authorization: '' }))).toBe('UNAUTHENTICATED');

    // Signing in works too (login limits in memory), and the new token is honoured.
    const login = await gql<{ login: { accessToken: string } }>(
      t.url,
      'mutation ($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }',
      { email: user.email, password: user.password },
      { authorization: '' },
    );
    expect(login.body.errors).toBeUndefined();
    const me: MeResponse = await gql(t.url, ME, {}, { authorization: `Bearer ${login.body.data!.login.accessToken}` });
    expect(me.body.data?.me.id).toBe(user.id);

    const stats = t.app.identity.permissions.stats;
    expect(stats.redisErrors).toBeGreaterThan(0);
    expect(stats.redisHits).toBe(0);
    expect(stats.databaseLoads).toBeGreaterThan(0);
  });
});

// ------------------------------------------------------------------------------------ secure by default

describe('secure by default: every root field decides @auth or @public', () => {
  const DIRECTIVES = 'directive @auth(anyOf: [String!]) on FIELD_DEFINITION directive @public on FIELD_DEFINITION';
  const sdl = (body: string) => buildSchema(`${DIRECTIVES}\n${body}`);

  it('refuses a Query field with neither, naming it', () => {
    const schema = sdl('type Query { open: Int @public guarded: Int @auth(anyOf: ["X"]) forgotten: Int }');
    expect(() => assertEveryRootFieldDecided(schema)).toThrow(/Query\.forgotten has neither @auth nor @public/);
    expect(() => assertEveryRootFieldDecided(schema)).not.toThrow(/Query\.(open|guarded)/);
  });

  it('refuses a field with both, and a Mutation field with neither', () => {
    expect(() => assertEveryRootFieldDecided(sdl('type Query { both: Int @auth @public }'))).toThrow(
      /Query\.both has both @auth and @public/,
    );
    expect(() =>
      assertEveryRootFieldDecided(sdl('type Query { ok: Int @public } type Mutation { change: Int }')),
    ).toThrow(/Mutation\.change has neither @auth nor @public/);
  });

  it('for any root fields: refuses exactly the undecided and the doubly decided ones', () => {
    const fieldArb = fc.record({
      name: fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,10}$/),
      root: fc.constantFrom('Query', 'Mutation'),
      decision: fc.constantFrom('auth', 'authAnyOf', 'public', 'none', 'both'),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(fieldArb, { selector: (f) => `${f.root}.${f.name}`, minLength: 1, maxLength: 8 }),
        (fields) => {
          const directives = {
            auth: '@auth',
            authAnyOf: '@auth(anyOf: ["A", "B"])',
            public: '@public',
            none: '',
            both: '@public @auth',
          };
          const typeOf = (root: string) =>
            fields
              .filter((f) => f.root === root)
              .map((f) => `${f.name}: Int ${directives[f.decision]}`)
              .join(' ');
          const query = typeOf('Query') || '_placeholder: Int @public';
          const mutation = typeOf('Mutation');
          const schema = sdl(`type Query { ${query} }${mutation ? ` type Mutation { ${mutation} }` : ''}`);
          const expected = fields
            .filter((f) => f.decision === 'none' || f.decision === 'both')
            .map(
              (f) =>
                `${f.root}.${f.name} has ${f.decision === 'none' ? 'neither @auth nor @public' : 'both @auth and @public'}`,
            );
          let problems: string[] = [];
          try {
            assertEveryRootFieldDecided(schema);
          } catch (error) {
            problems = (error as Error).message
              .split('\n')
              .slice(1)
              .map((line) => line.replace(/^ {2}- /, ''));
          }
          expect(sorted(problems)).toEqual(sorted(expected));
        },
      ),
      RUNS,
    );
  });

  it('the real app schema passes, and every Query/Mutation field of schema/schema.graphql carries exactly one', async () => {
    expect(() => assertEveryRootFieldDecided(appSchema)).not.toThrow();
    const committed = buildSchema(readFileSync(join(ROOT, 'schema', 'schema.graphql'), 'utf8'));
    expect(() => assertEveryRootFieldDecided(committed)).not.toThrow();
    const undecided: string[] = [];
    let count = 0;
    for (const root of [committed.getQueryType()!, committed.getMutationType()!]) {
      for (const field of Object.values(root.getFields())) {
        count += 1;
        const names = (field.astNode?.directives ?? []).map((d) => d.name.value);
        if (names.filter((n) => n === 'auth' || n === 'public').length !== 1)
          undecided.push(`${root.name}.${field.name}`);
      }
    }
    expect(count).toBeGreaterThan(40);
    expect(undecided).toEqual([]);
  });

  let appSchema: GraphQLSchema;
  beforeAll(async () => {
    appSchema = await buildGraphQLSchema();
  });

  // The @sensitive and @auth wrappers compose: the check always runs.
  it('a field with both @sensitive and @auth still requires authentication', async () => {
    const schema = applyAuthDirectives(
      buildSchema(
        `${DIRECTIVES} directive @sensitive on FIELD_DEFINITION
         type Query { secret: String @auth(anyOf: ["AUDIT_READ"]) @sensitive open: Int @public }`,
      ),
    );
    const result = await graphql({
      schema,
      source: '{ secret }',
      rootValue: { secret: 'classified' },
      contextValue: { actor: ANONYMOUS, sensitiveReads: new Set<string>() },
    });
    expect(result.data?.secret ?? null).toBeNull();
    expect(result.errors?.[0]?.message).toMatch(/authentic/i);
  });
});

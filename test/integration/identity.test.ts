import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { gql, startTestApp, type TestApp } from '../helpers/kit.js';

interface PermissionView {
  id: string;
  key: string;
  description: string;
}

interface RoleView {
  id: string;
  name: string;
  description: string;
  isSystem: boolean;
  createdAt: string;
  permissions: PermissionView[];
}

interface UserView {
  id: string;
  email: string;
  displayName: string;
  isActive: boolean;
  customerId: string | null;
  mfaEnabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
  roles?: RoleView[];
}

interface UserPageView {
  items: UserView[];
  pageInfo: { page: number; limit: number; totalCount: number; hasNextPage: boolean };
}

const USER_FIELDS = 'id email displayName isActive customerId mfaEnabled lastLoginAt createdAt';
const ROLE_FIELDS = 'id name description isSystem createdAt permissions { id key description }';
const USER = `query ($id: UUID!) { user(id: $id) { ${USER_FIELDS} roles { ${ROLE_FIELDS} } } }`;
const USERS = `query ($filter: UserFilter, $page: Int, $limit: Int, $orderBy: [UserOrderBy!]) {
  users(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) {
    items { ${USER_FIELDS} }
    pageInfo { page limit totalCount hasNextPage }
  }
}`;
const ROLE = `query ($id: UUID!) { role(id: $id) { ${ROLE_FIELDS} } }`;

/** A lower-case token no other test's data contains. */
function uniqueTag(): string {
  return `id${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

describe('identity (read side) over real HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function seedUsers(rows: Omit<Prisma.UserCreateInput, 'passwordHash'>[]) {
    const users = [];
    for (const data of rows) users.push(await t.database.prisma.user.create({ data: { ...data, passwordHash: 'x' } }));
    return users;
  }

  async function listUsers(variables: Record<string, unknown>) {
    const res = await gql<{ users: UserPageView }>(t.url, USERS, variables);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.users;
  }

  /** Two roles and three permissions: admin grants all three, viewer only read. */
  async function seedRbac(tag: string) {
    const prisma = t.database.prisma;
    const [read, write, approve] = await Promise.all(
      ['READ', 'WRITE', 'APPROVE'].map((suffix) =>
        prisma.permission.create({
          data: { key: `${tag.toUpperCase()}_${suffix}`, description: `Can ${suffix.toLowerCase()} ${tag}` },
        }),
      ),
    );
    const admin = await prisma.role.create({
      data: { name: `${tag}-admin`, description: 'Everything', isSystem: true },
    });
    const viewer = await prisma.role.create({ data: { name: `${tag}-viewer`, description: 'Read only' } });
    await prisma.rolePermission.createMany({
      data: [
        { roleId: admin.id, permissionId: write!.id },
        { roleId: admin.id, permissionId: read!.id },
        { roleId: admin.id, permissionId: approve!.id },
        { roleId: viewer.id, permissionId: read!.id },
      ],
    });
    return { read: read!, write: write!, approve: approve!, admin, viewer };
  }

  describe('user(id)', () => {
    it('returns the user with its roles by name and each role with its permissions by key', async () => {
      const tag = uniqueTag();
      const { read, write, approve, admin, viewer } = await seedRbac(tag);
      const customer = await t.database.prisma.customer.create({
        data: { email: `${tag}@example.com`, name: `Customer ${tag}` },
      });
      const lastLoginAt = new Date('2024-05-06T07:08:09.123Z');
      const [user] = await seedUsers([
        {
          email: `Ada.${tag}@Example.com`,
          displayName: `<i>Ada</i> & "Co" ${tag}`,
          mfaEnabled: true,
          mfaSecret: 'encrypted-secret',
          lastLoginAt,
          customer: { connect: { id: customer.id } },
        },
      ]);
      // Assigned viewer first: the order of roles comes from their names, not assignment.
      await t.database.prisma.userRole.createMany({
        data: [
          { userId: user!.id, roleId: viewer.id },
          { userId: user!.id, roleId: admin.id },
        ],
      });

      const res = await gql<{ user: UserView }>(t.url, USER, { id: user!.id });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.user).toEqual({
        id: user!.id,
        email: `Ada.${tag}@Example.com`,
        displayName: `<i>Ada</i> & "Co" ${tag}`,
        isActive: true,
        customerId: customer.id,
        mfaEnabled: true,
        lastLoginAt: lastLoginAt.toISOString(),
        createdAt: user!.createdAt.toISOString(),
        roles: [
          {
            id: admin.id,
            name: `${tag}-admin`,
            description: 'Everything',
            isSystem: true,
            createdAt: admin.createdAt.toISOString(),
            permissions: [approve, read, write].map((p) => ({ id: p.id, key: p.key, description: p.description })),
          },
          {
            id: viewer.id,
            name: `${tag}-viewer`,
            description: 'Read only',
            isSystem: false,
            createdAt: viewer.createdAt.toISOString(),
            permissions: [{ id: read.id, key: read.key, description: read.description }],
          },
        ],
      });
    });

    it('gives a user without roles an empty list and nulls for what is unset', async () => {
      const tag = uniqueTag();
      const [user] = await seedUsers([{ email: `${tag}@example.com`, displayName: `Plain ${tag}`, isActive: false }]);
      const res = await gql<{ user: UserView }>(t.url, USER, { id: user!.id });
      expect(res.body.data?.user).toMatchObject({ isActive: false, customerId: null, lastLoginAt: null, roles: [] });
    });

    it('returns null for an unknown id and rejects a malformed one', async () => {
      const res = await gql<{ user: UserView | null }>(t.url, USER, { id: randomUUID() });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.user).toBeNull();
      const malformed = await gql(t.url, USER, { id: '42' });
      expect(malformed.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    });

    it('loads roles and permissions of many users in one statement per level (REQ 6.3)', async () => {
      const tag = uniqueTag();
      const { admin, viewer } = await seedRbac(tag);
      const users = await seedUsers(
        [1, 2, 3, 4].map((i) => ({ email: `${tag}.${i}@example.com`, displayName: `Batch ${tag} ${i}` })),
      );
      await t.database.prisma.userRole.createMany({
        data: users.map((u, i) => ({ userId: u.id, roleId: i % 2 === 0 ? admin.id : viewer.id })),
      });
      const sql: string[] = [];
      const stop = t.database.onStatement((event) => sql.push(event.sql));
      let res;
      try {
        res = await gql<{
          users: { items: { id: string; roles: { name: string; permissions: { key: string }[] }[] }[] };
        }>(
          t.url,
          `query ($search: String) {
            users(filter: { search: $search }, limit: 10, orderBy: [{ field: EMAIL }]) {
              items { id roles { name permissions { key } } }
            }
          }`,
          { search: tag },
        );
      } finally {
        stop();
      }
      expect(res.body.errors).toBeUndefined();
      const items = res.body.data!.users.items;
      expect(items.map((u) => u.id)).toEqual(users.map((u) => u.id));
      expect(items.map((u) => u.roles.map((r) => r.name))).toEqual([
        [`${tag}-admin`],
        [`${tag}-viewer`],
        [`${tag}-admin`],
        [`${tag}-viewer`],
      ]);
      expect(items[0]!.roles[0]!.permissions).toHaveLength(3);
      expect(items[1]!.roles[0]!.permissions).toHaveLength(1);
      expect(sql.filter((s) => /"user_roles"/.test(s) && /^\s*SELECT/i.test(s))).toHaveLength(1);
      expect(sql.filter((s) => /"role_permissions"/.test(s) && /^\s*SELECT/i.test(s))).toHaveLength(1);
    });
  });

  describe('users', () => {
    it('searches email or display name without regard to letter case, and filters by isActive', async () => {
      const tag = uniqueTag();
      const [byEmail, byName, inactive] = await seedUsers([
        { email: `${tag}.mail@example.com`, displayName: 'Someone' },
        { email: `${uniqueTag()}@example.com`, displayName: `Name ${tag.toUpperCase()}` },
        { email: `${tag}.gone@example.com`, displayName: 'Former', isActive: false },
      ]);
      await seedUsers([{ email: `${uniqueTag()}@example.com`, displayName: 'Unrelated' }]);
      const all = await listUsers({ filter: { search: tag.toUpperCase() } });
      expect(all.items.map((u) => u.id).sort()).toEqual([byEmail!.id, byName!.id, inactive!.id].sort());
      expect(all.pageInfo.totalCount).toBe(3);
      const active = await listUsers({ filter: { search: tag, isActive: true } });
      expect(active.items.map((u) => u.id).sort()).toEqual([byEmail!.id, byName!.id].sort());
      const deactivated = await listUsers({ filter: { search: tag, isActive: false } });
      expect(deactivated.items.map((u) => u.id)).toEqual([inactive!.id]);
    });

    it('lists newest first by default and paginates with totalCount and hasNextPage', async () => {
      const tag = uniqueTag();
      const users = await seedUsers(
        [1, 2, 3].map((i) => ({
          email: `${tag}.${i}@example.com`,
          displayName: `Paged ${tag}`,
          createdAt: new Date(Date.UTC(2005, 0, i)),
        })),
      );
      const newestFirst = [...users].reverse().map((u) => u.id);
      const page1 = await listUsers({ filter: { search: tag }, limit: 2 });
      expect(page1.items.map((u) => u.id)).toEqual(newestFirst.slice(0, 2));
      expect(page1.pageInfo).toEqual({ page: 1, limit: 2, totalCount: 3, hasNextPage: true });
      const page2 = await listUsers({ filter: { search: tag }, limit: 2, page: 2 });
      expect(page2.items.map((u) => u.id)).toEqual(newestFirst.slice(2));
      expect(page2.pageInfo).toEqual({ page: 2, limit: 2, totalCount: 3, hasNextPage: false });
    });

    it('sorts by each UserOrderField in both directions', async () => {
      const tag = uniqueTag();
      // Each field orders the three rows differently, so a wrong column cannot pass by accident.
      const [a, b, c] = await seedUsers([
        {
          email: `${tag}.b@example.com`,
          displayName: `${tag} c`,
          createdAt: new Date('2006-01-01T00:00:00Z'),
          lastLoginAt: new Date('2006-02-02T00:00:00Z'),
        },
        {
          email: `${tag}.c@example.com`,
          displayName: `${tag} a`,
          createdAt: new Date('2006-01-02T00:00:00Z'),
          lastLoginAt: new Date('2006-02-03T00:00:00Z'),
        },
        {
          email: `${tag}.a@example.com`,
          displayName: `${tag} b`,
          createdAt: new Date('2006-01-03T00:00:00Z'),
          lastLoginAt: new Date('2006-02-01T00:00:00Z'),
        },
      ]);
      const expected: Record<string, string[]> = {
        EMAIL: [c!.id, a!.id, b!.id],
        DISPLAY_NAME: [b!.id, c!.id, a!.id],
        CREATED_AT: [a!.id, b!.id, c!.id],
        LAST_LOGIN_AT: [c!.id, a!.id, b!.id],
      };
      for (const [field, ascending] of Object.entries(expected)) {
        const asc = await listUsers({ filter: { search: tag }, orderBy: [{ field, direction: 'ASC' }] });
        expect(
          asc.items.map((u) => u.id),
          `${field} ASC`,
        ).toEqual(ascending);
        const desc = await listUsers({ filter: { search: tag }, orderBy: [{ field, direction: 'DESC' }] });
        expect(
          desc.items.map((u) => u.id),
          `${field} DESC`,
        ).toEqual([...ascending].reverse());
      }
    });

    it('puts users who never signed in last when sorting by LAST_LOGIN_AT ascending, first descending', async () => {
      const tag = uniqueTag();
      const [never, signedIn] = await seedUsers([
        { email: `${tag}.never@example.com`, displayName: 'Never' },
        { email: `${tag}.once@example.com`, displayName: 'Once', lastLoginAt: new Date('2007-01-01T00:00:00Z') },
      ]);
      const asc = await listUsers({ filter: { search: tag }, orderBy: [{ field: 'LAST_LOGIN_AT', direction: 'ASC' }] });
      expect(asc.items.map((u) => u.id)).toEqual([signedIn!.id, never!.id]);
      const desc = await listUsers({
        filter: { search: tag },
        orderBy: [{ field: 'LAST_LOGIN_AT', direction: 'DESC' }],
      });
      expect(desc.items.map((u) => u.id)).toEqual([never!.id, signedIn!.id]);
    });

    it('rejects limit 1001 and page 0 together', async () => {
      const res = await gql(t.url, USERS, { limit: 1001, page: 0 });
      expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(res.body.errors?.[0]?.extensions.fields as object).sort()).toEqual(['limit', 'page']);
    });

    it('rejects a sort field that is not in UserOrderField, and control characters in the search', async () => {
      const res = await gql(t.url, '{ users(orderBy: [{ field: PASSWORD_HASH }]) { items { id } } }');
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const control = await gql(t.url, USERS, { filter: { search: 'x\u0008' } });
      expect(control.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect(Object.keys(control.body.errors?.[0]?.extensions.fields as object)).toEqual(['filter.search']);
    });
  });

  describe('roles and permissions', () => {
    it('role(id) returns the role with its permissions by key; null for an unknown id', async () => {
      const tag = uniqueTag();
      const { read, viewer } = await seedRbac(tag);
      const res = await gql<{ role: RoleView }>(t.url, ROLE, { id: viewer.id });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.role).toEqual({
        id: viewer.id,
        name: `${tag}-viewer`,
        description: 'Read only',
        isSystem: false,
        createdAt: viewer.createdAt.toISOString(),
        permissions: [{ id: read.id, key: read.key, description: read.description }],
      });
      const missing = await gql<{ role: RoleView | null }>(t.url, ROLE, { id: randomUUID() });
      expect(missing.body.errors).toBeUndefined();
      expect(missing.body.data?.role).toBeNull();
    });

    it('roles lists every role by name', async () => {
      const tag = uniqueTag();
      const { admin, viewer } = await seedRbac(tag);
      const res = await gql<{ roles: { id: string; name: string }[] }>(t.url, '{ roles { id name } }');
      expect(res.body.errors).toBeUndefined();
      const ids = res.body.data!.roles.map((r) => r.id);
      expect(ids).toContain(admin.id);
      expect(ids.indexOf(admin.id)).toBeLessThan(ids.indexOf(viewer.id));
      const names = res.body.data!.roles.filter((r) => r.name.startsWith(tag)).map((r) => r.name);
      expect(names).toEqual([`${tag}-admin`, `${tag}-viewer`]);
    });

    it('permissions lists every permission by key', async () => {
      const tag = uniqueTag();
      const { read, write, approve } = await seedRbac(tag);
      const res = await gql<{ permissions: PermissionView[] }>(t.url, '{ permissions { id key description } }');
      expect(res.body.errors).toBeUndefined();
      const mine = res.body.data!.permissions.filter((p) => p.key.startsWith(tag.toUpperCase()));
      expect(mine).toEqual([approve, read, write].map((p) => ({ id: p.id, key: p.key, description: p.description })));
    });
  });

  describe('secrets stay out of the graph', () => {
    it('has no field for password hashes or MFA secrets anywhere in the schema', async () => {
      const res = await gql<{ __schema: { types: { name: string; fields: { name: string }[] | null }[] } }>(
        t.url,
        '{ __schema { types { name fields { name } inputFields { name } } } }',
      );
      expect(res.body.errors).toBeUndefined();
      const userType = res.body.data!.__schema.types.find((type) => type.name === 'User');
      expect(userType?.fields?.map((f) => f.name).sort()).toEqual(
        [
          'createdAt',
          'customerId',
          'displayName',
          'email',
          'id',
          'isActive',
          'lastLoginAt',
          'mfaEnabled',
          'roles',
        ].sort(),
      );
      expect(JSON.stringify(res.body.data)).not.toMatch(/passwordHash|mfaSecret|password_hash|mfa_secret/i);
    });

    it('refuses to select passwordHash or mfaSecret', async () => {
      const tag = uniqueTag();
      const [user] = await seedUsers([{ email: `${tag}@example.com`, displayName: tag }]);
      for (const field of ['passwordHash', 'mfaSecret']) {
        const res = await gql(t.url, `query ($id: UUID!) { user(id: $id) { id ${field} } }`, { id: user!.id });
        expect(res.status).toBe(400);
        expect(res.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(JSON.stringify(res.body)).not.toContain('"x"');
      }
    });
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { gql, startTestApp, type TestApp } from '../helpers/kit.js';

interface CustomerView {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  address: string | null;
  createdAt: string;
  updatedAt: string;
}

interface CustomerPageView {
  items: CustomerView[];
  pageInfo: { page: number; limit: number; totalCount: number; hasNextPage: boolean };
}

const FIELDS = 'id email name phone address createdAt updatedAt';
const PAGE = `items { ${FIELDS} } pageInfo { page limit totalCount hasNextPage }`;

const CREATE = `mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: UUID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { ${FIELDS} } }`;
const BY_ID = `query ($id: UUID!) { customer(id: $id) { ${FIELDS} } }`;
const BY_EMAIL = `query ($email: String!) { customerByEmail(email: $email) { ${FIELDS} } }`;
const LIST = `query ($filter: CustomerFilter, $page: Int, $limit: Int, $orderBy: [CustomerOrderBy!]) {
  customers(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) { ${PAGE} }
}`;

/** A lower-case token no other test's data contains. */
function uniqueTag(): string {
  return `cu${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

describe('customers over real HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function create(input: Record<string, unknown>) {
    const res = await gql<{ createCustomer: CustomerView }>(t.url, CREATE, { input });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.createCustomer;
  }

  /** Rows with chosen creation times, for ordering and date-range checks. */
  async function seed(rows: Prisma.CustomerCreateInput[]) {
    const created = [];
    for (const data of rows) created.push(await t.database.prisma.customer.create({ data }));
    return created;
  }

  async function list(variables: Record<string, unknown>) {
    const res = await gql<{ customers: CustomerPageView }>(t.url, LIST, variables);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.customers;
  }

  describe('createCustomer and customer(id)', () => {
    it('creates a customer and reads it back by id with every field as given', async () => {
      const tag = uniqueTag();
      const input = {
        email: `Buyer.${tag}@Example.COM`,
        name: `<b>O'Brien & Co</b> ${tag}`,
        phone: '+1 (555) 010-4477',
        address: '1 Main Street\nSuite 200\r\nSpringfield\t42',
      };
      const created = await create(input);
      expect(created).toMatchObject(input);
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(created.createdAt)).not.toBeNaN();
      expect(created.updatedAt).toBe(created.createdAt);

      const read = await gql<{ customer: CustomerView }>(t.url, BY_ID, { id: created.id });
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data?.customer).toEqual(created);
      const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: created.id } });
      expect(row.name).toBe(input.name);
      expect(row.email).toBe(input.email);
      expect(row.address).toBe(input.address);
    });

    it('leaves phone and address null when omitted', async () => {
      const tag = uniqueTag();
      const created = await create({ email: `${tag}@example.com`, name: `Plain ${tag}` });
      expect(created).toMatchObject({ phone: null, address: null });
    });

    it('returns null for an unknown id and rejects a malformed one', async () => {
      const missing = await gql<{ customer: CustomerView | null }>(t.url, BY_ID, { id: randomUUID() });
      expect(missing.body.errors).toBeUndefined();
      expect(missing.body.data?.customer).toBeNull();
      const malformed = await gql(t.url, BY_ID, { id: 'not-a-uuid' });
      expect(malformed.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    });
  });

  describe('customerByEmail', () => {
    it('finds a customer whatever the letter case, returning the email as stored', async () => {
      const tag = uniqueTag();
      const created = await create({ email: `Mixed.${tag}@Example.com`, name: `Mixed ${tag}` });
      for (const email of [created.email, created.email.toUpperCase(), created.email.toLowerCase()]) {
        const res = await gql<{ customerByEmail: CustomerView | null }>(t.url, BY_EMAIL, { email });
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data?.customerByEmail?.id).toBe(created.id);
        expect(res.body.data?.customerByEmail?.email).toBe(`Mixed.${tag}@Example.com`);
      }
    });

    it('returns null when no customer has the email, and rejects a non-email', async () => {
      const res = await gql<{ customerByEmail: CustomerView | null }>(t.url, BY_EMAIL, {
        email: `${uniqueTag()}@example.com`,
      });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.customerByEmail).toBeNull();
      const bad = await gql(t.url, BY_EMAIL, { email: 'nobody' });
      expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect(Object.keys(bad.body.errors?.[0]?.extensions.fields as object)).toEqual(['email']);
    });
  });

  describe('email uniqueness (spec 004 section 8.1)', () => {
    it('refuses a second customer with the same email in another letter case: CONFLICT on email', async () => {
      const tag = uniqueTag();
      await create({ email: `dup.${tag}@example.com`, name: `First ${tag}` });
      const res = await gql(t.url, CREATE, { input: { email: `DUP.${tag}@EXAMPLE.com`, name: `Second ${tag}` } });
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
      expect(res.body.errors?.[0]?.message).toBe('A customer with this email already exists.');
      expect(await t.database.prisma.customer.count({ where: { name: `Second ${tag}` } })).toBe(0);
    });

    it("refuses changing an email to another customer's, in any letter case: CONFLICT on email", async () => {
      const tag = uniqueTag();
      await create({ email: `taken.${tag}@example.com`, name: `Holder ${tag}` });
      const other = await create({ email: `free.${tag}@example.com`, name: `Other ${tag}` });
      const res = await gql(t.url, UPDATE, { id: other.id, input: { email: `Taken.${tag}@Example.com` } });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
      const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: other.id } });
      expect(row.email).toBe(`free.${tag}@example.com`);
    });

    it('lets a customer change the letter case of its own email', async () => {
      const tag = uniqueTag();
      const created = await create({ email: `self.${tag}@example.com`, name: `Self ${tag}` });
      const res = await gql<{ updateCustomer: CustomerView }>(t.url, UPDATE, {
        id: created.id,
        input: { email: `Self.${tag}@Example.com` },
      });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.updateCustomer.email).toBe(`Self.${tag}@Example.com`);
    });

    it('concurrent creates of one email in different cases: exactly one wins, the rest CONFLICT on email', async () => {
      const tag = uniqueTag();
      const variants = [
        `race.${tag}@example.com`,
        `RACE.${tag}@example.com`,
        `Race.${tag}@Example.com`,
        `race.${tag}@EXAMPLE.COM`,
      ];
      const results = await Promise.all(
        variants.map((email, i) => gql(t.url, CREATE, { input: { email, name: `Racer ${tag} ${i}` } })),
      );
      const winners = results.filter((r) => !r.body.errors);
      expect(winners).toHaveLength(1);
      for (const loser of results.filter((r) => r.body.errors)) {
        expect(loser.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
      }
      expect(await t.database.prisma.customer.count({ where: { email: `race.${tag}@example.com` } })).toBe(1);
    });

    it('the unique index is the backstop: a direct duplicate insert fails', async () => {
      const tag = uniqueTag();
      await create({ email: `index.${tag}@example.com`, name: `Index ${tag}` });
      await expect(
        t.database.prisma.customer.create({ data: { email: `INDEX.${tag}@example.com`, name: 'direct' } }),
      ).rejects.toMatchObject({ code: 'P2002' });
    });
  });

  describe('updateCustomer', () => {
    it('changes only the given fields; null clears phone and address', async () => {
      const tag = uniqueTag();
      const created = await create({
        email: `upd.${tag}@example.com`,
        name: `Before ${tag}`,
        phone: '555 0100',
        address: 'Old street 1',
      });
      const renamed = await gql<{ updateCustomer: CustomerView }>(t.url, UPDATE, {
        id: created.id,
        input: { name: `After & "quoted" ${tag}` },
      });
      expect(renamed.body.errors).toBeUndefined();
      expect(renamed.body.data?.updateCustomer).toMatchObject({
        id: created.id,
        email: created.email,
        name: `After & "quoted" ${tag}`,
        phone: '555 0100',
        address: 'Old street 1',
      });
      expect(Date.parse(renamed.body.data!.updateCustomer.updatedAt)).toBeGreaterThanOrEqual(
        Date.parse(created.updatedAt),
      );

      const cleared = await gql<{ updateCustomer: CustomerView }>(t.url, UPDATE, {
        id: created.id,
        input: { phone: null, address: null },
      });
      expect(cleared.body.errors).toBeUndefined();
      expect(cleared.body.data?.updateCustomer).toMatchObject({
        name: `After & "quoted" ${tag}`,
        phone: null,
        address: null,
      });
    });

    it('answers NOT_FOUND for an id that does not exist', async () => {
      const id = randomUUID();
      const res = await gql(t.url, UPDATE, { id, input: { name: 'Nobody' } });
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', resource: 'Customer', id });
    });

    it('validates the changes like a new customer', async () => {
      const tag = uniqueTag();
      const created = await create({ email: `val.${tag}@example.com`, name: `Valid ${tag}` });
      const res = await gql(t.url, UPDATE, {
        id: created.id,
        input: { email: 'nope', name: '', phone: 'x', address: 'a'.repeat(1001) },
      });
      expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(res.body.errors?.[0]?.extensions.fields as object).sort()).toEqual([
        'input.address',
        'input.email',
        'input.name',
        'input.phone',
      ]);
    });
  });

  describe('input validation (REQ 2.1-2.4)', () => {
    it('reports every violation of a request together, keyed by path', async () => {
      const res = await gql(t.url, CREATE, {
        input: { email: 'not-an-email', name: '   ', phone: 'call me', address: 'x'.repeat(1001) },
      });
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors).toHaveLength(1);
      const extensions = res.body.errors![0]!.extensions;
      expect(extensions.code).toBe('VALIDATION_ERROR');
      const fields = extensions.fields as Record<string, string[]>;
      expect(Object.keys(fields).sort()).toEqual(['input.address', 'input.email', 'input.name', 'input.phone']);
      expect(fields['input.name']).toContain('name must not be blank');
      expect(fields['input.email']!.join(' ')).toMatch(/email/);
    });

    it('enforces the length limits: email 254, name 200, phone 40', async () => {
      const tag = uniqueTag();
      const longEmail = `${'a'.repeat(64)}.${tag}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(50)}.com`;
      expect(longEmail.length).toBeGreaterThan(254);
      const res = await gql(t.url, CREATE, {
        input: { email: longEmail, name: 'n'.repeat(201), phone: `+${'1'.repeat(40)}` },
      });
      expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(res.body.errors?.[0]?.extensions.fields as object).sort()).toEqual([
        'input.email',
        'input.name',
        'input.phone',
      ]);

      const atLimits = await create({
        email: `${tag}@example.com`,
        name: 'n'.repeat(200),
        phone: `+${'1'.repeat(39)}`,
        address: 'a'.repeat(1000),
      });
      expect(atLimits.name).toHaveLength(200);
      expect(atLimits.address).toHaveLength(1000);
    });

    it('rejects control characters in every text field; only the address may span lines', async () => {
      const tag = uniqueTag();
      const res = await gql(t.url, CREATE, {
        input: {
          email: `ctl.${tag}@example.com\u0000`,
          name: `Bell\u0007 ${tag}`,
          phone: '555\u00850100',
          address: `Street\u001b[31m`,
        },
      });
      expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
      const fields = res.body.errors?.[0]?.extensions.fields as Record<string, string[]>;
      expect(Object.keys(fields).sort()).toEqual(['input.address', 'input.email', 'input.name', 'input.phone']);
      expect(fields['input.name']).toContain('name must not contain control characters');

      const newlineInName = await gql(t.url, CREATE, {
        input: { email: `nl.${tag}@example.com`, name: `Two\nLines ${tag}` },
      });
      expect(Object.keys(newlineInName.body.errors?.[0]?.extensions.fields as object)).toEqual(['input.name']);
      expect(await t.database.prisma.customer.count({ where: { email: { contains: tag } } })).toBe(0);
    });

    it('stores markup and quotes exactly as given, never escaped', async () => {
      const tag = uniqueTag();
      const name = `<b>O'Brien & Co</b>`;
      const address = `<script>alert("x")</script>\n'; DROP TABLE customers; --\n${tag} Ünïcødé 東京`;
      const created = await create({ email: `markup.${tag}@example.com`, name, address });
      const res = await gql<{ customer: CustomerView }>(t.url, BY_ID, { id: created.id });
      expect(res.body.data?.customer.name).toBe(name);
      expect(res.body.data?.customer.address).toBe(address);
    });
  });

  describe('customers list', () => {
    it('searches name or email without regard to letter case', async () => {
      const tag = uniqueTag();
      const byName = await create({ email: `one.${uniqueTag()}@example.com`, name: `Acme ${tag.toUpperCase()}` });
      const byEmail = await create({ email: `${tag}.two@example.com`, name: `Globex ${uniqueTag()}` });
      await create({ email: `${uniqueTag()}@example.com`, name: `Unrelated ${uniqueTag()}` });
      const page = await list({ filter: { search: tag } });
      expect(page.items.map((c) => c.id).sort()).toEqual([byName.id, byEmail.id].sort());
      expect(page.pageInfo.totalCount).toBe(2);
      const upper = await list({ filter: { search: tag.toUpperCase() } });
      expect(upper.pageInfo.totalCount).toBe(2);
    });

    it('filters by creation time: createdFrom inclusive, createdTo exclusive', async () => {
      const tag = uniqueTag();
      const [, jan2, jan3] = await seed(
        ['2001-01-01', '2001-01-02', '2001-01-03', '2001-01-04'].map((day, i) => ({
          email: `${tag}.${i}@example.com`,
          name: `Dated ${tag} ${i}`,
          createdAt: new Date(`${day}T00:00:00.000Z`),
        })),
      );
      const page = await list({
        filter: { search: tag, createdFrom: '2001-01-02T00:00:00.000Z', createdTo: '2001-01-04T00:00:00.000Z' },
        orderBy: [{ field: 'CREATED_AT', direction: 'ASC' }],
      });
      expect(page.items.map((c) => c.id)).toEqual([jan2!.id, jan3!.id]);
      expect(await list({ filter: { search: tag, createdFrom: '2001-01-03T00:00:00Z' } })).toMatchObject({
        pageInfo: { totalCount: 2 },
      });
      expect(await list({ filter: { search: tag, createdTo: '2001-01-03T00:00:00Z' } })).toMatchObject({
        pageInfo: { totalCount: 2 },
      });
    });

    it('lists newest first by default and paginates with totalCount and hasNextPage', async () => {
      const tag = uniqueTag();
      const rows = await seed(
        [1, 2, 3, 4, 5].map((i) => ({
          email: `${tag}.${i}@example.com`,
          name: `Paged ${tag} ${i}`,
          createdAt: new Date(Date.UTC(2002, 0, i)),
        })),
      );
      const newestFirst = [...rows].reverse().map((r) => r.id);
      const page1 = await list({ filter: { search: tag }, limit: 2 });
      expect(page1.items.map((c) => c.id)).toEqual(newestFirst.slice(0, 2));
      expect(page1.pageInfo).toEqual({ page: 1, limit: 2, totalCount: 5, hasNextPage: true });
      const page2 = await list({ filter: { search: tag }, limit: 2, page: 2 });
      expect(page2.items.map((c) => c.id)).toEqual(newestFirst.slice(2, 4));
      expect(page2.pageInfo).toEqual({ page: 2, limit: 2, totalCount: 5, hasNextPage: true });
      const page3 = await list({ filter: { search: tag }, limit: 2, page: 3 });
      expect(page3.items.map((c) => c.id)).toEqual(newestFirst.slice(4));
      expect(page3.pageInfo).toEqual({ page: 3, limit: 2, totalCount: 5, hasNextPage: false });
      const beyond = await list({ filter: { search: tag }, limit: 2, page: 4 });
      expect(beyond.items).toEqual([]);
      expect(beyond.pageInfo).toMatchObject({ totalCount: 5, hasNextPage: false });
    });

    it('sorts by each CustomerOrderField in both directions', async () => {
      const tag = uniqueTag();
      // Each field orders the three rows differently, so a wrong column cannot pass by accident.
      const [a, b, c] = await seed([
        { name: `${tag} b`, email: `${tag}.c@example.com`, createdAt: new Date('2003-01-01T00:00:00Z') },
        { name: `${tag} c`, email: `${tag}.a@example.com`, createdAt: new Date('2003-01-02T00:00:00Z') },
        { name: `${tag} a`, email: `${tag}.b@example.com`, createdAt: new Date('2003-01-03T00:00:00Z') },
      ]);
      const expected: Record<string, string[]> = {
        NAME: [c!.id, a!.id, b!.id],
        EMAIL: [b!.id, c!.id, a!.id],
        CREATED_AT: [a!.id, b!.id, c!.id],
      };
      for (const [field, ascending] of Object.entries(expected)) {
        const asc = await list({ filter: { search: tag }, orderBy: [{ field, direction: 'ASC' }] });
        expect(
          asc.items.map((x) => x.id),
          `${field} ASC`,
        ).toEqual(ascending);
        const desc = await list({ filter: { search: tag }, orderBy: [{ field, direction: 'DESC' }] });
        expect(
          desc.items.map((x) => x.id),
          `${field} DESC`,
        ).toEqual([...ascending].reverse());
      }
    });

    it('sorts by several keys, most significant first', async () => {
      const tag = uniqueTag();
      const [older, newer, other] = await seed([
        { name: `${tag} same`, email: `${tag}.1@example.com`, createdAt: new Date('2004-01-01T00:00:00Z') },
        { name: `${tag} same`, email: `${tag}.2@example.com`, createdAt: new Date('2004-01-02T00:00:00Z') },
        { name: `${tag} zzz`, email: `${tag}.3@example.com`, createdAt: new Date('2004-01-03T00:00:00Z') },
      ]);
      const page = await list({
        filter: { search: tag },
        orderBy: [
          { field: 'NAME', direction: 'ASC' },
          { field: 'CREATED_AT', direction: 'DESC' },
        ],
      });
      expect(page.items.map((x) => x.id)).toEqual([newer!.id, older!.id, other!.id]);
    });

    it('rejects limit 1001 and page 0 together', async () => {
      const res = await gql(t.url, LIST, { limit: 1001, page: 0 });
      expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
      expect(res.body.errors?.[0]?.extensions.fields).toEqual({
        limit: ['limit must be at most 1000'],
        page: ['page must be at least 1'],
      });
      const ok = await gql<{ customers: CustomerPageView }>(t.url, LIST, {
        limit: 1000,
        filter: { search: uniqueTag() },
      });
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data?.customers.pageInfo).toMatchObject({ limit: 1000, totalCount: 0 });
    });

    it('rejects a sort field that is not in CustomerOrderField', async () => {
      const literal = await gql(t.url, '{ customers(orderBy: [{ field: PHONE }]) { pageInfo { totalCount } } }');
      expect(literal.status).toBe(400);
      expect(literal.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const injected = await gql(
        t.url,
        '{ customers(orderBy: [{ field: "name; DROP TABLE customers" }]) { items { id } } }',
      );
      expect(injected.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const variable = await gql(t.url, LIST, { orderBy: [{ field: 'password', direction: 'ASC' }] });
      expect(variable.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    });

    it('rejects control characters in the search text', async () => {
      const res = await gql(t.url, LIST, { filter: { search: 'a\u0000b' } });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect(Object.keys(res.body.errors?.[0]?.extensions.fields as object)).toEqual(['filter.search']);
    });
  });
});

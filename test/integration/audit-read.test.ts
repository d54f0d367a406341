import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.js';
import { gql, startTestApp, type TestApp } from '../helpers/kit.js';

interface AuditLogView {
  id: string;
  sequence: string;
  timestamp: string;
  eventType: string;
  userId: string | null;
  resourceId: string | null;
  action: string;
  ipAddress: string | null;
  userAgent: string | null;
  success: boolean;
  details: Record<string, unknown> | null;
}

interface AuditLogPageView {
  items: AuditLogView[];
  pageInfo: { page: number; limit: number; totalCount: number; hasNextPage: boolean };
}

const FIELDS = 'id sequence timestamp eventType userId resourceId action ipAddress userAgent success details';
const AUDIT_LOGS = `query ($filter: AuditLogFilter, $page: Int, $limit: Int, $orderBy: [AuditLogOrderBy!]) {
  auditLogs(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) {
    items { ${FIELDS} }
    pageInfo { page limit totalCount hasNextPage }
  }
}`;

/** A lower-case token no other test's data contains. */
function uniqueTag(): string {
  return `au${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** A CHAR(64) value shaped like the chain's SHA-256 hex digests. */
function fakeHash(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

type AuditRow = Omit<Prisma.AuditLogUncheckedCreateInput, 'prevHash' | 'hash' | 'action' | 'success'> &
  Partial<Pick<Prisma.AuditLogUncheckedCreateInput, 'action' | 'success'>>;

describe('audit log (read side) over real HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** Appends rows one by one (the table is append-only: tests never update or delete). */
  async function append(rows: AuditRow[]) {
    const created = [];
    for (const row of rows) {
      created.push(
        await t.database.prisma.auditLog.create({
          data: {
            action: 'READ',
            success: true,
            ...row,
            prevHash: fakeHash(`prev-${randomUUID()}`),
            hash: fakeHash(`hash-${randomUUID()}`),
          },
        }),
      );
    }
    return created;
  }

  async function list(variables: Record<string, unknown>) {
    const res = await gql<{ auditLogs: AuditLogPageView }>(t.url, AUDIT_LOGS, variables);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.auditLogs;
  }

  it('returns every field, the BIGINT sequence as a decimal string and details as JSON', async () => {
    const tag = uniqueTag();
    const user = await t.database.prisma.user.create({
      data: { email: `${tag}@example.com`, displayName: tag, passwordHash: 'x' },
    });
    const timestamp = new Date('2010-03-04T05:06:07.089Z');
    const details = { before: { name: "<b>O'Brien & Co</b>" }, changed: ['name'], count: 2, nested: { ok: true } };
    const [full, bare] = await append([
      {
        timestamp,
        eventType: `customer.update.${tag}`,
        userId: user.id,
        resourceId: tag,
        action: 'UPDATE',
        ipAddress: '2001:db8::1',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted"',
        success: false,
        details,
      },
      { timestamp: new Date('2010-03-04T05:06:08.000Z'), eventType: `system.${tag}`, resourceId: tag },
    ]);
    const page = await list({ filter: { resourceId: tag }, orderBy: [{ field: 'TIMESTAMP', direction: 'ASC' }] });
    expect(page.items).toEqual([
      {
        id: full!.id,
        sequence: full!.sequence.toString(),
        timestamp: timestamp.toISOString(),
        eventType: `customer.update.${tag}`,
        userId: user.id,
        resourceId: tag,
        action: 'UPDATE',
        ipAddress: '2001:db8::1',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted"',
        success: false,
        details,
      },
      {
        id: bare!.id,
        sequence: bare!.sequence.toString(),
        timestamp: '2010-03-04T05:06:08.000Z',
        eventType: `system.${tag}`,
        userId: null,
        resourceId: tag,
        action: 'READ',
        ipAddress: null,
        userAgent: null,
        success: true,
        details: null,
      },
    ]);
    expect(page.items[0]!.sequence).toMatch(/^[1-9][0-9]*$/);
    expect(BigInt(page.items[1]!.sequence)).toBeGreaterThan(BigInt(page.items[0]!.sequence));
  });

  it('does not expose the hash chain', async () => {
    const res = await gql(t.url, '{ auditLogs { items { id hash prevHash } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('lists newest first by default and paginates with totalCount and hasNextPage', async () => {
    const tag = uniqueTag();
    const rows = await append(
      [1, 2, 3, 4, 5].map((minute) => ({
        timestamp: new Date(Date.UTC(2011, 0, 1, 0, minute)),
        eventType: `paged.${tag}`,
        resourceId: tag,
      })),
    );
    const newestFirst = [...rows].reverse().map((r) => r.id);
    const page1 = await list({ filter: { resourceId: tag }, limit: 2 });
    expect(page1.items.map((r) => r.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.pageInfo).toEqual({ page: 1, limit: 2, totalCount: 5, hasNextPage: true });
    const page3 = await list({ filter: { resourceId: tag }, limit: 2, page: 3 });
    expect(page3.items.map((r) => r.id)).toEqual(newestFirst.slice(4));
    expect(page3.pageInfo).toEqual({ page: 3, limit: 2, totalCount: 5, hasNextPage: false });
  });

  it('filters by user, event type, resource and time range (from inclusive, to exclusive)', async () => {
    const tag = uniqueTag();
    const [alice, bob] = await Promise.all(
      ['alice', 'bob'].map((name) =>
        t.database.prisma.user.create({
          data: { email: `${name}.${tag}@example.com`, displayName: name, passwordHash: 'x' },
        }),
      ),
    );
    const at = (hour: number) => new Date(Date.UTC(2012, 5, 1, hour));
    const [login1, logout, login2, other] = await append([
      { timestamp: at(1), eventType: `auth.login.${tag}`, userId: alice!.id, resourceId: `session-${tag}-1` },
      { timestamp: at(2), eventType: `auth.logout.${tag}`, userId: alice!.id, resourceId: `session-${tag}-1` },
      { timestamp: at(3), eventType: `auth.login.${tag}`, userId: bob!.id, resourceId: `session-${tag}-2` },
      { timestamp: at(4), eventType: `auth.login.${tag}`, userId: alice!.id, resourceId: `session-${tag}-3` },
    ]);
    const ids = (page: AuditLogPageView) => page.items.map((r) => r.id);

    expect(ids(await list({ filter: { userId: alice!.id } }))).toEqual([other!.id, logout!.id, login1!.id]);
    expect(ids(await list({ filter: { userId: bob!.id } }))).toEqual([login2!.id]);
    expect(ids(await list({ filter: { eventType: `auth.login.${tag}` } }))).toEqual([
      other!.id,
      login2!.id,
      login1!.id,
    ]);
    // Event types match exactly, not as a prefix or pattern.
    expect((await list({ filter: { eventType: `auth.login` } })).items.map((r) => r.eventType)).not.toContain(
      `auth.login.${tag}`,
    );
    expect(ids(await list({ filter: { resourceId: `session-${tag}-1` } }))).toEqual([logout!.id, login1!.id]);
    expect(
      ids(
        await list({
          filter: { userId: alice!.id, from: at(2).toISOString(), to: at(4).toISOString() },
        }),
      ),
    ).toEqual([logout!.id]);
    expect(
      ids(await list({ filter: { eventType: `auth.login.${tag}`, userId: alice!.id, from: at(1).toISOString() } })),
    ).toEqual([other!.id, login1!.id]);
    expect((await list({ filter: { userId: alice!.id, to: at(1).toISOString() } })).pageInfo.totalCount).toBe(0);
  });

  it('sorts by each AuditLogOrderField in both directions', async () => {
    const tag = uniqueTag();
    // Timestamp and event type order the rows differently, so a wrong column cannot pass by accident.
    const [a, b, c] = await append([
      { timestamp: new Date('2013-01-02T00:00:00Z'), eventType: `${tag}.c`, resourceId: tag },
      { timestamp: new Date('2013-01-03T00:00:00Z'), eventType: `${tag}.a`, resourceId: tag },
      { timestamp: new Date('2013-01-01T00:00:00Z'), eventType: `${tag}.b`, resourceId: tag },
    ]);
    const expected: Record<string, string[]> = {
      TIMESTAMP: [c!.id, a!.id, b!.id],
      EVENT_TYPE: [b!.id, c!.id, a!.id],
    };
    for (const [field, ascending] of Object.entries(expected)) {
      const asc = await list({ filter: { resourceId: tag }, orderBy: [{ field, direction: 'ASC' }] });
      expect(
        asc.items.map((r) => r.id),
        `${field} ASC`,
      ).toEqual(ascending);
      const desc = await list({ filter: { resourceId: tag }, orderBy: [{ field, direction: 'DESC' }] });
      expect(
        desc.items.map((r) => r.id),
        `${field} DESC`,
      ).toEqual([...ascending].reverse());
    }
  });

  it('rejects limit 1001 and page 0 together', async () => {
    const res = await gql(t.url, AUDIT_LOGS, { limit: 1001, page: 0 });
    expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    expect(res.body.errors?.[0]?.extensions.fields).toEqual({
      limit: ['limit must be at most 1000'],
      page: ['page must be at least 1'],
    });
  });

  it('rejects a sort field that is not in AuditLogOrderField', async () => {
    const res = await gql(t.url, '{ auditLogs(orderBy: [{ field: SEQUENCE }]) { items { id } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('rejects malformed filters: a non-UUID user, control characters, over-long text', async () => {
    const badUser = await gql(t.url, AUDIT_LOGS, { filter: { userId: 'alice' } });
    expect(badUser.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    const res = await gql(t.url, AUDIT_LOGS, {
      filter: { eventType: 'auth\u0000login', resourceId: 'r'.repeat(256) },
    });
    expect(res.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(res.body.errors?.[0]?.extensions.fields as object).sort()).toEqual([
      'filter.eventType',
      'filter.resourceId',
    ]);
  });
});

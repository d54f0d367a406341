import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

describe('reads of @sensitive fields are audited (REQ 18.3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('records one event per customer read, with reader and record, batched; none for other fields', async () => {
    const tag = uniqueTag();
    const customers = await Promise.all(
      [1, 2, 3].map((i) =>
        t.database.prisma.customer.create({
          data: { email: `s${i}-${tag}@example.com`, name: `Sensitive ${tag}`, phone: '+1 555' },
        }),
      ),
    );
    const res = await gql(
      t.url,
      'query ($s: String) { customers(filter: { search: $s }) { items { id name email phone address } } }',
      { s: tag },
    );
    expect(res.body.errors).toBeUndefined();
    const ids = customers.map((c) => c.id).sort();
    await expect
      .poll(
        async () =>
          (
            await t.database.prisma.auditLog.findMany({
              where: { eventType: 'data.sensitive.read', resourceId: { in: ids } },
            })
          ).length,
        {
          timeout: 5_000,
        },
      )
      .toBe(3);
    const rows = await t.database.prisma.auditLog.findMany({
      where: { eventType: 'data.sensitive.read', resourceId: { in: ids } },
    });
    expect(rows.every((r) => r.userId === t.adminId && r.success)).toBe(true);
    expect(rows.map((r) => r.resourceId).sort()).toEqual(ids);

    // Only non-sensitive fields: nothing is recorded.
    await gql(t.url, 'query ($s: String) { customers(filter: { search: $s }) { items { id name } } }', { s: tag });
    await t.app.audit.flush();
    expect(
      await t.database.prisma.auditLog.count({ where: { eventType: 'data.sensitive.read', resourceId: { in: ids } } }),
    ).toBe(3);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/platform/db/index.js';
import { captureLogger, workerDatabaseUrl } from '../helpers/kit.js';

describe('database observability (REQ 6.4, 6.5)', () => {
  let database: Database;
  const capture = captureLogger('debug');
  beforeAll(async () => {
    database = createDatabase({ url: await workerDatabaseUrl(), logger: capture.logger, poolSize: 1, slowQueryMs: 50 });
  });
  afterAll(() => database.close());

  it('logs slow operations with model, operation and duration, never their arguments', async () => {
    const secretName = `Slow Customer ${Date.now()}`;
    await database.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_sleep(0.08)');
      await tx.customer.create({ data: { email: `slow-${Date.now()}@example.com`, name: secretName } });
    });
    const slowSql = capture
      .lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'slow SQL statement');
    expect(slowSql).toMatchObject({ level: 'warn', params: '[REDACTED]' });
    expect(Number(slowSql?.durationMs)).toBeGreaterThanOrEqual(50);
    await database.prisma.customer
      .findMany({ where: { name: { contains: 'x' } }, take: 1 })
      .then(() => database.prisma.$executeRaw`SELECT pg_sleep(0.06)`);
    expect(capture.lines().join('\n')).not.toContain(secretName);
  });

  it('logs model and operation of a slow Prisma operation', async () => {
    const lines = captureLogger('debug');
    const slow = createDatabase({ url: await workerDatabaseUrl(), logger: lines.logger, poolSize: 1, slowQueryMs: 0 });
    try {
      await slow.prisma.warehouse.findMany({ take: 1 });
      const entry = lines
        .lines()
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.message === 'slow database operation');
      expect(entry).toMatchObject({ model: 'Warehouse', operation: 'findMany', argumentKeys: ['take'] });
    } finally {
      await slow.close();
    }
  });

  it('warns when requests wait for a pool connection, and reports pool gauges', async () => {
    await Promise.all([1, 2, 3].map(() => database.prisma.$executeRaw`SELECT pg_sleep(0.05)`));
    const warning = capture
      .lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => String(l.message).startsWith('database pool exhausted'));
    expect(warning).toMatchObject({ level: 'warn', max: 1 });
    expect(Number(warning?.waiting)).toBeGreaterThanOrEqual(1);
    expect(database.poolStats()).toMatchObject({ max: 1, waiting: 0 });
  });

  it('counts every SQL statement Prisma completes', async () => {
    let statements = 0;
    const stop = database.onStatement(() => (statements += 1));
    await database.prisma.warehouse.findMany({ take: 1 });
    await database.prisma.customer.count();
    stop();
    await database.prisma.customer.count();
    expect(statements).toBe(2);
  });
});

import { createServer, type Server } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { readiness, registerHealthRoutes, type CheckStatus, type Checks } from '../../src/http/health.routes.js';
import { createDatabase } from '../../src/platform/db/index.js';
import { adminDatabaseUrl, captureLogger, gql, scratchDatabase, startTestApp, type TestApp } from '../helpers/kit.js';

interface ReadyBody {
  status: string;
  checks?: Record<string, { status: string; latencyMs: number; error?: string; pending?: string[] }>;
}

async function ready(t: TestApp): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${t.url}/health/ready`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

/** A TCP server that accepts connections and never answers: a hung dependency. */
async function blackhole(): Promise<{ port: number; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

// REQ 8 / PROP 13: readiness names each dependency, each within its own budget.
describe('health: liveness and readiness', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is ready with the database, Redis and migrations up, each with its latency', async () => {
    const { status, body } = await ready(t);
    expect(status).toBe(200);
    expect(body.status).toBe('ready');
    for (const name of ['database', 'redis', 'migrations']) {
      expect(body.checks?.[name]).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
    }
  });

  it('is degraded but still 200 when Redis is down; liveness never looks at dependencies', async () => {
    const down = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const { status, body } = await ready(down);
      expect(status).toBe(200);
      expect(body.status).toBe('degraded');
      expect(body.checks?.redis).toMatchObject({ status: 'down' });
      expect(body.checks?.database?.status).toBe('up');
      expect((await fetch(`${down.url}/health/live`)).status).toBe(200);
      // Requests still succeed on the database and in-memory fallbacks.
      expect((await gql(down.url, '{ health { status } }')).status).toBe(200);
    } finally {
      await down.close();
    }
  });

  it('is 503 naming the pending migrations when the database lacks some of this build', async () => {
    const scratch = await scratchDatabase('health_pending', { migrated: true });
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    const { rows } = await client.query<{ migration_name: string }>(
      'DELETE FROM _prisma_migrations WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations) RETURNING migration_name',
    );
    await client.end();
    const behind = await startTestApp({ DATABASE_URL: scratch.url });
    try {
      const { status, body } = await ready(behind);
      expect(status).toBe(503);
      expect(body.status).toBe('not_ready');
      expect(body.checks?.migrations).toMatchObject({ status: 'down', pending: [rows[0]!.migration_name] });
    } finally {
      await behind.close();
    }
  });

  it('is 503 naming the database when it goes away', async () => {
    const scratch = await scratchDatabase('health_down', { migrated: true });
    const gone = await startTestApp({ DATABASE_URL: scratch.url });
    try {
      expect((await ready(gone)).status).toBe(200);
      const admin = new pg.Client({ connectionString: adminDatabaseUrl('postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE "${scratch.name}" WITH (FORCE)`);
      await admin.end();
      const { status, body } = await ready(gone);
      expect(status).toBe(503);
      expect(body.checks?.database).toMatchObject({ status: 'down', error: 'unreachable' });
    } finally {
      await gone.close().catch(() => undefined);
    }
  });

  it('answers within its budget when the database hangs: the check times out, not the driver', async () => {
    // A database that accepts connections and never answers; the pool would wait 5 s to connect.
    const hole = await blackhole();
    const { logger } = captureLogger('error', []);
    const database = createDatabase({ url: `postgres://postgres@127.0.0.1:${hole.port}/nowhere`, logger });
    const server = Fastify();
    registerHealthRoutes(server, { database, migrations: [], isShuttingDown: () => false });
    try {
      const res = await server.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      const body = res.json<ReadyBody>();
      // 'timeout' comes only from the check's own budget (the driver would fail after 5 s as unreachable).
      expect(body.checks?.database).toMatchObject({ status: 'down', error: 'timeout' });
      expect(body.checks?.migrations).toMatchObject({ status: 'down', error: 'timeout' });
      expect(body.checks?.redis?.status).toBe('not_configured');
    } finally {
      await server.close();
      hole.server.close();
      await database.close().catch(() => undefined);
    }
  });

  it('answers 503 shutting_down at once when shutdown begins, while requests are still served', async () => {
    const stopping = await startTestApp({ SHUTDOWN_READINESS_GRACE_MS: '1500' });
    const closed = stopping.close();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { status, body } = await ready(stopping);
      expect(status).toBe(503);
      expect(body.status).toBe('shutting_down');
      // The grace period: load balancers see 503 and stop sending, in-flight traffic still works.
      expect((await gql(stopping.url, '{ health { status } }')).status).toBe(200);
    } finally {
      await closed;
    }
    await expect(fetch(`${stopping.url}/health/live`)).rejects.toThrow();
  });
});

describe('PROP 13: the readiness rule', () => {
  const status = fc.constantFrom<CheckStatus>('up', 'down');
  const check = (s: CheckStatus) => ({ status: s, latencyMs: 1 });

  it('503 exactly when shutting down, the database is down or migrations are missing; Redis only degrades', () => {
    fc.assert(
      fc.property(
        status,
        fc.constantFrom<CheckStatus>('up', 'down', 'not_configured'),
        status,
        fc.boolean(),
        (database, redis, migrations, shuttingDown) => {
          const checks: Checks = { database: check(database), redis: check(redis), migrations: check(migrations) };
          const verdict = readiness(checks, shuttingDown);
          const unusable = shuttingDown || database === 'down' || migrations === 'down';
          expect(verdict.httpStatus).toBe(unusable ? 503 : 200);
          if (!unusable) expect(verdict.status).toBe(redis === 'down' ? 'degraded' : 'ready');
          if (shuttingDown) expect(verdict.status).toBe('shutting_down');
        },
      ),
      { numRuns: 100 },
    );
  });
});

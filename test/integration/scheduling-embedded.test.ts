import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { createDatabase, type Database } from '../../src/platform/db/index.js';
import { dropDatabase } from '../helpers/databases.js';
import { captureLogger, createTestUser, scratchDatabase, testConfig } from '../helpers/kit.js';
import { generate, seedWeek, waitForJob } from './scheduling.fixtures.js';

interface EmbeddedApp {
  url: string;
  app: App;
  database: Database;
  headers: Record<string, string>;
  logs: () => string[];
  close(): Promise<void>;
}

/** The app as `npm start` runs it without REDIS_URL: no Redis at all, so the in-process queue. */
async function startWithoutRedis(databaseUrl: string, env: Record<string, string> = {}): Promise<EmbeddedApp> {
  const config = await testConfig({ DATABASE_URL: databaseUrl, ...env });
  expect(config.redis.url).toBeUndefined();
  const { logger, lines } = captureLogger('info', config.secretValues);
  const database = createDatabase({ ...config.database, url: databaseUrl, logger });
  const app = await createApp(config, { logger, database, runtime: { version: 'test', startedAt: new Date() } });
  const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
  const admin = await createTestUser({ app, database }, ['ADMIN']);
  return {
    url,
    app,
    database,
    headers: admin.headers,
    logs: lines,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

// Embedded mode (issue 8): the same queue interface in process, single instance only. A database
// of its own, so that recovery at start only sees this test's jobs.
describe('schedule solves without Redis (embedded mode)', () => {
  let name: string;
  let url: string;
  // Spans of this process, kept in memory (the OTLP export itself is tracing.test.ts's business).
  const spans = new InMemorySpanExporter();
  beforeAll(async () => {
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }),
    );
    ({ name, url } = await scratchDatabase('scheduling', { migrated: true }));
  });
  afterAll(async () => {
    trace.disable();
    await dropDatabase(name);
  });

  function solveSpan(jobId: string) {
    return spans
      .getFinishedSpans()
      .find((s) => s.name === 'scheduling.solve' && s.attributes['scheduling.job_id'] === jobId);
  }

  it('solves in process, and a job left queued at shutdown is solved after the restart', async () => {
    const first = await startWithoutRedis(url);
    let week;
    try {
      expect(first.app.scheduling.queue.kind).toBe('in-process');
      expect(first.logs().some((line) => line.includes('single instance only'))).toBe(true);
      week = await seedWeek(first.database, { shifts: 2 });
      const job = await generate(first.url, { warehouseId: week.warehouseId }, first.headers);
      const done = await waitForJob(first.url, job.id, { headers: first.headers });
      expect(done.status, done.error ?? '').toBe('COMPLETED');
      // One span per solve, with what was solved and how (it ends just after the job's row is written).
      await vi.waitFor(() => expect(solveSpan(job.id)).toBeDefined());
      expect(solveSpan(job.id)?.attributes).toMatchObject({
        'scheduling.employees': 3,
        'scheduling.shifts': 2,
        'scheduling.time_budget_ms': 8_000,
        'scheduling.cached': false,
        'scheduling.method': done.result!.method.toLowerCase(),
        'scheduling.duration_ms': done.result!.durationMs,
        'scheduling.unfilled_slots': done.result!.quality.unfilledSlots,
      });
      // Cached in process memory: an identical request completes at once.
      const again = await generate(first.url, { warehouseId: week.warehouseId }, first.headers);
      expect(again).toMatchObject({ status: 'COMPLETED', cached: true });
    } finally {
      await first.close();
    }

    // An instance that takes no jobs: the job waits, and dies with the process...
    const idle = await startWithoutRedis(url, { SCHEDULING_CONCURRENCY: '0' });
    let pendingId: string;
    try {
      await idle.database.prisma.shift.updateMany({ where: { warehouseId: week.warehouseId }, data: { headcount: 1 } });
      const pending = await generate(idle.url, { warehouseId: week.warehouseId, timeBudgetMs: 6_000 }, idle.headers);
      expect(pending.status).toBe('QUEUED');
      expect(await idle.app.scheduling.depth()).toEqual({ waiting: 1, active: 0 });
      pendingId = pending.id;
    } finally {
      await idle.close();
    }
    // ...and the next start finds it in the database and runs it.
    const next = await startWithoutRedis(url);
    try {
      const done = await waitForJob(next.url, pendingId, { headers: next.headers });
      expect(done.status, done.error ?? '').toBe('COMPLETED');
      expect(next.logs().some((line) => line.includes('unfinished schedule solves enqueued again'))).toBe(true);
    } finally {
      await next.close();
    }
  });
});

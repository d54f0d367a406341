import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/gateway-process.js';
import { startTestApp, type TestApp } from '../helpers/kit.js';

const LIMIT = 3;
// One statement per request (a DataLoader read of products), so each admitted request is one lock wait.
const PRODUCT = '{ product(id: "00000000-0000-4000-8000-000000000000") { id } }';

async function post(t: TestApp, query: string) {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.admin },
    body: JSON.stringify({ query }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { errors?: { extensions: { code: string } }[] },
  };
}

// Issue 7, stress: past saturation the gateway answers 503 with Retry-After at once, never
// queues without bound, and recovers as soon as the operations in flight finish.
describe('admission control (OVERLOAD_MAX_IN_FLIGHT)', () => {
  let t: TestApp;
  let blocker: pg.Client;
  let observer: pg.Client;
  beforeAll(async () => {
    t = await startTestApp({ OVERLOAD_MAX_IN_FLIGHT: String(LIMIT) });
    blocker = new pg.Client({ connectionString: t.config.database.url });
    observer = new pg.Client({ connectionString: t.config.database.url });
    await blocker.connect();
    await observer.connect();
  });
  afterAll(async () => {
    await blocker.end();
    await observer.end();
    await t.close();
  });

  it(`with ${LIMIT} operations in flight the next one gets 503 SERVICE_UNAVAILABLE at once; all recover`, async () => {
    const database = new URL(t.config.database.url!).pathname.slice(1);
    await blocker.query('BEGIN');
    let held: Promise<Awaited<ReturnType<typeof post>>[]> | undefined;
    try {
      // ACCESS EXCLUSIVE blocks even reads: every admitted product query waits until the commit.
      await blocker.query('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      held = Promise.all(Array.from({ length: LIMIT }, () => post(t, PRODUCT)));
      await until(async () => {
        // Another session: pg_stat_activity is a snapshot fixed for the rest of a transaction.
        const { rows } = await observer.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [database],
        );
        return rows[0]!.n === LIMIT;
      }, `${LIMIT} requests waiting on the lock`);

      const shed = await post(t, PRODUCT);
      expect(shed.status).toBe(503);
      expect(shed.body.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
      expect(Number(shed.retryAfter)).toBeGreaterThan(0);
      // Requests that are not operations (health, metrics) are never shed by it.
      expect((await fetch(`${t.url}/health/live`)).status).toBe(200);
    } finally {
      await blocker.query('COMMIT');
    }
    const admitted = await held;
    expect(admitted.map((r) => r.status)).toEqual(Array<number>(LIMIT).fill(200));
    // The slots are free again as soon as the operations end.
    expect((await post(t, PRODUCT)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_shed_total\{reason="in_flight"\} 1\b/);
  });
});

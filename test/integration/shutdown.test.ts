import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../helpers/databases.js';
import { startGatewayProcess, until } from '../helpers/gateway-process.js';
import { scratchDatabase } from '../helpers/kit.js';

const IN_FLIGHT = 50;
// One statement per request (a DataLoader read of products), so each waiting request is one lock wait.
const PRODUCT = '{ product(id: "00000000-0000-4000-8000-000000000000") { id } }';

const scratch: string[] = [];
afterAll(async () => {
  for (const name of scratch) await dropDatabase(name);
});

// REQ 9 / PROP 14: the real entry point (src/main.ts) as a process, SIGTERM while requests wait.
describe('graceful shutdown', () => {
  it(`SIGTERM with ${IN_FLIGHT} slow requests in flight: all complete, new connections are refused, exit 0`, async () => {
    const { url, name } = await scratchDatabase('shutdown', { migrated: true });
    scratch.push(name);
    const gateway = await startGatewayProcess(url, {
      DATABASE_POOL_SIZE: String(IN_FLIGHT + 5),
      DATABASE_CONNECT_TIMEOUT_MS: '30000',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    const blocker = new pg.Client({ connectionString: url });
    const observer = new pg.Client({ connectionString: url });
    try {
      const { base } = gateway;

      // ACCESS EXCLUSIVE blocks even reads: every product query waits until the blocker commits.
      await blocker.connect();
      await observer.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      const requests = Array.from({ length: IN_FLIGHT }, () =>
        fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: PRODUCT }),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as { errors?: unknown[] } })),
      );
      await until(async () => {
        // Another session: pg_stat_activity is a snapshot fixed for the rest of a transaction.
        const { rows } = await observer.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [name],
        );
        return rows[0]!.n === IN_FLIGHT;
      }, `${IN_FLIGHT} requests waiting on the lock`);

      gateway.child.kill('SIGTERM');
      await until(() => gateway.output().includes('shutdown started'), 'shutdown to start');
      await until(
        () =>
          fetch(`${base}/health/live`).then(
            () => false,
            () => true,
          ),
        'the listener to refuse new connections',
      );

      await blocker.query('COMMIT');
      const results = await Promise.all(requests);
      expect(results.map((r) => r.status)).toEqual(Array<number>(IN_FLIGHT).fill(200));
      expect(results.every((r) => r.body.errors === undefined)).toBe(true);
      expect(await gateway.exited).toBe(0);
      expect(gateway.output()).toContain('shutdown complete');
      expect(gateway.output()).not.toContain('shutdown drain timed out');
    } finally {
      await blocker.end().catch(() => undefined);
      await observer.end().catch(() => undefined);
      if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    }
  }, 90_000);
});

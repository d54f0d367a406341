import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, REDIS_URL } from '../helpers/databases.js';
import { ROOT, scratchDatabase, strongSecret, uniqueTag } from '../helpers/kit.js';

const IN_FLIGHT = 50;
// One statement per request (a DataLoader read of products), so each waiting request is one lock wait.
const PRODUCT = '{ product(id: "00000000-0000-4000-8000-000000000000") { id } }';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const scratch: string[] = [];
afterAll(async () => {
  for (const name of scratch) await dropDatabase(name);
});

// REQ 9 / PROP 14: the real entry point (src/main.ts) as a process, SIGTERM while requests wait.
describe('graceful shutdown', () => {
  it(`SIGTERM with ${IN_FLIGHT} slow requests in flight: all complete, new connections are refused, exit 0`, async () => {
    const { url, name } = await scratchDatabase('shutdown', { migrated: true });
    scratch.push(name);
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'test',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        PORT: String(port),
        DATABASE_URL: url,
        DATABASE_POOL_SIZE: String(IN_FLIGHT + 5),
        DATABASE_CONNECT_TIMEOUT_MS: '30000',
        REDIS_URL,
        REDIS_KEY_PREFIX: `test:shutdown:${uniqueTag()}:`,
        JWT_SECRETS: strongSecret(),
        PASSWORD_PEPPER: strongSecret(),
        SHUTDOWN_TIMEOUT_MS: '20000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const blocker = new pg.Client({ connectionString: url });
    const observer = new pg.Client({ connectionString: url });
    try {
      await until(() => output.includes('gateway listening'), 'the gateway to listen');
      const base = `http://127.0.0.1:${port}`;

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

      child.kill('SIGTERM');
      await until(() => output.includes('shutdown started'), 'shutdown to start');
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
      expect(await exited).toBe(0);
      expect(output).toContain('shutdown complete');
      expect(output).not.toContain('shutdown drain timed out');
    } finally {
      await blocker.end().catch(() => undefined);
      await observer.end().catch(() => undefined);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});

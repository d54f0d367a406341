import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../helpers/databases.js';
import { startGatewayProcess, until } from '../helpers/gateway-process.js';
import { scratchDatabase } from '../helpers/kit.js';

const IN_FLIGHT = 50;
// One statement per request (a DataLoader read of products), so each waiting request is one lock wait.
const PRODUCT = '{ product(id: "00000000-0000-4000-8000-000000000000") { id } }';

/** A raw HTTP/1.1 connection: what a load balancer holds between connecting and sending. */
async function openConnection(base: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends one POST /graphql on `socket` and reads its response (JSON bodies carry content-length). */
function exchange(socket: Socket, query: string): Promise<RawReply> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length']);
      if (received.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body: received.subarray(end + 4, end + 4 + length).toString('utf8'),
      });
    };
    const onClose = () => reject(new Error(`connection closed after ${received.length} bytes of response`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
    socket.write(
      `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

const closedBy = (socket: Socket) =>
  new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));

const scratch: string[] = [];
afterAll(async () => {
  for (const name of scratch) await dropDatabase(name);
});

// REQ 9 / PROP 14: the real entry point (src/main.ts) as a process, SIGTERM while requests wait.
describe('graceful shutdown', () => {
  it(`SIGTERM with ${IN_FLIGHT} slow requests in flight: all complete, new connections are refused, accepted ones are served, exit 0`, async () => {
    const { url, name } = await scratchDatabase('shutdown', { migrated: true });
    scratch.push(name);
    const gateway = await startGatewayProcess(url, {
      DATABASE_POOL_SIZE: String(IN_FLIGHT + 5),
      DATABASE_CONNECT_TIMEOUT_MS: '30000',
      SHUTDOWN_TIMEOUT_MS: '20000',
      // Long enough for this test to send on its open connections after the listener closed.
      SHUTDOWN_IDLE_GRACE_MS: '5000',
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

      // Connections accepted before the signal whose requests come after it (a load balancer
      // connects and sends at once; the gateway may not have read the request yet), and a
      // keep-alive connection that has served one request and is idle.
      const accepted = await Promise.all(Array.from({ length: 3 }, () => openConnection(base)));
      const keptAlive = await openConnection(base);
      const before = await exchange(keptAlive, '{ health { status } }');
      expect(before.status).toBe(200);
      expect(before.headers.connection).toBe('keep-alive');

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

      const late = await Promise.all(accepted.map((socket) => exchange(socket, '{ health { status } }')));
      expect(late.map((reply) => reply.status)).toEqual([200, 200, 200]);
      expect(late.every((reply) => reply.body.includes('"status"'))).toBe(true);
      // Answered, and told the connection ends with this response…
      expect(late.map((reply) => reply.headers.connection)).toEqual(['close', 'close', 'close']);
      // …which the gateway then closes, as it does the idle keep-alive one after the grace.
      await Promise.all([...accepted, keptAlive].map(closedBy));

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

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx, type RunningNginx } from '../../load/cluster/nginx.js';
import type { AppConfig } from '../../src/config/index.js';
import { createPasswordHasher } from '../../src/modules/identity/index.js';
import { createTokenService } from '../../src/modules/identity/tokens.js';
import { createLogger } from '../../src/observability/logger.js';
import { createDatabase, type Database } from '../../src/platform/db/index.js';
import { freePort, startGatewayProcess, until, type GatewayProcess } from '../helpers/gateway-process.js';
import { ROOT, seedFixture, strongSecret, testConfig, uniqueTag, workerDatabaseUrl } from '../helpers/kit.js';

// Issue 7 (scale-out): two gateway processes (src/main.ts) sharing this worker's database and one
// Redis key prefix, behind nginx (deploy/nginx/gateway.conf.template via load/cluster/nginx.ts).
// Everything below goes through nginx: rate limits (003 SEC-002), lockouts (REQ 5.2), APQ entries
// and cache invalidation hold across instances, and a SIGTERM under load loses no request (REQ 9).

const IP_LIMIT = 5;
const LOCKOUT_THRESHOLD = 3;
/** Requests held on a table lock while one instance is stopped. */
const IN_FLIGHT = 50;
/**
 * Long enough for the readiness check (every 200 ms) and a reload on a busy machine that is not
 * saturated; deployments and the load runner use 10 s (deploy/nginx/gateway.conf.template).
 */
const READINESS_GRACE_MS = 3_000;

const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'schema/generated/persisted-operations.json'), 'utf8')) as {
  operations: { id: string; name: string }[];
};
const PRODUCT_DETAIL = MANIFEST.operations.find((o) => o.name === 'ProductDetail')!.id;
const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken }
}`;
const RENAME = `mutation Rename($id: UUID!, $name: String!) { updateProduct(id: $id, input: { name: $name }) { id } }`;
const CUSTOMER = `query Customer($id: UUID!) { customer(id: $id) { id name } }`;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: {
    data?: Record<string, { id?: string; name?: string } | null> | null;
    errors?: { message: string; extensions: Record<string, unknown> }[];
  };
  /** The instance that answered ('a', 'b'), from nginx's X-Upstream-Addr. */
  instance: string;
  /** Every instance nginx tried, in order (more than one: a retried connect). */
  tried: string[];
}

function randomIp(): string {
  const n = () => 1 + (randomBytes(1)[0]! % 250);
  return `10.${n()}.${n()}.${n()}`;
}

describe('scale-out: two instances behind nginx (issue 7)', () => {
  const names = new Map<string, string>();
  const secrets = { JWT_SECRETS: strongSecret(), PASSWORD_PEPPER: strongSecret() };
  let a: GatewayProcess;
  let b: GatewayProcess;
  let nginx: RunningNginx;
  let nginxDir: string;
  let databaseUrl: string;
  let database: Database;
  let config: AppConfig;
  let admin: Record<string, string>;
  let adminId: string;

  /**
   * One POST through nginx from a client address of its own unless `x-forwarded-for` is given, on a
   * connection of its own as artillery's virtual users do: the stop below reloads nginx, which closes
   * idle keep-alive connections to clients, and Node's fetch, unlike browsers, does not resend a POST
   * that got no answer on one (deploy/nginx/gateway.conf.template).
   */
  function post(base: string, payload: object, headers: Record<string, string> = {}): Promise<Reply> {
    const body = JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      const req = request(
        `${base}/graphql`,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-forwarded-for': randomIp(),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const tried = String(res.headers['x-upstream-addr'] ?? '')
              .split(/,\s*/)
              .filter(Boolean)
              .map((address) => names.get(address) ?? address);
            let parsed: Reply['body'];
            try {
              parsed = JSON.parse(text) as Reply['body'];
            } catch {
              parsed = { errors: [{ message: text.slice(0, 200), extensions: {} }] };
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: parsed,
              instance: tried.at(-1) ?? '',
              tried,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  const through = (payload: object, headers?: Record<string, string>) => post(nginx.base, payload, headers);
  const codeOf = (reply: Reply) => reply.body.errors?.[0]?.extensions.code;

  /**
   * Sends until both instances have answered (with a reply that `counts`), at most `max` requests;
   * returns every reply.
   */
  async function untilBothAnswer(send: () => Promise<Reply>, counts = (_reply: Reply) => true, max = 8) {
    const replies: Reply[] = [];
    const answered = new Set<string>();
    while (answered.size < 2) {
      if (replies.length >= max) throw new Error(`after ${max} requests only ${[...answered].join()} answered`);
      const reply = await send();
      replies.push(reply);
      if (counts(reply)) answered.add(reply.instance);
    }
    return replies;
  }

  /** A user with these roles and password, and the Authorization header of a session of theirs. */
  async function createUser(roleNames: string[], password = `Tst-${randomBytes(12).toString('base64url')}`) {
    const passwords = createPasswordHasher({
      pepper: config.auth.passwordPepper,
      memoryKib: config.auth.password.argon2MemoryKib,
      timeCost: config.auth.password.argon2TimeCost,
    });
    const roles = await database.prisma.role.findMany({ where: { name: { in: roleNames } } });
    const user = await database.prisma.user.create({
      data: {
        email: `scale-${uniqueTag()}@example.com`,
        displayName: 'Scale-out test user',
        passwordHash: await passwords.hash(password),
        roles: { create: roles.map((r) => ({ roleId: r.id })) },
      },
    });
    const session = await database.prisma.session.create({
      data: {
        userId: user.id,
        familyId: randomUUID(),
        tokenHash: randomBytes(32).toString('hex'),
        expiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    const tokens = createTokenService({
      secrets: config.auth.jwtSecrets,
      issuer: config.auth.jwtIssuer,
      audience: config.auth.jwtAudience,
      accessTtlSeconds: 3_600,
      mfaTtlSeconds: config.auth.mfaChallengeTtlSeconds,
      logger: createLogger({ level: 'error' }),
    });
    const { token } = await tokens.signAccess(user.id, session.id);
    return { id: user.id, email: user.email, password, headers: { authorization: `Bearer ${token}` } };
  }

  beforeAll(async () => {
    databaseUrl = await workerDatabaseUrl();
    const env = {
      ...secrets,
      // One deployment: the same Redis key prefix on both.
      REDIS_KEY_PREFIX: `test:scale:${uniqueTag()}:`,
      // nginx on 127.0.0.1 appends the address it sees; each test sends its own client address.
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_IP_PER_MINUTE: String(IP_LIMIT),
      LOGIN_LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD),
      PERSISTED_OPERATIONS_MODE: 'apq',
      // A lookup slower than this counts as a miss (by design); a busy test machine must not.
      APQ_STORE_TIMEOUT_MS: '2000',
      RESPONSE_CACHE_ENABLED: 'true',
      RESPONSE_CACHE_COALESCE_MS: '50',
      SHUTDOWN_READINESS_GRACE_MS: String(READINESS_GRACE_MS),
      // The lock test holds requests for several seconds on a busy machine.
      GRAPHQL_EXECUTION_TIMEOUT_MS: '30000',
      DATABASE_POOL_SIZE: String(IN_FLIGHT),
      DATABASE_CONNECT_TIMEOUT_MS: '30000',
    };
    config = await testConfig(env);
    database = createDatabase({ url: databaseUrl, poolSize: 2, logger: createLogger({ level: 'error' }) });
    // One after the other: two startups at once on a busy 2-core machine outlast the helper's 20 s.
    a = await startGatewayProcess(databaseUrl, env);
    b = await startGatewayProcess(databaseUrl, env);
    names.set(a.base.slice('http://'.length), 'a');
    names.set(b.base.slice('http://'.length), 'b');
    nginxDir = mkdtempSync(join(tmpdir(), 'erp-scale-out-'));
    nginx = await startNginx({
      upstreams: [...names.keys()],
      listenPort: await freePort(),
      dir: nginxDir,
      workerProcesses: 1,
      executionTimeoutMs: 30_000,
      upstreamHeader: true,
      readinessIntervalMs: 200,
    });
    const user = await createUser(['ADMIN']);
    admin = user.headers;
    adminId = user.id;
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.close();
    if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });
  });

  it('spreads requests over both instances, each on its own connection to the gateway', async () => {
    const replies = await Promise.all(Array.from({ length: 6 }, () => through({ query: '{ health { status } }' })));
    expect(replies.map((r) => r.status)).toEqual(Array<number>(6).fill(200));
    const counts = { a: 0, b: 0 };
    for (const r of replies) counts[r.instance as 'a' | 'b'] += 1;
    expect(counts.a).toBeGreaterThanOrEqual(2);
    expect(counts.b).toBeGreaterThanOrEqual(2);
    // nginx serves no metrics: each instance is scraped directly.
    expect((await fetch(`${nginx.base}/metrics`)).status).toBe(404);
  });

  it(`003 SEC-002: the per-IP limit holds across instances: ${IP_LIMIT} pass in all, then 429 on both`, async () => {
    const client = { 'x-forwarded-for': randomIp() };
    const allowed: Reply[] = [];
    for (let i = 0; i < IP_LIMIT; i += 1) allowed.push(await through({ query: '{ health { status } }' }, client));
    expect(allowed.map((r) => r.status)).toEqual(Array<number>(IP_LIMIT).fill(200));
    expect(new Set(allowed.map((r) => r.instance))).toEqual(new Set(['a', 'b']));
    const refused = await untilBothAnswer(() => through({ query: '{ health { status } }' }, client));
    for (const over of refused) {
      expect(over.status).toBe(429);
      expect(codeOf(over)).toBe('RATE_LIMITED');
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('REQ 5.2: an account locked through one instance is locked on the other', async () => {
    const user = await createUser(['CUSTOMER']);
    // Each attempt from another address: the lock is per account, not per IP.
    const attempt = (password: string) => through({ query: LOGIN, variables: { email: user.email, password } });
    for (let i = 1; i < LOCKOUT_THRESHOLD; i += 1) {
      expect(codeOf(await attempt('Wrong-password-123'))).toBe('UNAUTHENTICATED');
    }
    // The failure that reaches the threshold locks the account, on whichever instance answers it…
    const locking = await attempt('Wrong-password-123');
    expect(codeOf(locking)).toBe('ACCOUNT_LOCKED');
    // …and both refuse the right password now, the other one included.
    const locked = await untilBothAnswer(() => attempt(user.password));
    expect(locked.map(codeOf)).toEqual(locked.map(() => 'ACCOUNT_LOCKED'));
    expect(locked.some((r) => r.instance !== locking.instance)).toBe(true);
  });

  it('APQ: a query registered through one instance is found by its hash on the other', async () => {
    const query = `query ScaleApq { products(limit: 1, filter: { search: "${uniqueTag()}" }) { items { id } } }`;
    const extensions = { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } };
    const unknown = await through({ extensions });
    expect(codeOf(unknown)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await through({ query, extensions });
    expect(registered.status).toBe(200);
    expect(registered.body.data).toEqual({ products: { items: [] } });
    const found = await untilBothAnswer(() => through({ extensions }));
    for (const reply of found) {
      expect(reply.status).toBe(200);
      expect(reply.body.errors, `instance ${reply.instance}`).toBeUndefined();
      expect(reply.body.data).toEqual({ products: { items: [] } });
    }
    expect(found.some((r) => r.instance !== registered.instance)).toBe(true);
  });

  it('a cached product read shows a rename on both instances', async () => {
    const { tag, productId } = await seedFixture(database);
    const read = () =>
      through({
        variables: { sku: `P-${tag}` },
        extensions: { persistedQuery: { version: 1, sha256Hash: PRODUCT_DETAIL } },
      });
    // Until each instance has answered from the cache (shared through Redis): an `Age` header.
    const before = await untilBothAnswer(read, (r) => r.headers.age !== undefined, 12);
    expect(before.map((r) => r.body.data?.productBySku?.name)).toEqual(before.map(() => `Product ${tag}`));

    const renamed = await through({ query: RENAME, variables: { id: productId, name: `Renamed ${tag}` } }, admin);
    expect(renamed.body.errors).toBeUndefined();
    const fresh = new Set<string>();
    await until(
      async () => {
        const reply = await read();
        const name = reply.body.data?.productBySku?.name;
        // Once an instance has answered the new name, it never answers the old one again.
        if (name === `Renamed ${tag}`) fresh.add(reply.instance);
        else expect(fresh.has(reply.instance), `instance ${reply.instance} went back to the old name`).toBe(false);
        return fresh.size === 2;
      },
      'the rename to show on both instances',
      5_000,
    );
  });

  it('a refused connect (an instance that is down) is retried on another instance, POST included', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const dir = mkdtempSync(join(tmpdir(), 'erp-scale-out-dead-'));
    const direct = await startNginx({
      upstreams: [dead, b.base.slice('http://'.length)],
      listenPort: await freePort(),
      dir,
      workerProcesses: 1,
      upstreamHeader: true,
    });
    try {
      const replies: Reply[] = [];
      for (let i = 0; i < 4; i += 1) replies.push(await post(direct.base, { query: '{ health { status } }' }));
      expect(replies.map((r) => [r.status, r.instance])).toEqual(replies.map(() => [200, 'b']));
      // nginx keeps trying the dead one in turn (no passive marking: max_fails=0) and moves on.
      expect(replies.some((r) => r.tried.join() === `${dead},b`)).toBe(true);
    } finally {
      await direct.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`REQ 9: SIGTERM to one instance with ${IN_FLIGHT} requests in flight and more arriving: every request answered, exit 0`, async () => {
    const { customerId, tag } = await seedFixture(database);
    const blocker = new pg.Client({ connectionString: databaseUrl });
    const observer = new pg.Client({ connectionString: databaseUrl });
    await blocker.connect();
    await observer.connect();
    const dbName = new URL(databaseUrl).pathname.slice(1);
    let streaming = true;
    try {
      // ACCESS EXCLUSIVE blocks even reads: every customer query waits until the blocker commits.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      const held = Array.from({ length: IN_FLIGHT }, () =>
        through({ query: CUSTOMER, variables: { id: customerId } }, admin),
      );
      await until(async () => {
        const { rows } = await observer.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [dbName],
        );
        return rows[0]!.n === IN_FLIGHT;
      }, `${IN_FLIGHT} requests waiting on the lock`);

      // More requests keep coming, four at a time, before, during and after the stop.
      const stream: Reply[] = [];
      const senders = Array.from({ length: 4 }, async () => {
        while (streaming) stream.push(await through({ query: '{ me { id } }' }, admin));
      });

      const signalledAt = Date.now();
      a.child.kill('SIGTERM');
      await until(() => a.output().includes('shutdown started'), 'the shutdown to start');
      // The readiness check takes it out of nginx's list while it still serves (the grace)…
      await until(() => !nginx.active().includes(a.base.slice('http://'.length)), 'nginx to drop instance a');
      expect(Date.now() - signalledAt).toBeLessThan(READINESS_GRACE_MS);
      // …then its listener closes, with its share of the held requests still running.
      await until(
        () =>
          fetch(`${a.base}/health/live`).then(
            () => false,
            () => true,
          ),
        'instance a to refuse new connections',
      );
      await blocker.query('COMMIT');
      const results = await Promise.all(held);
      expect(await a.exited).toBe(0);
      const shutdownMs = Date.now() - signalledAt;
      await new Promise((resolve) => setTimeout(resolve, 300));
      streaming = false;
      await Promise.all(senders);

      expect(results.map((r) => r.status)).toEqual(Array<number>(IN_FLIGHT).fill(200));
      expect(results.every((r) => r.body.data?.customer?.name === `Customer ${tag}`)).toBe(true);
      // Instance a had its share of them when it was stopped, and drained it.
      expect(results.filter((r) => r.instance === 'a').length).toBeGreaterThanOrEqual(IN_FLIGHT / 4);
      expect(stream.length).toBeGreaterThan(8);
      expect(stream.filter((r) => r.status !== 200 || r.body.data?.me?.id !== adminId)).toEqual([]);
      expect(a.output()).toContain('shutdown complete');
      expect(a.output()).not.toContain('shutdown drain timed out');
      // nginx saw no connection break under a request it had sent.
      expect(nginx.errorLog()).not.toMatch(/while reading response header from upstream/);
      expect(shutdownMs).toBeLessThan(30_000);
    } finally {
      streaming = false;
      await blocker.end().catch(() => undefined);
      await observer.end().catch(() => undefined);
    }
  }, 60_000);
});

// The gateway as load/bench.ts measures it: started exactly as src/main.ts starts it (loadConfig from
// the environment the harness sets, the logger, tracing, then gateway.ts start(): database, migrations
// gate, Redis, mailer and outbox worker, app, listen), plus counters of what each request costs:
//   - SQL statements sent over the wire (pg Client#query, BEGIN/COMMIT included) and Prisma's own
//     query events with their duration,
//   - pool connections: acquisitions, time waiting for one (pool.connect → client) and time held
//     (acquire → release),
//   - Redis commands sent on the gateway's connections (ioredis sendCommand: EVAL, MULTI/EXEC and
//     each command in a pipeline count one each, as Redis itself counts them).
// Started by load/bench.ts with an IPC channel; see capacity.ts for the protocol.
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Running } from '../../src/gateway.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { startTracing } from '../../src/observability/tracing.js';
import { findProjectRoot, readPackageVersion } from '../../src/platform/project-root.js';
import { runBenchChild, type ExtraCounters } from './capacity.js';

const counters = {
  dbStatements: 0,
  prismaQueries: 0,
  prismaQueryMs: 0,
  poolAcquisitions: 0,
  poolWaitMs: 0,
  poolWaitMaxMs: 0,
  poolHoldMs: 0,
  poolMaxWaiting: 0,
  redisCommands: 0,
};
type Counters = typeof counters;
const zero: Counters = { ...counters };

// Every statement the gateway's pool sends goes through pg's Client#query (pool.query included).
// Patched before the gateway loads, so no client escapes it.
type AnyFunction = (...args: unknown[]) => unknown;
const clientPrototype = pg.Client.prototype as unknown as { query: AnyFunction };
const originalQuery = clientPrototype.query;
clientPrototype.query = function (this: unknown, ...args: unknown[]) {
  counters.dbStatements += 1;
  return originalQuery.apply(this, args);
};

await runBenchChild('gateway', async () => {
  const rootDir = findProjectRoot();
  const config = loadConfig({ rootDir });
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    secretValues: config.secretValues,
  });
  const tracing = startTracing(config.tracing, readPackageVersion(rootDir), logger);
  const { start, stop } = await import('../../src/gateway.js');
  const running: Running = {};
  try {
    await start(config, logger, rootDir, running);
  } catch (error) {
    await stop(running, logger).catch(() => undefined);
    throw error;
  }
  const { app, database, redis } = running;
  if (!app || !database) throw new Error('the gateway did not start');
  if (!redis) throw new Error('the gateway runs without Redis: set REDIS_URL');

  database.onStatement((event) => {
    counters.prismaQueries += 1;
    counters.prismaQueryMs += event.durationMs;
  });

  // Pool connection time: waiting for a connection, and holding it.
  const pool = database.pool;
  type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, release: unknown) => void;
  const connect = pool.connect.bind(pool) as unknown as (callback?: ConnectCallback) => unknown;
  const waited = (since: number) => {
    const ms = performance.now() - since;
    counters.poolAcquisitions += 1;
    counters.poolWaitMs += ms;
    counters.poolWaitMaxMs = Math.max(counters.poolWaitMaxMs, ms);
  };
  (pool as unknown as { connect: unknown }).connect = (callback?: ConnectCallback) => {
    counters.poolMaxWaiting = Math.max(counters.poolMaxWaiting, pool.waitingCount);
    const since = performance.now();
    if (typeof callback === 'function') {
      return connect((error, client, release) => {
        waited(since);
        callback(error, client, release);
      });
    }
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      waited(since);
      return client;
    });
  };
  const heldSince = new WeakMap<object, number>();
  pool.on('acquire', (client) => heldSince.set(client, performance.now()));
  pool.on('release', (_error: Error | undefined, client: pg.PoolClient) => {
    const since = heldSince.get(client);
    if (since !== undefined) counters.poolHoldMs += performance.now() - since;
    heldSince.delete(client);
  });

  // Redis commands on both of the gateway's connections.
  for (const connection of [redis.client, redis.subscriber]) {
    const sendCommand = connection.sendCommand.bind(connection) as AnyFunction;
    (connection as unknown as { sendCommand: AnyFunction }).sendCommand = (...args: unknown[]) => {
      counters.redisCommands += 1;
      return sendCommand(...args);
    };
  }

  const extra: ExtraCounters = {
    reset: () => Object.assign(counters, zero),
    read: () => ({ ...counters }),
  };
  return {
    url: `http://${config.http.host}:${config.http.port}/graphql`,
    server: app.server.server,
    extra,
    async stop() {
      await stop(running, logger);
      await tracing.shutdown();
    },
  };
});

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Logger } from '../../observability/logger.js';

// Loaded through require, so that OpenTelemetry's ioredis instrumentation (a require hook)
// patches it: an ESM import of this CommonJS package would bypass the hook.
const { Redis } = createRequire(import.meta.url)('ioredis') as typeof IORedis;

export type RedisClient = IORedis.Redis;

export interface RedisOptions {
  url: string;
  logger: Logger;
  /** Shown in CLIENT LIST. @default 'erp-gateway' */
  name?: string;
  /** Prepended to every key (not to pub/sub channels). @default '' */
  keyPrefix?: string;
  /** Longest wait for one command; Redis holds only what can be lost, so a slow Redis is a miss. @default 500 */
  commandTimeoutMs?: number;
}

/**
 * A Redis connection that fails fast instead of queueing (DESIGN.md section 1: a Redis outage
 * degrades, it never fails requests the database alone can serve): no offline queue, one
 * retry per command, a short command timeout, and reconnection in the background.
 */
export function createRedis(options: RedisOptions): RedisClient {
  const logger = options.logger.child({ component: 'redis', connection: options.name ?? 'main' });
  const redis = new Redis(options.url, {
    connectionName: options.name ?? 'erp-gateway',
    keyPrefix: options.keyPrefix ?? '',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: options.commandTimeoutMs ?? 500,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down)
      logger.warn('redis unavailable: degrading to database and in-memory fallbacks', { error: error.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis available again');
    down = false;
  });
  return redis;
}

/** Waits until the connection is ready (startup), or gives up after `timeoutMs` without failing. */
export async function waitForRedis(redis: RedisClient, timeoutMs = 2_000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

/** A Lua script run by its SHA-1 (EVALSHA): the source crosses the wire only when Redis lacks it. */
export interface RedisScript {
  run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/**
 * EVAL sends the whole source on every call and Redis hashes it every time; EVALSHA sends 40
 * characters. A Redis that does not know the script (restarted, flushed, a failover) answers
 * NOSCRIPT, and the call is made once with EVAL, which loads it. Keys get the connection's prefix
 * either way.
 */
export function redisScript(source: string): RedisScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}

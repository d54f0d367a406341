import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from './redis.js';

export interface RedisCacheOptions {
  /** Names the cache in logs and metrics, e.g. `apq` or `responses`. */
  name: string;
  /** Shared by every instance; absent in development without REDIS_URL (per-instance memory). */
  redis?: RedisClient;
  logger: Logger;
  /** Longest wait for Redis; past it a read is a miss and a write is dropped. */
  timeoutMs: number;
}

export interface RedisCacheStats {
  /** Reads and writes that failed or timed out (answered as misses). */
  errors: number;
}

const MISS = Symbol('miss');

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | typeof MISS> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof MISS>((resolve) => {
    timer = setTimeout(() => resolve(MISS), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * An Apollo KeyValueCache in Redis, shared by every instance: the automatic persisted queries
 * (query documents by sha256) and the response cache. A Redis error or a reply slower than
 * `timeoutMs` is a miss (a client then sends the document again, a response is computed), never
 * an error or a hung request. Apollo Server prefixes the keys (`apq:`, `fqc:`), the client with
 * REDIS_KEY_PREFIX. Without Redis (development) the entries live in this process's memory.
 */
export function createRedisCache(options: RedisCacheOptions): KeyValueCache<string> & { stats: RedisCacheStats } {
  const { redis, logger, timeoutMs } = options;
  const stats: RedisCacheStats = { errors: 0 };
  const memory = new LRUCache<string, string>({ maxSize: 50 * 1024 * 1024, sizeCalculation: (v) => v.length || 1 });
  let warned = false;
  const failed = (error: unknown, action: string) => {
    stats.errors += 1;
    if (!warned)
      logger.warn(`${options.name} cache: redis unavailable, treating as a miss`, { action, error: String(error) });
    warned = true;
  };
  return {
    stats,
    async get(hash) {
      if (!redis) return memory.get(hash);
      try {
        const value = await withTimeout(redis.get(hash), timeoutMs);
        if (value === MISS) {
          failed('timeout', 'get');
          return undefined;
        }
        warned = false;
        return value ?? undefined;
      } catch (error) {
        failed(error, 'get');
        return undefined;
      }
    },
    async set(hash, value, setOptions) {
      const ttl = setOptions?.ttl ?? undefined;
      if (!redis) {
        memory.set(hash, value, ttl ? { ttl: ttl * 1000 } : undefined);
        return;
      }
      try {
        const write = ttl ? redis.set(hash, value, 'EX', ttl) : redis.set(hash, value);
        if ((await withTimeout(write, timeoutMs)) === MISS) failed('timeout', 'set');
      } catch (error) {
        failed(error, 'set');
      }
    },
    async delete(hash) {
      memory.delete(hash);
      if (!redis) return true;
      try {
        return (await withTimeout(redis.del(hash), timeoutMs)) === 1;
      } catch (error) {
        failed(error, 'delete');
        return false;
      }
    },
  };
}

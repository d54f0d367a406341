import { LRUCache } from 'lru-cache';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from './redis.js';

/**
 * Adds to a counter that lives for one window; one atomic script per call, so instances sharing
 * Redis count together. KEYS: counter. ARGV: amount, window seconds. Returns [count, ttl].
 */
const ADD_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return { count, ttl }`;

export interface WindowCount {
  count: number;
  /** Seconds until the window ends and the count starts again. */
  resetInSeconds: number;
  /** True when Redis was unavailable and this instance counted alone. */
  degraded: boolean;
}

/**
 * Fixed-window counters for rate limits and budgets, in Redis (shared by every instance) or,
 * when Redis is absent or down, in this process's memory: limits degrade to per-instance
 * windows rather than failing requests or failing open (logged and counted).
 */
export function createWindowCounter(options: { redis?: RedisClient; logger: Logger }) {
  const memory = new LRUCache<string, { count: number; expiresAt: number }>({ max: 100_000 });
  let degradedLogged = false;
  const stats = { degradedCalls: 0 };

  function addInMemory(key: string, amount: number, windowSeconds: number): WindowCount {
    const now = Date.now();
    const entry = memory.get(key);
    const next =
      entry && entry.expiresAt > now
        ? { count: entry.count + amount, expiresAt: entry.expiresAt }
        : { count: amount, expiresAt: now + windowSeconds * 1000 };
    memory.set(key, next);
    return { count: next.count, resetInSeconds: Math.ceil((next.expiresAt - now) / 1000), degraded: true };
  }

  return {
    stats,
    async add(key: string, amount: number, windowSeconds: number): Promise<WindowCount> {
      if (options.redis) {
        try {
          const [count, ttl] = (await options.redis.eval(ADD_SCRIPT, 1, key, amount, windowSeconds)) as [
            number,
            number,
          ];
          degradedLogged = false;
          return { count, resetInSeconds: ttl, degraded: false };
        } catch (error) {
          if (!degradedLogged) {
            options.logger.warn('rate limits: redis unavailable, counting per instance', {
              error: (error as Error).message,
            });
            degradedLogged = true;
          }
        }
      }
      stats.degradedCalls += 1;
      return addInMemory(key, amount, windowSeconds);
    },
  };
}

export type WindowCounter = ReturnType<typeof createWindowCounter>;

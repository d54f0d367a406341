import { LRUCache } from 'lru-cache';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from './redis.js';

/**
 * Several windows in one round trip, in order, stopping at the first one over its limit (the
 * later windows are not charged for a refused request). KEYS: counters. ARGV: amount, window
 * seconds and limit of each counter in turn. Returns [count, ttl] of each counter it charged.
 */
const ADD_ALL_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 3
  local count = redis.call('INCRBY', key, ARGV[base + 1])
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    redis.call('EXPIRE', key, ARGV[base + 2])
    ttl = tonumber(ARGV[base + 2])
  end
  out[#out + 1] = count
  out[#out + 1] = ttl
  if count > tonumber(ARGV[base + 3]) then return out end
end
return out`;

/** One window of `addAll`: charge `amount` to `key`, refused above `limit`. */
export interface WindowCharge {
  key: string;
  amount: number;
  windowSeconds: number;
  limit: number;
}

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

  function degraded(error: unknown): void {
    if (!degradedLogged) {
      options.logger.warn('rate limits: redis unavailable, counting per instance', {
        error: (error as Error).message,
      });
      degradedLogged = true;
    }
  }

  return {
    stats,
    /**
     * Charges the windows in order, one Redis round trip for all of them, and stops at the first
     * one over its limit: the result holds the windows charged (the last is over when shorter
     * than `charges`, or when its count exceeds its limit).
     */
    async addAll(charges: readonly WindowCharge[]): Promise<WindowCount[]> {
      if (options.redis) {
        try {
          const args = charges.flatMap((c) => [c.amount, c.windowSeconds, c.limit]);
          const flat = (await options.redis.eval(
            ADD_ALL_SCRIPT,
            charges.length,
            ...charges.map((c) => c.key),
            ...args,
          )) as number[];
          degradedLogged = false;
          const counts: WindowCount[] = [];
          for (let i = 0; i < flat.length; i += 2) {
            counts.push({ count: flat[i]!, resetInSeconds: flat[i + 1]!, degraded: false });
          }
          return counts;
        } catch (error) {
          degraded(error);
        }
      }
      stats.degradedCalls += 1;
      const counts: WindowCount[] = [];
      for (const charge of charges) {
        const counted = addInMemory(charge.key, charge.amount, charge.windowSeconds);
        counts.push(counted);
        if (counted.count > charge.limit) break;
      }
      return counts;
    },
  };
}

export type WindowCounter = ReturnType<typeof createWindowCounter>;

import { LRUCache } from 'lru-cache';
import type { Logger } from '../../observability/logger.js';
import { redisScript, type RedisClient } from './redis.js';

/**
 * Several windows in one round trip, in order, stopping at the first one over its limit (the
 * later windows are not charged for a refused request), after reading some other keys in the
 * same round trip (a caller's revocation state: see `addAll`). KEYS: the keys to read, then the
 * counters. ARGV: how many keys to read, then the amount, window seconds and limit of each
 * counter in turn. Returns the values read (nil when absent), then [count, ttl] of each counter
 * it charged.
 */
const ADD_ALL_SCRIPT = redisScript(`
local reads = tonumber(ARGV[1])
local out = {}
if reads > 0 then out = redis.call('MGET', unpack(KEYS, 1, reads)) end
for i = reads + 1, #KEYS do
  local key = KEYS[i]
  local base = 1 + (i - reads - 1) * 3
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
return out`);

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
     * one over its limit: `counts` holds the windows charged (the last is over when shorter
     * than `charges`, or when its count exceeds its limit). `reads` are keys read in the same
     * round trip, before the charge: their values come back as `values` (null when absent), or
     * undefined when Redis was not there to read them.
     */
    async addAll(
      charges: readonly WindowCharge[],
      reads: readonly string[] = [],
    ): Promise<{ counts: WindowCount[]; values?: (string | null)[] }> {
      if (options.redis) {
        try {
          const args = [reads.length, ...charges.flatMap((c) => [c.amount, c.windowSeconds, c.limit])];
          const flat = (await ADD_ALL_SCRIPT.run(options.redis, [...reads, ...charges.map((c) => c.key)], args)) as (
            string | number | null
          )[];
          degradedLogged = false;
          const counts: WindowCount[] = [];
          for (let i = reads.length; i < flat.length; i += 2) {
            counts.push({ count: flat[i] as number, resetInSeconds: flat[i + 1] as number, degraded: false });
          }
          return { counts, values: flat.slice(0, reads.length) as (string | null)[] };
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
      return { counts };
    },
  };
}

export type WindowCounter = ReturnType<typeof createWindowCounter>;

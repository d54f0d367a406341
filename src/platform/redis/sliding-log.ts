import { randomUUID } from 'node:crypto';
import type { Logger } from '../../observability/logger.js';
import { redisScript, type RedisClient } from './redis.js';

/**
 * Records one call in a sliding log of call times and returns the earlier calls still inside the
 * window, atomically (one script), so instances sharing Redis never both admit the last call.
 * A call is recorded only while fewer than `max` are logged: rejected calls do not extend a
 * caller's wait, and the log never holds more than `max` entries. Time is Redis's own clock, so
 * instances with skewed clocks agree. KEYS: log. ARGV: window ms, max, member. Returns scores.
 */
const RECORD_SCRIPT = redisScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
if #entries / 2 < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], window)
local scores = {}
for i = 2, #entries, 2 do scores[#scores + 1] = entries[i] end
return scores`);

export interface SlidingLogStats {
  /** Calls counted in this process's memory because Redis was unavailable. */
  degradedCalls: number;
}

/**
 * Sliding-window call logs for per-field rate limits, in Redis or, when Redis is absent or
 * down, in this process (limits degrade to per-instance windows: logged and counted).
 */
export function createSlidingLog(options: { redis?: RedisClient; logger: Logger; maxKeys?: number }) {
  const memory = new Map<string, number[]>();
  const stats: SlidingLogStats = { degradedCalls: 0 };
  let degradedLogged = false;

  function recordInMemory(key: string, windowMs: number, max: number): number[] {
    const now = Date.now();
    const earlier = (memory.get(key) ?? []).filter((time) => time > now - windowMs);
    const next = earlier.length < max ? [...earlier, now] : earlier;
    memory.delete(key); // re-insert: the map's order is least recently used first
    memory.set(key, next);
    if (memory.size > (options.maxKeys ?? 100_000)) memory.delete(memory.keys().next().value!);
    return earlier;
  }

  return {
    stats,
    /** Logs a call under `key` and returns the times (ms) of the calls before it in the window. */
    async record(key: string, windowMs: number, max: number): Promise<number[]> {
      if (options.redis) {
        try {
          const scores = (await RECORD_SCRIPT.run(options.redis, [key], [windowMs, max, randomUUID()])) as string[];
          degradedLogged = false;
          return scores.map(Number);
        } catch (error) {
          if (!degradedLogged) {
            options.logger.warn('field rate limits: redis unavailable, counting per instance', {
              error: (error as Error).message,
            });
            degradedLogged = true;
          }
        }
      }
      stats.degradedCalls += 1;
      return recordInMemory(key, windowMs, max);
    },
  };
}

export type SlidingLog = ReturnType<typeof createSlidingLog>;

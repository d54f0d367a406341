import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../platform/redis/redis.js';
import type { SchedulingResult } from './solver/index.js';

/** What the cache keeps of a solve: its result and the time budget that produced it. */
interface CachedSolution {
  result: SchedulingResult;
  timeBudgetMs: number;
}

export interface SolutionCache {
  /**
   * The solution of an identical problem (same canonical hash), if one is kept and good enough
   * for this budget: an optimal one always; any other only for a budget no larger than the one
   * that produced it (a caller giving more time may get a better schedule). Errors are misses.
   */
  get(problemHash: string, timeBudgetMs: number): Promise<SchedulingResult | undefined>;
  /** Keeps a solution for the configured TTL; errors are logged and ignored. */
  set(problemHash: string, timeBudgetMs: number, result: SchedulingResult): Promise<void>;
  readonly stats: { hits: number; misses: number; errors: number };
}

export interface SolutionCacheOptions {
  /** Shared by every instance; absent: a per-process map (embedded mode). */
  redis?: RedisClient;
  /** 0 turns the cache off. */
  ttlSeconds: number;
  logger: Logger;
  /** Entries the per-process map keeps at most. @default 200 */
  maxLocalEntries?: number;
}

const KEY_PREFIX = 'scheduling:solution:';

function usable(entry: CachedSolution | undefined, timeBudgetMs: number): SchedulingResult | undefined {
  if (!entry) return undefined;
  return entry.result.method === 'optimal' || timeBudgetMs <= entry.timeBudgetMs ? entry.result : undefined;
}

/**
 * Solutions by canonical problem hash (issue 8), in Redis under the app's key prefix so every
 * instance reuses them; the hash covers every value the solver reads, so an entry can never be
 * stale, and the TTL only bounds memory.
 */
export function createSolutionCache(options: SolutionCacheOptions): SolutionCache {
  const { redis, ttlSeconds, logger } = options;
  const stats = { hits: 0, misses: 0, errors: 0 };
  const local = new Map<string, { entry: CachedSolution; expiresAt: number }>();
  const maxLocal = options.maxLocalEntries ?? 200;

  async function read(hash: string): Promise<CachedSolution | undefined> {
    if (!redis) {
      const held = local.get(hash);
      if (held && held.expiresAt > Date.now()) return held.entry;
      local.delete(hash);
      return undefined;
    }
    const text = await redis.get(`${KEY_PREFIX}${hash}`);
    return text === null ? undefined : (JSON.parse(text) as CachedSolution);
  }

  return {
    stats,
    async get(problemHash, timeBudgetMs) {
      if (ttlSeconds <= 0) return undefined;
      try {
        const found = usable(await read(problemHash), timeBudgetMs);
        if (found) stats.hits += 1;
        else stats.misses += 1;
        return found;
      } catch (error) {
        stats.errors += 1;
        logger.warn('schedule cache unavailable: solving instead', { error: (error as Error).message });
        return undefined;
      }
    },
    async set(problemHash, timeBudgetMs, result) {
      if (ttlSeconds <= 0) return;
      const entry: CachedSolution = { result, timeBudgetMs };
      try {
        if (!redis) {
          if (local.size >= maxLocal) local.delete(local.keys().next().value!);
          local.set(problemHash, { entry, expiresAt: Date.now() + ttlSeconds * 1000 });
          return;
        }
        await redis.set(`${KEY_PREFIX}${problemHash}`, JSON.stringify(entry), 'EX', ttlSeconds);
      } catch (error) {
        stats.errors += 1;
        logger.warn('schedule cache unavailable: solution not kept', { error: (error as Error).message });
      }
    },
  };
}

import { LRUCache } from 'lru-cache';
import { AccountLockedError, RateLimitedError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import { redisScript, type RedisClient } from '../../platform/redis/redis.js';

export interface LoginGuardOptions {
  /** Shared by every instance; absent or down: per-instance memory (logged). */
  redis?: RedisClient;
  logger: Logger;
  ipMaxAttempts: number;
  ipWindowSeconds: number;
  lockoutThreshold: number;
  lockoutSeconds: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * One round trip per attempt, atomic across instances: count the attempt in the IP's window,
 * read the account's lock, and count the attempt as a failure up front (a success deletes the
 * count). Counting before the password is checked closes the race in which a burst of
 * concurrent guesses would all be checked before any failure was recorded.
 * KEYS: ip counter, account lock, failure counter.
 * ARGV: window seconds, IP max attempts, lockout threshold, lock seconds.
 * Returns [attempts in window, window ttl, lock ttl (or lock seconds when this attempt is over the threshold)].
 */
const ATTEMPT_SCRIPT = redisScript(`
local attempts = redis.call('INCR', KEYS[1])
if attempts == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local windowTtl = redis.call('TTL', KEYS[1])
local lockTtl = redis.call('TTL', KEYS[2])
if attempts > tonumber(ARGV[2]) or lockTtl > 0 then return { attempts, windowTtl, lockTtl } end
local pending = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
if pending > tonumber(ARGV[3]) then return { attempts, windowTtl, tonumber(ARGV[4]) } end
return { attempts, windowTtl, lockTtl }`);

/**
 * A failed login (already counted by ATTEMPT_SCRIPT): at the threshold, lock the account once
 * (NX: one lock, one email, however many requests fail together).
 * KEYS: failure counter, account lock. ARGV: threshold, lock seconds. Returns [failures, locked now (0/1)].
 */
const FAILURE_SCRIPT = redisScript(`
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures >= tonumber(ARGV[1]) and redis.call('SET', KEYS[2], '1', 'EX', ARGV[2], 'NX') then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return { failures, 1 }
end
return { failures, 0 }`);

interface MemoryEntry {
  value: number;
  expiresAt: number;
}

/** Bounded: while Redis is down, attacker-chosen IPs and emails must not grow memory without end. */
const MEMORY_ENTRIES = 100_000;

/**
 * Login abuse protection (REQ 5, PROP 9, PROP 10): at most `ipMaxAttempts` per client IP per
 * window, and `lockoutThreshold` consecutive failures lock the account for `lockoutSeconds`
 * whatever password comes next. Accounts are keyed by the normalised email whether or not it
 * exists, so locking reveals nothing about which emails are registered.
 */
export function createLoginGuard(options: LoginGuardOptions) {
  const { redis, logger } = options;
  const now = options.now ?? Date.now;
  const memory = new LRUCache<string, MemoryEntry>({ max: MEMORY_ENTRIES });
  let degradedLogged = false;

  function memoryGet(key: string): MemoryEntry | undefined {
    const entry = memory.get(key);
    if (entry && entry.expiresAt <= now()) {
      memory.delete(key);
      return undefined;
    }
    return entry;
  }

  function memoryIncr(key: string, ttlSeconds: number, refreshTtl: boolean): MemoryEntry {
    const entry = memoryGet(key);
    const next = {
      value: (entry?.value ?? 0) + 1,
      expiresAt: entry && !refreshTtl ? entry.expiresAt : now() + ttlSeconds * 1000,
    };
    memory.set(key, next);
    return next;
  }

  function degraded(error: unknown): void {
    if (!degradedLogged) {
      logger.warn('login limits: redis unavailable, using per-instance memory', { error: (error as Error).message });
      degradedLogged = true;
    }
  }

  const keys = (ip: string, email: string) => ({
    ip: `login:ip:${ip}`,
    failures: `login:fail:${email.toLowerCase()}`,
    lock: `login:lock:${email.toLowerCase()}`,
  });

  /** Monotonic counts for metrics: attempts by outcome and accounts locked. */
  const stats = { success: 0, failure: 0, rateLimited: 0, locked: 0, lockouts: 0 };

  return {
    stats,
    /**
     * Counts the attempt against the IP and refuses it when the IP is over its limit
     * (RATE_LIMITED with retry-after) or the account is locked (ACCOUNT_LOCKED with unlock time).
     */
    async beforeAttempt(ip: string, email: string): Promise<void> {
      const k = keys(ip, email);
      let attempts: number;
      let windowTtl: number;
      let lockTtl: number;
      try {
        if (!redis) throw new Error('no redis configured');
        [attempts, windowTtl, lockTtl] = (await ATTEMPT_SCRIPT.run(
          redis,
          [k.ip, k.lock, k.failures],
          [options.ipWindowSeconds, options.ipMaxAttempts, options.lockoutThreshold, options.lockoutSeconds],
        )) as [number, number, number];
        degradedLogged = false;
      } catch (error) {
        if (redis) degraded(error);
        const entry = memoryIncr(k.ip, options.ipWindowSeconds, false);
        attempts = entry.value;
        windowTtl = Math.ceil((entry.expiresAt - now()) / 1000);
        const lock = memoryGet(k.lock);
        lockTtl = lock ? Math.ceil((lock.expiresAt - now()) / 1000) : -2;
        // Same as the script: the attempt counts as a failure until it succeeds.
        if (attempts <= options.ipMaxAttempts && lockTtl <= 0) {
          const pending = memoryIncr(k.failures, options.lockoutSeconds, true);
          if (pending.value > options.lockoutThreshold) lockTtl = options.lockoutSeconds;
        }
      }
      if (attempts > options.ipMaxAttempts) {
        stats.rateLimited += 1;
        logger.warn('login rate limit exceeded', { ip, attemptedEmail: email, attempts });
        throw new RateLimitedError(
          Math.max(windowTtl, 1),
          'Too many login attempts from this address. Try again later.',
        );
      }
      if (lockTtl > 0) {
        stats.locked += 1;
        logger.warn('login attempt on a locked account', { ip, attemptedEmail: email });
        throw new AccountLockedError(new Date(now() + lockTtl * 1000));
      }
    },

    /** A failed attempt; returns the unlock time when this failure locked the account. */
    async recordFailure(ip: string, email: string): Promise<Date | null> {
      const k = keys(ip, email);
      let locked: boolean;
      try {
        if (!redis) throw new Error('no redis configured');
        const [, flag] = (await FAILURE_SCRIPT.run(
          redis,
          [k.failures, k.lock],
          [options.lockoutThreshold, options.lockoutSeconds],
        )) as [number, number];
        locked = flag === 1;
      } catch (error) {
        if (redis) degraded(error);
        const failures = memoryGet(k.failures)?.value ?? 0;
        locked = failures >= options.lockoutThreshold && !memoryGet(k.lock);
        if (locked) memory.set(k.lock, { value: 1, expiresAt: now() + options.lockoutSeconds * 1000 });
      }
      stats.failure += 1;
      if (locked) stats.lockouts += 1;
      logger.warn('login failed', { ip, attemptedEmail: email, locked });
      return locked ? new Date(now() + options.lockoutSeconds * 1000) : null;
    },

    /** A successful login resets the consecutive-failure count. */
    async recordSuccess(ip: string, email: string): Promise<void> {
      stats.success += 1;
      const k = keys(ip, email);
      memory.delete(k.failures);
      if (!redis) return;
      try {
        await redis.del(k.failures);
      } catch (error) {
        degraded(error);
      }
    },
  };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;

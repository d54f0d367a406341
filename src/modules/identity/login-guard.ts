import { AccountLockedError, RateLimitedError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../platform/redis/redis.js';

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
 * One round trip per check (atomic across instances): count the attempt in the IP's window
 * and read the account's lock. KEYS: ip counter, account lock. ARGV: window seconds.
 * Returns [attempts in window, window ttl, lock ttl].
 */
const ATTEMPT_SCRIPT = `
local attempts = redis.call('INCR', KEYS[1])
if attempts == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return { attempts, redis.call('TTL', KEYS[1]), redis.call('TTL', KEYS[2]) }`;

/**
 * A failed login: count it; at the threshold, lock the account and reset the count.
 * KEYS: failure counter, account lock. ARGV: threshold, lock seconds.
 * Returns [failures, locked (0/1)].
 */
const FAILURE_SCRIPT = `
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
  redis.call('DEL', KEYS[1])
  return { failures, 1 }
end
return { failures, 0 }`;

interface MemoryEntry {
  value: number;
  expiresAt: number;
}

/**
 * Login abuse protection (REQ 5, PROP 9, PROP 10): at most `ipMaxAttempts` per client IP per
 * window, and `lockoutThreshold` consecutive failures lock the account for `lockoutSeconds`
 * whatever password comes next. Accounts are keyed by the normalised email whether or not it
 * exists, so locking reveals nothing about which emails are registered.
 */
export function createLoginGuard(options: LoginGuardOptions) {
  const { redis, logger } = options;
  const now = options.now ?? Date.now;
  const memory = new Map<string, MemoryEntry>();
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

  return {
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
        [attempts, windowTtl, lockTtl] = (await redis.eval(
          ATTEMPT_SCRIPT,
          2,
          k.ip,
          k.lock,
          options.ipWindowSeconds,
        )) as [number, number, number];
        degradedLogged = false;
      } catch (error) {
        if (redis) degraded(error);
        const entry = memoryIncr(k.ip, options.ipWindowSeconds, false);
        attempts = entry.value;
        windowTtl = Math.ceil((entry.expiresAt - now()) / 1000);
        const lock = memoryGet(k.lock);
        lockTtl = lock ? Math.ceil((lock.expiresAt - now()) / 1000) : -2;
      }
      if (attempts > options.ipMaxAttempts) {
        logger.warn('login rate limit exceeded', { ip, attemptedEmail: email, attempts });
        throw new RateLimitedError(
          Math.max(windowTtl, 1),
          'Too many login attempts from this address. Try again later.',
        );
      }
      if (lockTtl > 0) {
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
        const [, flag] = (await redis.eval(
          FAILURE_SCRIPT,
          2,
          k.failures,
          k.lock,
          options.lockoutThreshold,
          options.lockoutSeconds,
        )) as [number, number];
        locked = flag === 1;
      } catch (error) {
        if (redis) degraded(error);
        const entry = memoryIncr(k.failures, options.lockoutSeconds, true);
        locked = entry.value >= options.lockoutThreshold;
        if (locked) {
          memory.set(k.lock, { value: 1, expiresAt: now() + options.lockoutSeconds * 1000 });
          memory.delete(k.failures);
        }
      }
      logger.warn('login failed', { ip, attemptedEmail: email, locked });
      return locked ? new Date(now() + options.lockoutSeconds * 1000) : null;
    },

    /** A successful login resets the consecutive-failure count. */
    async recordSuccess(ip: string, email: string): Promise<void> {
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

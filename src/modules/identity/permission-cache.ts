import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../observability/logger.js';
import type { Prisma } from '../../platform/db/index.js';
import { redisScript, type RedisClient } from '../../platform/redis/redis.js';

/** Pub/sub channel on which every instance hears permission changes (REQ 7.3, PROP 12). */
export const INVALIDATION_CHANNEL = 'identity:invalidate';
/** How many lookups make one hit-rate sample for the REQ 7.5 warning. */
const HIT_RATE_SAMPLE = 200;
const HIT_RATE_WARNING = 0.7;
/**
 * Up to this many seconds come off each Redis entry's TTL at random. Entries written together (every
 * user of a load test signing in, an instance's cold start) would otherwise expire together and
 * send every user to the database at once, every TTL (issue 7: a 30 s stall of the peak run).
 */
const TTL_JITTER_SECONDS = 9;
/** How long a user's invalidation generation is kept: far longer than any load takes. */
const GENERATION_TTL_SECONDS = 3_600;

/**
 * Writes a user's entries only if no invalidation happened since the loader read the generation
 * (KEYS: perm, roles, generation; ARGV: the generation read, perm, its TTL, roles, its TTL). An
 * instance whose database read raced a change on another instance then keeps nothing stale.
 */
const WRITE_IF_CURRENT = redisScript(`
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
return 1`);

export interface UserAccess {
  /** Role names, for `me` and audits. */
  roles: string[];
  /** Effective permission keys across all roles. */
  permissions: string[];
  /** Customer-facing accounts only. */
  customerId: string | null;
  isActive: boolean;
}

export interface PermissionCacheOptions {
  prisma: Prisma;
  /** Absent (development without REDIS_URL) or down: the cache reads the database. */
  redis?: RedisClient;
  /** A second connection in subscriber mode for invalidations. */
  subscriber?: RedisClient;
  logger: Logger;
  /** REQ 7.1. @default 300 */
  permissionTtlSeconds?: number;
  /** REQ 7.2. @default 600 */
  roleTtlSeconds?: number;
  /** In-process first level, in front of Redis. @default 5000 */
  localTtlMs?: number;
  /** Pub/sub channel name (channels are not key-prefixed). @default INVALIDATION_CHANNEL */
  channel?: string;
}

export interface CacheStats {
  hits: number;
  misses: number;
  localHits: number;
  redisHits: number;
  databaseLoads: number;
  redisErrors: number;
}

/**
 * A user's roles and effective permissions, cached at two levels (REQ 7, PROP 11, PROP 12):
 * a small in-process LRU for seconds in front of Redis (permissions 5 min, roles 10 min).
 * A role or permission change deletes the Redis entries and is published so every instance
 * drops its local copy at once. Redis entries live up to 9 s less than their TTL, at random, and
 * concurrent misses of one user share one database load. Redis errors fall back to the database and never fail the
 * request (REQ 7.4); the hit rate is sampled and a drop below 70% is logged (REQ 7.5).
 */
export function createPermissionCache(options: PermissionCacheOptions) {
  const { prisma, redis, logger } = options;
  const permissionTtl = options.permissionTtlSeconds ?? 300;
  const roleTtl = options.roleTtlSeconds ?? 600;
  const invalidationChannel = options.channel ?? INVALIDATION_CHANNEL;
  const local = new LRUCache<string, UserAccess>({ max: 10_000, ttl: options.localTtlMs ?? 5_000 });
  const stats: CacheStats = { hits: 0, misses: 0, localHits: 0, redisHits: 0, databaseLoads: 0, redisErrors: 0 };
  let sample = { hits: 0, total: 0 };
  // One database load per user at a time: concurrent misses of one user share it. An invalidation
  // heard meanwhile marks the load stale: its result is still answered to the requests that began
  // before, but neither kept nor shared with later ones.
  /** Names this instance's invalidation messages, which it has applied before publishing them. */
  const instanceId = randomUUID();
  const loading = new Map<string, { state: { stale: boolean }; result: Promise<UserAccess | null> }>();
  const jittered = (seconds: number) =>
    seconds - Math.floor(Math.random() * (Math.min(TTL_JITTER_SECONDS, seconds / 10) + 1));

  function count(hit: boolean): void {
    if (hit) stats.hits += 1;
    else stats.misses += 1;
    sample = { hits: sample.hits + (hit ? 1 : 0), total: sample.total + 1 };
    if (sample.total >= HIT_RATE_SAMPLE) {
      const rate = sample.hits / sample.total;
      if (rate < HIT_RATE_WARNING) {
        logger.warn('permission cache hit rate below 70%', {
          hitRate: Math.round(rate * 1000) / 1000,
          lookups: sample.total,
        });
      }
      sample = { hits: 0, total: 0 };
    }
  }

  function redisFailed(error: unknown): void {
    stats.redisErrors += 1;
    logger.debug('permission cache: redis unavailable, using the database', { error: (error as Error).message });
  }

  async function loadFromDatabase(userId: string): Promise<UserAccess | null> {
    stats.databaseLoads += 1;
    // One statement: the user with its roles and their permissions (REQ 6.3: no N+1).
    const user = await prisma.user.findUnique({
      where: { id: userId },
      select: {
        isActive: true,
        customerId: true,
        roles: {
          select: {
            role: { select: { name: true, permissions: { select: { permission: { select: { key: true } } } } } },
          },
        },
      },
    });
    if (!user) return null;
    const roles = user.roles.map((r) => r.role.name).sort();
    const permissions = [...new Set(user.roles.flatMap((r) => r.role.permissions.map((p) => p.permission.key)))].sort();
    return { roles, permissions, customerId: user.customerId, isActive: user.isActive };
  }

  /** The user's entries and invalidation generation ('' when none) as Redis has them; null when Redis is out. */
  async function readRedis(userId: string): Promise<{ access: UserAccess | null; generation: string } | null> {
    if (!redis) return null;
    try {
      const [permissions, roles, generation] = await redis.mget(
        `perm:${userId}`,
        `roles:${userId}`,
        `permgen:${userId}`,
      );
      if (!permissions || !roles) return { access: null, generation: generation ?? '' };
      const access = JSON.parse(permissions) as Omit<UserAccess, 'roles'>;
      return { access: { ...access, roles: JSON.parse(roles) as string[] }, generation: generation ?? '' };
    } catch (error) {
      redisFailed(error);
      return null;
    }
  }

  async function writeRedis(userId: string, access: UserAccess, generation: string): Promise<void> {
    if (!redis) return;
    const { roles, ...rest } = access;
    try {
      await WRITE_IF_CURRENT.run(
        redis,
        [`perm:${userId}`, `roles:${userId}`, `permgen:${userId}`],
        [generation, JSON.stringify(rest), jittered(permissionTtl), JSON.stringify(roles), jittered(roleTtl)],
      );
    } catch (error) {
      redisFailed(error);
    }
  }

  /** Reads Redis, else the database (keeping what it read unless the user was invalidated meanwhile). */
  async function load(userId: string, current: { stale: boolean }): Promise<UserAccess | null> {
    const shared = await readRedis(userId);
    if (shared?.access) {
      stats.redisHits += 1;
      count(true);
      if (!current.stale) local.set(userId, shared.access);
      return shared.access;
    }
    count(false);
    const loaded = await loadFromDatabase(userId);
    // Without Redis (absent or out) the local level alone keeps it; with Redis, only if current there.
    if (loaded && !current.stale) {
      local.set(userId, loaded);
      if (shared) await writeRedis(userId, loaded, shared.generation);
    }
    return loaded;
  }

  /** Drops what this instance holds of the users: local entries and loads under way. */
  function forget(userIds: readonly string[]): void {
    for (const id of userIds) {
      local.delete(id);
      const load = loading.get(id);
      if (load) {
        load.state.stale = true;
        loading.delete(id);
      }
    }
  }

  if (options.subscriber) {
    const subscriber = options.subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== invalidationChannel) return;
      try {
        const { userIds, from } = JSON.parse(message) as { userIds: string[]; from?: string };
        // This instance forgot them when it published; hearing it again would drop loads begun since.
        if (from !== instanceId) forget(userIds);
      } catch {
        logger.warn('ignored malformed invalidation message');
      }
    });
    // Without an offline queue a connection refuses commands until it is ready, so a SUBSCRIBE sent
    // while it still connected (startup) was refused, and this instance never heard the others.
    // It is sent once the connection is ready. ioredis resubscribes what it had after a reconnect;
    // sending it on every 'ready' also covers a SUBSCRIBE that never succeeded (Redis ignores a
    // repeated one).
    const subscribe = () =>
      void subscriber.subscribe(invalidationChannel).catch((error: unknown) => redisFailed(error));
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') subscribe();
  }

  return {
    stats,

    /** The user's access, or null when the user does not exist. */
    async get(userId: string): Promise<UserAccess | null> {
      const cached = local.get(userId);
      if (cached) {
        stats.localHits += 1;
        count(true);
        return cached;
      }
      const running = loading.get(userId);
      if (running) return running.result;
      // Registered before its first await, so that an invalidation heard at any point marks it.
      const state = { stale: false };
      const current = { state, result: load(userId, state) };
      loading.set(userId, current);
      try {
        return await current.result;
      } finally {
        if (loading.get(userId) === current) loading.delete(userId);
      }
    },

    /** Drops the users' entries here, in Redis, and (over pub/sub) on every other instance. */
    async invalidateUsers(userIds: readonly string[]): Promise<void> {
      if (userIds.length === 0) return;
      forget(userIds);
      if (!redis) return;
      try {
        // A new generation first: a load that read the old one writes nothing after this.
        const generations = redis.multi();
        for (const id of userIds) generations.incr(`permgen:${id}`).expire(`permgen:${id}`, GENERATION_TTL_SECONDS);
        await generations.del(...userIds.flatMap((id) => [`perm:${id}`, `roles:${id}`])).exec();
        await redis.publish(invalidationChannel, JSON.stringify({ userIds, from: instanceId }));
      } catch (error) {
        // Redis is down: other instances' local entries expire within localTtlMs anyway.
        redisFailed(error);
      }
    },

    /** A role's permissions changed: every holder is invalidated. */
    async invalidateRole(roleId: string): Promise<void> {
      const holders = await prisma.userRole.findMany({ where: { roleId }, select: { userId: true } });
      await this.invalidateUsers(holders.map((h) => h.userId));
    },
  };
}

export type PermissionCache = ReturnType<typeof createPermissionCache>;

import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Prisma } from '../../platform/db/index.js';
import type { RedisClient } from '../../platform/redis/redis.js';
import type { AuditRecorder } from './auth.service.js';
import type { MfaDeps } from './mfa.js';
import { createAuthenticator, createRevocationStore, type Authenticate } from './authenticator.js';
import { createLoginGuard } from './login-guard.js';
import { createPasswordHasher } from './passwords.js';
import { createPermissionCache, INVALIDATION_CHANNEL } from './permission-cache.js';
import { createTokenService } from './tokens.js';

export interface IdentityOptions {
  auth: AppConfig['auth'];
  prisma: Prisma;
  /** Shared state across instances; absent in development without REDIS_URL. */
  redis?: RedisClient;
  /** A second Redis connection for pub/sub invalidations. */
  subscriber?: RedisClient;
  audit: AuditRecorder;
  logger: Logger;
  /** Namespaces the pub/sub channel like the keys. @default 'erp:' */
  redisKeyPrefix?: string;
}

export interface Identity extends MfaDeps {
  authenticate: Authenticate;
}

/** Builds the identity services once per app; the context hands them to every request. */
export function createIdentity(options: IdentityOptions): Identity {
  const { auth, prisma, redis, logger } = options;
  const log = logger.child({ component: 'identity' });
  const tokens = createTokenService({
    secrets: auth.jwtSecrets,
    issuer: auth.jwtIssuer,
    audience: auth.jwtAudience,
    accessTtlSeconds: auth.accessTokenTtlSeconds,
    mfaTtlSeconds: auth.mfaChallengeTtlSeconds,
    jwks: auth.jwks,
    logger: log,
  });
  const permissions = createPermissionCache({
    prisma,
    redis,
    subscriber: options.subscriber,
    logger: log,
    permissionTtlSeconds: auth.cache.permissionTtlSeconds,
    roleTtlSeconds: auth.cache.roleTtlSeconds,
    localTtlMs: auth.cache.localTtlMs,
    channel: `${options.redisKeyPrefix ?? 'erp:'}${INVALIDATION_CHANNEL}`,
  });
  const revocations = createRevocationStore({
    redis,
    prisma,
    logger: log,
    accessTtlSeconds: auth.accessTokenTtlSeconds,
  });
  return {
    tokens,
    passwords: createPasswordHasher({
      pepper: auth.passwordPepper,
      memoryKib: auth.password.argon2MemoryKib,
      timeCost: auth.password.argon2TimeCost,
    }),
    guard: createLoginGuard({ redis, logger: log, ...auth.login }),
    revocations,
    permissions,
    audit: options.audit,
    refreshTtlSeconds: auth.refreshTokenTtlSeconds,
    passwordMinLength: auth.password.minLength,
    pepper: auth.passwordPepper,
    authenticate: createAuthenticator({ tokens, revocations, permissions, prisma, logger: log }),
  };
}

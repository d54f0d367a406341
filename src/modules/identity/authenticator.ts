import { UnauthenticatedError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Prisma } from '../../platform/db/index.js';
import type { RedisClient } from '../../platform/redis/redis.js';
import { ANONYMOUS, type Actor } from '../../platform/service-context.js';
import type { PermissionCache } from './permission-cache.js';
import type { AccessClaims, TokenService } from './tokens.js';

/** How long a session confirmed in the database is trusted without asking it again. */
const SESSION_LIVE_SECONDS = 60;

export interface RevocationStoreOptions {
  redis?: RedisClient;
  prisma: Prisma;
  logger: Logger;
  /** Access-token lifetime: how long a session revocation must be remembered. */
  accessTtlSeconds: number;
}

/**
 * Revoked access tokens and sessions, kept in Redis until the tokens would have expired and
 * checked on every request (REQ 10.2). Without Redis, the session's row in the database is
 * the source of truth (a logged-out session stays revoked there).
 */
export function createRevocationStore(options: RevocationStoreOptions) {
  const { redis, prisma, logger } = options;
  return {
    async revokeToken(tokenId: string, expiresAt: number): Promise<void> {
      const ttl = expiresAt - Math.floor(Date.now() / 1000);
      if (!redis || ttl <= 0) return;
      await redis.set(`revoked:jti:${tokenId}`, '1', 'EX', ttl).catch((error: Error) => {
        logger.warn('could not record a token revocation in redis', { error: error.message });
      });
    },

    /** Every access token of these sessions stops working now, not at its expiry. */
    async revokeSessions(sessionIds: readonly string[]): Promise<void> {
      if (!redis || sessionIds.length === 0) return;
      const multi = redis.multi();
      for (const id of sessionIds) {
        multi.set(`revoked:sid:${id}`, '1', 'EX', options.accessTtlSeconds);
        multi.del(`session:live:${id}`);
      }
      await multi.exec().catch((error: Error) => {
        logger.warn('could not record session revocations in redis', { error: error.message });
      });
    },

    /**
     * Revoked when Redis says so; otherwise the session row decides, and a short-lived
     * "confirmed live" key spares the database on the next requests. A Redis that lost its
     * data (flush, eviction, restart) therefore falls back to the database, never to "valid".
     */
    async isRevoked(claims: AccessClaims): Promise<boolean> {
      const sessionId = claims.sessionId;
      if (redis) {
        try {
          const keys = [`revoked:jti:${claims.tokenId}`];
          if (sessionId) keys.push(`revoked:sid:${sessionId}`, `session:live:${sessionId}`);
          const [jti, sid, live] = await redis.mget(...keys);
          if (jti || sid) return true;
          if (!sessionId || live) return false;
        } catch {
          // Fall through to the database.
        }
      }
      if (!sessionId) return false;
      const session = await prisma.session.findUnique({ where: { id: sessionId }, select: { revokedAt: true } });
      const revoked = !session || session.revokedAt !== null;
      if (!revoked && redis) {
        await redis.set(`session:live:${sessionId}`, '1', 'EX', SESSION_LIVE_SECONDS).catch(() => undefined);
      }
      return revoked;
    },
  };
}

export type RevocationStore = ReturnType<typeof createRevocationStore>;

export interface AuthenticatorOptions {
  tokens: TokenService;
  revocations: RevocationStore;
  permissions: PermissionCache;
  prisma: Prisma;
  logger: Logger;
}

/**
 * Turns the Authorization header into the request's Actor (DESIGN.md section 2, step 3).
 * No header: anonymous. A header that does not check out: UNAUTHENTICATED, whatever the reason
 * (the reason is logged).
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const { tokens, revocations, permissions, prisma, logger } = options;
  return async function authenticate(authorization: string | undefined): Promise<Actor> {
    if (authorization === undefined || authorization === '') return ANONYMOUS;
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization);
    if (!match?.[1]) {
      logger.warn('token rejected', { reason: 'malformed-header' });
      throw new UnauthenticatedError('The Authorization header must be "Bearer <token>".');
    }
    const claims = await tokens.verifyAccess(match[1]);
    let userId = claims.userId;
    if (claims.source === 'external') {
      const user = await prisma.user.findUnique({ where: { email: claims.userId }, select: { id: true } });
      if (!user) {
        logger.warn('token rejected', { reason: 'external-user-unknown' });
        throw new UnauthenticatedError('The access token is invalid or expired.');
      }
      userId = user.id;
    }
    if (await revocations.isRevoked(claims)) {
      logger.warn('token rejected', { reason: 'revoked', userId });
      throw new UnauthenticatedError('The access token is invalid or expired.');
    }
    const access = await permissions.get(userId);
    if (!access?.isActive) {
      logger.warn('token rejected', { reason: access ? 'user-inactive' : 'user-unknown', userId });
      throw new UnauthenticatedError('The access token is invalid or expired.');
    }
    return {
      userId,
      customerId: access.customerId,
      permissions: new Set(access.permissions),
      sessionId: claims.sessionId,
      tokenId: claims.tokenId,
      tokenExpiresAt: claims.expiresAt,
    };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

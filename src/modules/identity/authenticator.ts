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
  /** The Redis keys `isRevoked` reads for these claims, for a caller that reads them in a round trip of its own. */
  const keysOf = (claims: AccessClaims): string[] => {
    const keys = [`revoked:jti:${claims.tokenId}`];
    if (claims.sessionId) keys.push(`revoked:sid:${claims.sessionId}`, `session:live:${claims.sessionId}`);
    return keys;
  };
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

    keysOf,

    /**
     * Revoked when Redis says so; otherwise the session row decides, and a short-lived
     * "confirmed live" key spares the database on the next requests. A Redis that lost its
     * data (flush, eviction, restart) therefore falls back to the database, never to "valid".
     * `values`: what Redis holds under `keysOf(claims)`, already read by the caller; without
     * them they are read here.
     */
    async isRevoked(claims: AccessClaims, values?: readonly (string | null)[]): Promise<boolean> {
      const sessionId = claims.sessionId;
      if (redis) {
        try {
          const [jti, sid, live] = values ?? (await redis.mget(...keysOf(claims)));
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

/** A presented token that checked out (signature, expiry, issuer), before its revocation and its user are. */
export interface VerifiedToken {
  claims: AccessClaims;
  userId: string;
  /** The Redis keys of its revocation state (RevocationStore.keysOf). */
  revocationKeys: string[];
}

/**
 * Turns the Authorization header into the request's Actor (DESIGN.md section 2, step 3).
 * No header: anonymous. A header that does not check out: UNAUTHENTICATED, whatever the reason
 * (the reason is logged). In two halves for a caller that reads the revocation state in a Redis
 * round trip of its own (the cached-read lane, with its rate-limit charge): `verify` checks the
 * token, `confirm` checks revocation and the user.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const { tokens, revocations, permissions, prisma, logger } = options;

  /** The token of a Bearer header, checked; undefined without a header (anonymous). */
  async function verify(authorization: string | undefined): Promise<VerifiedToken | undefined> {
    if (authorization === undefined || authorization === '') return undefined;
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
    return { claims, userId, revocationKeys: revocations.keysOf(claims) };
  }

  /** The Actor of a verified token: not revoked (`revocationValues`: its keys, if already read), an active user. */
  async function confirm(token: VerifiedToken, revocationValues?: readonly (string | null)[]): Promise<Actor> {
    const { claims, userId } = token;
    if (await revocations.isRevoked(claims, revocationValues)) {
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
  }

  async function authenticate(authorization: string | undefined): Promise<Actor> {
    const token = await verify(authorization);
    return token ? confirm(token) : ANONYMOUS;
  }
  return Object.assign(authenticate, { verify, confirm });
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

import { LRUCache } from 'lru-cache';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from 'jose';
import { UnauthenticatedError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';

export interface TokenServiceOptions {
  /** HS256 secrets: the first signs, all verify (zero-downtime rotation, REQ 1.5). */
  secrets: readonly string[];
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  mfaTtlSeconds: number;
  /** Tokens of an external identity provider, verified against its JWKS. */
  jwks?: { url: string; issuer: string; audience: string };
  logger: Logger;
}

export interface AccessClaims {
  userId: string;
  sessionId: string | null;
  tokenId: string;
  expiresAt: number;
  /** 'local' for our tokens; 'external' for the identity provider's (userId is then its email). */
  source: 'local' | 'external';
}

/** Why a token was refused. Logged for investigation; the client only ever sees UNAUTHENTICATED. */
export type TokenRejection =
  | 'malformed'
  | 'algorithm'
  | 'unknown-key'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'wrong-type'
  | 'external-unavailable';

export class TokenRejectedError extends UnauthenticatedError {
  constructor(readonly reason: TokenRejection) {
    super('The access token is invalid or expired.');
  }
}

/** The key id of a secret: its fingerprint, so a token names the secret that signed it. */
function keyId(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

function rejectionOf(error: unknown): TokenRejection {
  if (error instanceof TokenRejectedError) return error.reason;
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'wrong-issuer';
    if (error.claim === 'aud') return 'wrong-audience';
    if (error.claim === 'nbf' || error.claim === 'iat') return 'not-yet-valid';
    return 'malformed';
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) return 'algorithm';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  if (error instanceof joseErrors.JWKSTimeout) return 'external-unavailable';
  return 'malformed';
}

/** Longest a verified token is remembered without checking its signature again. */
const VERIFIED_TTL_MS = 60_000;

/**
 * Access tokens (15 min, HS256 with key ids), short-lived MFA challenges, and optional tokens
 * of an external identity provider (REQ 1.5, REQ 10.2, 003 SEC-001). Every failure is a
 * TokenRejectedError whose reason is logged, never returned.
 */
export function createTokenService(options: TokenServiceOptions) {
  const keys = options.secrets.map((secret) => ({ kid: keyId(secret), key: new TextEncoder().encode(secret) }));
  const signing = keys[0];
  if (!signing) throw new Error('at least one JWT secret is required');
  // Local access tokens already verified, by their exact text: HMAC verification through WebCrypto
  // was about a tenth of a cached read's CPU (issue 7). Never past the token's expiry; revocation
  // is checked per request elsewhere (authenticator.ts), so this only skips the signature check.
  const verified = new LRUCache<string, AccessClaims>({ max: 20_000 });
  const remote = options.jwks ? createRemoteJWKSet(new URL(options.jwks.url), { timeoutDuration: 2_000 }) : undefined;

  async function sign(
    claims: JWTPayload,
    type: string,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: number; tokenId: string }> {
    const tokenId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ ...claims, typ: type })
      .setProtectedHeader({ alg: 'HS256', kid: signing!.kid, typ: 'JWT' })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(tokenId)
      .sign(signing!.key);
    return { token, expiresAt: now + ttlSeconds, tokenId };
  }

  async function verifyLocal(token: string, type: string): Promise<JWTPayload> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRejectedError('malformed');
    }
    // Only HS256 with one of our key ids: `alg: none`, RS/HS confusion and foreign keys never verify.
    if (header.alg !== 'HS256') throw new TokenRejectedError('algorithm');
    const key = keys.find((k) => k.kid === header.kid);
    if (!key) throw new TokenRejectedError('unknown-key');
    const { payload } = await jwtVerify(token, key.key, {
      algorithms: ['HS256'],
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'nbf', 'jti', 'sub'],
    });
    if (payload.typ !== type) throw new TokenRejectedError('wrong-type');
    return payload;
  }

  async function verify(token: string, type: string): Promise<JWTPayload> {
    try {
      return await verifyLocal(token, type);
    } catch (error) {
      const reason = rejectionOf(error);
      options.logger.warn('token rejected', { reason, kind: type });
      throw error instanceof TokenRejectedError ? error : new TokenRejectedError(reason);
    }
  }

  return {
    signAccess(userId: string, sessionId: string) {
      return sign({ sub: userId, sid: sessionId }, 'access', options.accessTtlSeconds);
    },

    signMfaChallenge(userId: string) {
      return sign({ sub: userId }, 'mfa', options.mfaTtlSeconds);
    },

    async verifyAccess(token: string): Promise<AccessClaims> {
      let header;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        options.logger.warn('token rejected', { reason: 'malformed', kind: 'access' });
        throw new TokenRejectedError('malformed');
      }
      if (remote && options.jwks && header.alg !== 'HS256') {
        try {
          const { payload } = await jwtVerify(token, remote, {
            issuer: options.jwks.issuer,
            audience: options.jwks.audience,
            algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256'],
            requiredClaims: ['exp', 'sub'],
          });
          // The email is the link to a local account: an unverified one must not be trusted.
          if (typeof payload.email !== 'string' || payload.email_verified === false)
            throw new TokenRejectedError('malformed');
          return {
            userId: payload.email,
            sessionId: null,
            tokenId: payload.jti ?? `${payload.sub}:${payload.iat ?? 0}`,
            expiresAt: payload.exp ?? 0,
            source: 'external',
          };
        } catch (error) {
          const reason = rejectionOf(error);
          options.logger.warn('external token rejected', { reason });
          throw error instanceof TokenRejectedError ? error : new TokenRejectedError(reason);
        }
      }
      const known = verified.get(token);
      if (known) return known;
      const payload = await verify(token, 'access');
      const claims: AccessClaims = {
        userId: String(payload.sub),
        sessionId: typeof payload.sid === 'string' ? payload.sid : null,
        tokenId: String(payload.jti),
        expiresAt: payload.exp ?? 0,
        source: 'local',
      };
      const ttlMs = Math.min(claims.expiresAt * 1000 - Date.now(), VERIFIED_TTL_MS);
      if (ttlMs > 0) verified.set(token, claims, { ttl: ttlMs });
      return claims;
    },

    async verifyMfaChallenge(token: string): Promise<{ userId: string; tokenId: string; expiresAt: number }> {
      const payload = await verify(token, 'mfa');
      return { userId: String(payload.sub), tokenId: String(payload.jti), expiresAt: payload.exp ?? 0 };
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;

/** An opaque refresh token and the SHA-256 that is stored instead of it. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { AccountLockedError, AppError, ErrorCode, UnauthenticatedError, ValidationError } from '../../errors/index.js';
import type { ServiceContext } from '../../platform/service-context.js';
import { completeMfaLogin, type AuthResult, type IdentityDeps, type RequestInfo } from './auth.service.js';

/** TOTP parameters every authenticator app understands (RFC 6238 defaults). */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** Codes one step either side of now are accepted (clock drift). */
const WINDOW = 1;
export const BACKUP_CODE_COUNT = 10;
const ISSUER = 'ERP Gateway';

type Ctx = Pick<ServiceContext, 'prisma' | 'runInTransaction' | 'signal' | 'actor' | 'logger'>;

export interface MfaDeps extends IdentityDeps {
  /** The validated pepper; the TOTP secret is encrypted at rest with a key derived from it. */
  pepper: string;
  /** @default Date.now */
  now?: () => number;
}

function secretKey(pepper: string): Buffer {
  return Buffer.from(hkdfSync('sha256', pepper, 'erp-gateway', 'mfa-secret-encryption', 32));
}

/** AES-256-GCM: iv.tag.ciphertext, base64url. */
export function encryptSecret(pepper: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secretKey(pepper), iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
}

export function decryptSecret(pepper: string, sealed: string): string {
  const [iv, tag, data] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !data) throw new Error('malformed encrypted MFA secret');
  const decipher = createDecipheriv('aes-256-gcm', secretKey(pepper), iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
}

/** Backup codes are random (50 bits each), so a keyed hash suffices; they are never stored in clear. */
function hashBackupCode(pepper: string, code: string): string {
  return createHmac('sha256', pepper).update(code.replace(/[\s-]/g, '').toUpperCase()).digest('hex');
}

function newBackupCode(): string {
  const raw = randomBytes(8).toString('base64url').replace(/[-_]/g, 'X').slice(0, 10).toUpperCase();
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

function totpFor(secretBase32: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: ISSUER,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

/**
 * Checks a TOTP code and consumes its time step: the same code (or an older one) is never
 * accepted twice, even inside its validity window (replay protection). The step is recorded
 * in the users row with a conditional update, so two instances cannot both accept it.
 */
async function consumeTotp(
  ctx: Ctx,
  deps: MfaDeps,
  userId: string,
  secretBase32: string,
  label: string,
  code: string,
): Promise<boolean> {
  const now = (deps.now ?? Date.now)();
  const delta = totpFor(secretBase32, label).validate({ token: code, timestamp: now, window: WINDOW });
  if (delta === null) return false;
  const step = Math.floor(now / 1000 / PERIOD_SECONDS) + delta;
  const { count } = await ctx.prisma.user.updateMany({
    where: { id: userId, OR: [{ mfaLastUsedStep: null }, { mfaLastUsedStep: { lt: step } }] },
    data: { mfaLastUsedStep: step },
  });
  return count === 1;
}

async function consumeBackupCode(ctx: Ctx, deps: MfaDeps, userId: string, code: string): Promise<boolean> {
  const hash = hashBackupCode(deps.pepper, code);
  const candidates = await ctx.prisma.mfaBackupCode.findMany({
    where: { userId, usedAt: null },
    select: { id: true, codeHash: true },
  });
  const match = candidates.find(
    (c) => c.codeHash.length === hash.length && timingSafeEqual(Buffer.from(c.codeHash), Buffer.from(hash)),
  );
  if (!match) return false;
  // Conditional: a backup code works exactly once, even under concurrent use.
  const { count } = await ctx.prisma.mfaBackupCode.updateMany({
    where: { id: match.id, usedAt: null },
    data: { usedAt: new Date() },
  });
  return count === 1;
}

async function currentUser(ctx: Ctx) {
  const userId = ctx.actor.userId;
  if (!userId) throw new UnauthenticatedError();
  return ctx.prisma.user.findUniqueOrThrow({
    where: { id: userId },
    select: { id: true, email: true, mfaEnabled: true, mfaSecret: true },
  });
}

/** Step 1 of enrolment: a new secret (pending until confirmed with a code). */
export async function enrollMfa(ctx: Ctx, deps: MfaDeps): Promise<{ secret: string; otpauthUri: string }> {
  const user = await currentUser(ctx);
  if (user.mfaEnabled) {
    throw new AppError(ErrorCode.CONFLICT, {
      message: 'MFA is already enabled; disable it first.',
      details: { field: 'mfa' },
    });
  }
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  await ctx.prisma.user.update({
    where: { id: user.id },
    data: { mfaSecret: encryptSecret(deps.pepper, secret), mfaLastUsedStep: null },
  });
  return { secret, otpauthUri: totpFor(secret, user.email).toString() };
}

/** Step 2 of enrolment: a valid code turns MFA on and yields ten single-use backup codes, shown once. */
export async function confirmMfa(ctx: Ctx, deps: MfaDeps, code: string, request: RequestInfo): Promise<string[]> {
  const user = await currentUser(ctx);
  if (user.mfaEnabled)
    throw new AppError(ErrorCode.CONFLICT, { message: 'MFA is already enabled.', details: { field: 'mfa' } });
  if (!user.mfaSecret) throw ValidationError.forField('input.code', 'start with enrollMfa');
  if (!(await consumeTotp(ctx, deps, user.id, decryptSecret(deps.pepper, user.mfaSecret), user.email, code))) {
    throw ValidationError.forField('input.code', 'code is wrong, expired or already used');
  }
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
  await ctx.runInTransaction(async (tx) => {
    await tx.mfaBackupCode.deleteMany({ where: { userId: user.id } });
    await tx.mfaBackupCode.createMany({
      data: codes.map((c) => ({ userId: user.id, codeHash: hashBackupCode(deps.pepper, c) })),
    });
    await tx.user.update({ where: { id: user.id }, data: { mfaEnabled: true } });
    await deps.audit.record(
      {
        userId: user.id,
        ipAddress: request.ip,
        userAgent: request.userAgent ?? null,
        eventType: 'auth.mfa.enabled',
        action: 'enable',
        success: true,
      },
      tx,
    );
  });
  return codes;
}

/** Turning MFA off requires a current code, so a stolen session alone cannot weaken the account. */
export async function disableMfa(ctx: Ctx, deps: MfaDeps, code: string, request: RequestInfo): Promise<boolean> {
  const user = await currentUser(ctx);
  if (!user.mfaEnabled || !user.mfaSecret) throw ValidationError.forField('input.code', 'MFA is not enabled');
  if (!(await consumeTotp(ctx, deps, user.id, decryptSecret(deps.pepper, user.mfaSecret), user.email, code))) {
    throw ValidationError.forField('input.code', 'code is wrong, expired or already used');
  }
  await ctx.runInTransaction(async (tx) => {
    await tx.mfaBackupCode.deleteMany({ where: { userId: user.id } });
    await tx.user.update({
      where: { id: user.id },
      data: { mfaEnabled: false, mfaSecret: null, mfaLastUsedStep: null },
    });
    await deps.audit.record(
      {
        userId: user.id,
        ipAddress: request.ip,
        userAgent: request.userAgent ?? null,
        eventType: 'auth.mfa.disabled',
        action: 'disable',
        success: true,
      },
      tx,
    );
  });
  return true;
}

/**
 * The second login step: the MFA challenge token from `login` plus a TOTP or backup code.
 * Wrong codes count towards the account lockout like wrong passwords.
 */
export async function verifyMfaLogin(
  ctx: Ctx,
  deps: MfaDeps,
  mfaToken: string,
  code: string,
  request: RequestInfo,
): Promise<AuthResult> {
  const challenge = await deps.tokens.verifyMfaChallenge(mfaToken);
  const user = await ctx.prisma.user.findUnique({
    where: { id: challenge.userId },
    select: { id: true, email: true, isActive: true, mfaEnabled: true, mfaSecret: true },
  });
  if (!user?.isActive || !user.mfaEnabled || !user.mfaSecret)
    throw new UnauthenticatedError('The MFA challenge is invalid.');
  await deps.guard.beforeAttempt(request.ip, user.email);
  const isBackupCode = /^[A-Z0-9]{5}-?[A-Z0-9]{5}$/i.test(code.trim()) && !/^\d{6}$/.test(code.trim());
  const ok = isBackupCode
    ? await consumeBackupCode(ctx, deps, user.id, code)
    : await consumeTotp(ctx, deps, user.id, decryptSecret(deps.pepper, user.mfaSecret), user.email, code.trim());
  if (!ok) {
    const unlockAt = await deps.guard.recordFailure(request.ip, user.email);
    await deps.audit.record({
      userId: user.id,
      ipAddress: request.ip,
      userAgent: request.userAgent ?? null,
      eventType: 'auth.mfa.failure',
      action: 'login',
      success: false,
      details: { backupCode: isBackupCode },
    });
    if (unlockAt) throw new AccountLockedError(unlockAt);
    throw new UnauthenticatedError('The code is wrong, expired or already used.');
  }
  await deps.guard.recordSuccess(request.ip, user.email);
  return completeMfaLogin(ctx, deps, user.id, request);
}

import {
  AccountLockedError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../errors/index.js';
import type { PrismaTx } from '../../platform/db/index.js';
import type { AuditWriter } from '../audit/index.js';
import { enqueueEmail } from '../../platform/mail/index.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type { LoginGuard } from './login-guard.js';
import { checkPasswordStrength, type PasswordHasher } from './passwords.js';
import type { PermissionCache } from './permission-cache.js';
import { isPermissionKey } from './permissions.js';
import type { RevocationStore } from './authenticator.js';
import { hashRefreshToken, newRefreshToken, type TokenService } from './tokens.js';

/** What the identity services need of the audit log (REQ 18): the audit module's writer. */
export type AuditRecorder = Pick<AuditWriter, 'record' | 'recordBatched'>;

/** Everything the identity workflows need, created once per app by createIdentity(). */
export interface IdentityDeps {
  tokens: TokenService;
  passwords: PasswordHasher;
  guard: LoginGuard;
  revocations: RevocationStore;
  permissions: PermissionCache;
  audit: AuditRecorder;
  refreshTtlSeconds: number;
  passwordMinLength: number;
}

export interface RequestInfo {
  ip: string;
  userAgent: string | undefined;
}

type Ctx = Pick<ServiceContext, 'prisma' | 'runInTransaction' | 'signal' | 'actor' | 'logger'>;

export interface AuthResult {
  /** Present when the login is complete. */
  accessToken?: string;
  refreshToken?: string;
  accessTokenExpiresAt?: Date;
  /** Present when a TOTP code is still needed (second login step). */
  mfaToken?: string;
  mfaRequired: boolean;
  userId: string;
}

const INVALID_CREDENTIALS = 'Invalid email or password.';

async function issueSession(
  ctx: Ctx,
  deps: IdentityDeps,
  userId: string,
  request: RequestInfo,
  family?: { familyId: string; parentId: string },
  tx?: PrismaTx,
): Promise<AuthResult> {
  const refresh = newRefreshToken();
  const db = tx ?? ctx.prisma;
  const session = await db.session.create({
    data: {
      userId,
      familyId: family?.familyId ?? crypto.randomUUID(),
      parentId: family?.parentId ?? null,
      tokenHash: refresh.hash,
      ipAddress: request.ip,
      userAgent: request.userAgent?.slice(0, 500) ?? null,
      expiresAt: new Date(Date.now() + deps.refreshTtlSeconds * 1000),
    },
  });
  const access = await deps.tokens.signAccess(userId, session.id);
  return {
    accessToken: access.token,
    accessTokenExpiresAt: new Date(access.expiresAt * 1000),
    refreshToken: refresh.token,
    mfaRequired: false,
    userId,
  };
}

/**
 * Password login (REQ 5, 18.1). Unknown emails and wrong passwords get the same answer after
 * the same work (no enumeration); limits and lockouts apply before any password is checked.
 */
export async function login(
  ctx: Ctx,
  deps: IdentityDeps,
  email: string,
  password: string,
  request: RequestInfo,
): Promise<AuthResult> {
  await deps.guard.beforeAttempt(request.ip, email);
  const user = await ctx.prisma.user.findUnique({
    where: { email },
    select: { id: true, email: true, passwordHash: true, isActive: true, mfaEnabled: true },
  });
  const valid = user
    ? await deps.passwords.verify(user.passwordHash, password)
    : await deps.passwords.verifyNothing(password);
  const auditBase = { userId: user?.id ?? null, ipAddress: request.ip, userAgent: request.userAgent ?? null };
  if (!user || !valid || !user.isActive) {
    const unlockAt = await deps.guard.recordFailure(request.ip, email);
    await deps.audit.record({
      ...auditBase,
      eventType: 'auth.login.failure',
      action: 'login',
      success: false,
      details: { attemptedEmail: email, reason: !user ? 'unknown-email' : !valid ? 'wrong-password' : 'inactive' },
    });
    if (unlockAt) {
      await ctx.runInTransaction(async (tx) => {
        await deps.audit.record(
          {
            ...auditBase,
            eventType: 'auth.lockout',
            action: 'lock',
            success: true,
            details: { attemptedEmail: email, unlockAt },
          },
          tx,
        );
        // REQ 5.5: the owner hears about it (only real accounts get mail; the answer is the same).
        if (user) {
          // A malformed stored address must not undo the lockout record: log it instead.
          await enqueueEmail(tx, {
            to: user.email,
            subject: 'Your account has been locked',
            template: 'account-locked',
            text: `After several failed sign-in attempts your account is locked until ${unlockAt.toISOString()}.\nIf this was not you, change your password once the lock ends and tell your administrator.`,
          }).catch((error: unknown) =>
            ctx.logger.error('could not queue the lockout email', { userId: user.id, error }),
          );
        }
      });
      throw new AccountLockedError(unlockAt);
    }
    throw new UnauthenticatedError(INVALID_CREDENTIALS);
  }
  await deps.guard.recordSuccess(request.ip, email);
  if (user.mfaEnabled) {
    const challenge = await deps.tokens.signMfaChallenge(user.id);
    await deps.audit.record({ ...auditBase, eventType: 'auth.login.mfa_challenge', action: 'login', success: true });
    return { mfaRequired: true, mfaToken: challenge.token, userId: user.id };
  }
  const result = await issueSession(ctx, deps, user.id, request);
  await ctx.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  await deps.audit.record({ ...auditBase, eventType: 'auth.login.success', action: 'login', success: true });
  return result;
}

/** Completes a login whose password step asked for MFA; the second factor was verified by the caller. */
export async function completeMfaLogin(
  ctx: Ctx,
  deps: IdentityDeps,
  userId: string,
  request: RequestInfo,
): Promise<AuthResult> {
  const result = await issueSession(ctx, deps, userId, request);
  await ctx.prisma.user.update({ where: { id: userId }, data: { lastLoginAt: new Date() } });
  await deps.audit.record({
    userId,
    ipAddress: request.ip,
    userAgent: request.userAgent ?? null,
    eventType: 'auth.login.success',
    action: 'login',
    success: true,
    details: { mfa: true },
  });
  return result;
}

/**
 * Refresh-token rotation: a token works once. Presenting an already-rotated token means it
 * was stolen (or replayed): the whole family is revoked and audited.
 */
export async function refresh(ctx: Ctx, deps: IdentityDeps, token: string, request: RequestInfo): Promise<AuthResult> {
  const session = await ctx.prisma.session.findUnique({
    where: { tokenHash: hashRefreshToken(token) },
    include: { user: { select: { isActive: true } } },
  });
  if (!session || session.revokedAt || session.expiresAt.getTime() <= Date.now() || !session.user.isActive) {
    throw new UnauthenticatedError('The refresh token is invalid or expired.');
  }
  const rotated = await ctx.runInTransaction(
    async (tx) => {
      // Conditional: two concurrent refreshes with the same token cannot both rotate it.
      const { count } = await tx.session.updateMany({
        where: { id: session.id, rotatedAt: null },
        data: { rotatedAt: new Date() },
      });
      if (count === 0) return null;
      return issueSession(ctx, deps, session.userId, request, { familyId: session.familyId, parentId: session.id }, tx);
    },
    { signal: ctx.signal },
  );
  if (rotated) return rotated;
  const family = await ctx.prisma.session.findMany({
    where: { familyId: session.familyId, revokedAt: null },
    select: { id: true },
  });
  await ctx.prisma.session.updateMany({
    where: { familyId: session.familyId, revokedAt: null },
    data: { revokedAt: new Date(), revokeReason: 'refresh-token-reuse' },
  });
  await deps.revocations.revokeSessions(family.map((s) => s.id));
  await deps.permissions.invalidateUsers([session.userId]);
  await deps.audit.record({
    userId: session.userId,
    resourceId: session.familyId,
    ipAddress: request.ip,
    userAgent: request.userAgent ?? null,
    eventType: 'auth.refresh.reuse',
    action: 'revoke-family',
    success: false,
    details: { sessionsRevoked: family.length },
  });
  ctx.logger.warn('refresh token reuse: token family revoked', { userId: session.userId, familyId: session.familyId });
  throw new UnauthenticatedError('The refresh token is invalid or expired.');
}

/** Ends the caller's session: its refresh token and current access token stop working (REQ 10.2). */
export async function logout(ctx: Ctx, deps: IdentityDeps, request: RequestInfo): Promise<boolean> {
  const { actor } = ctx;
  if (!actor.userId) throw new UnauthenticatedError();
  if (actor.sessionId) {
    await ctx.prisma.session.updateMany({
      where: { id: actor.sessionId, revokedAt: null },
      data: { revokedAt: new Date(), revokeReason: 'logout' },
    });
    await deps.revocations.revokeSessions([actor.sessionId]);
  }
  if (actor.tokenId && actor.tokenExpiresAt) await deps.revocations.revokeToken(actor.tokenId, actor.tokenExpiresAt);
  await deps.audit.record({
    userId: actor.userId,
    resourceId: actor.sessionId,
    ipAddress: request.ip,
    userAgent: request.userAgent ?? null,
    eventType: 'auth.logout',
    action: 'logout',
    success: true,
  });
  return true;
}

function assertStrongPassword(deps: IdentityDeps, password: string, email: string, path: string): void {
  const problems = checkPasswordStrength(password, { email, minLength: deps.passwordMinLength });
  if (problems.length > 0) throw new ValidationError({ [path]: problems.map((p) => `password ${p}`) });
}

/** Changes the caller's password and revokes every other session (003 SEC-001). */
export async function changePassword(
  ctx: Ctx,
  deps: IdentityDeps,
  currentPassword: string,
  newPassword: string,
  request: RequestInfo,
): Promise<boolean> {
  const userId = ctx.actor.userId;
  if (!userId) throw new UnauthenticatedError();
  const user = await ctx.prisma.user.findUniqueOrThrow({
    where: { id: userId },
    select: { email: true, passwordHash: true },
  });
  if (!(await deps.passwords.verify(user.passwordHash, currentPassword))) {
    throw ValidationError.forField('input.currentPassword', 'current password is wrong');
  }
  assertStrongPassword(deps, newPassword, user.email, 'input.newPassword');
  const passwordHash = await deps.passwords.hash(newPassword);
  const others = await ctx.runInTransaction(async (tx) => {
    // Sessions are listed after the new hash is written, inside the transaction, so the window
    // in which a login with the old password could escape the revocation is as small as it gets.
    await tx.user.update({ where: { id: userId }, data: { passwordHash } });
    const others = await tx.session.findMany({
      where: { userId, revokedAt: null, ...(ctx.actor.sessionId ? { id: { not: ctx.actor.sessionId } } : {}) },
      select: { id: true },
    });
    await tx.session.updateMany({
      where: { id: { in: others.map((s) => s.id) } },
      data: { revokedAt: new Date(), revokeReason: 'password-changed' },
    });
    await deps.audit.record(
      {
        userId,
        ipAddress: request.ip,
        userAgent: request.userAgent ?? null,
        eventType: 'auth.password.changed',
        action: 'change-password',
        success: true,
        details: { otherSessionsRevoked: others.length },
      },
      tx,
    );
    return others;
  });
  await deps.revocations.revokeSessions(others.map((s) => s.id));
  return true;
}

export interface NewUser {
  email: string;
  displayName: string;
  password: string;
  roleNames: string[];
  customerId?: string | null;
}

/** Creates a user with roles (USER_ADMIN); audited with who did it. */
export async function createUser(ctx: Ctx, deps: IdentityDeps, input: NewUser) {
  assertStrongPassword(deps, input.password, input.email, 'input.password');
  if (await ctx.prisma.user.findUnique({ where: { email: input.email }, select: { id: true } })) {
    throw new ConflictError('email', 'A user with this email already exists.');
  }
  const roles = await ctx.prisma.role.findMany({ where: { name: { in: input.roleNames } } });
  const unknown = input.roleNames.filter((name) => !roles.some((r) => r.name.toLowerCase() === name.toLowerCase()));
  if (unknown.length > 0) throw ValidationError.forField('input.roleNames', `unknown roles: ${unknown.join(', ')}`);
  if (
    input.customerId &&
    !(await ctx.prisma.customer.findUnique({ where: { id: input.customerId }, select: { id: true } }))
  ) {
    throw new NotFoundError('Customer', input.customerId);
  }
  const passwordHash = await deps.passwords.hash(input.password);
  return ctx.runInTransaction(async (tx) => {
    const user = await tx.user.create({
      data: {
        email: input.email,
        displayName: input.displayName,
        passwordHash,
        customerId: input.customerId ?? null,
        roles: { create: roles.map((role) => ({ roleId: role.id, assignedById: ctx.actor.userId })) },
      },
      omit: { passwordHash: true, mfaSecret: true },
    });
    await deps.audit.record(
      {
        userId: ctx.actor.userId,
        resourceId: user.id,
        eventType: 'user.created',
        action: 'create',
        success: true,
        details: { email: user.email, roles: roles.map((r) => r.name) },
      },
      tx,
    );
    return user;
  });
}

// ------------------------------------------------------------ role administration (audited)

async function roleByName(tx: PrismaTx, name: string) {
  const role = await tx.role.findUnique({ where: { name } });
  if (!role) throw new NotFoundError('Role', name);
  return role;
}

export async function createRole(ctx: Ctx, deps: IdentityDeps, name: string, description: string) {
  if (await ctx.prisma.role.findUnique({ where: { name }, select: { id: true } })) {
    throw new ConflictError('name', 'A role with this name already exists.');
  }
  return ctx.runInTransaction(async (tx) => {
    const role = await tx.role.create({ data: { name, description } });
    await deps.audit.record(
      {
        userId: ctx.actor.userId,
        resourceId: role.id,
        eventType: 'role.created',
        action: 'create',
        success: true,
        details: { name },
      },
      tx,
    );
    return role;
  });
}

export async function setUserRole(ctx: Ctx, deps: IdentityDeps, userId: string, roleName: string, assign: boolean) {
  const result = await ctx.runInTransaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw new NotFoundError('User', userId);
    const role = await roleByName(tx, roleName);
    const before = (await tx.userRole.findMany({ where: { userId }, include: { role: true } }))
      .map((r) => r.role.name)
      .sort();
    if (assign) {
      await tx.userRole.upsert({
        where: { userId_roleId: { userId, roleId: role.id } },
        create: { userId, roleId: role.id, assignedById: ctx.actor.userId },
        update: {},
      });
    } else {
      await tx.userRole.deleteMany({ where: { userId, roleId: role.id } });
    }
    const after = (await tx.userRole.findMany({ where: { userId }, include: { role: true } }))
      .map((r) => r.role.name)
      .sort();
    await deps.audit.record(
      {
        userId: ctx.actor.userId,
        resourceId: userId,
        eventType: assign ? 'role.assigned' : 'role.revoked',
        action: assign ? 'assign' : 'revoke',
        success: true,
        details: { role: role.name, before, after },
      },
      tx,
    );
    return userId;
  });
  // REQ 7.3, PROP 12: the change is visible on every instance at once.
  await deps.permissions.invalidateUsers([userId]);
  return result;
}

export async function setRolePermission(
  ctx: Ctx,
  deps: IdentityDeps,
  roleName: string,
  permissionKey: string,
  grant: boolean,
) {
  if (!isPermissionKey(permissionKey))
    throw ValidationError.forField('input.permission', `unknown permission ${permissionKey}`);
  if (!grant && roleName === 'ADMIN' && permissionKey === 'ROLE_ADMIN') {
    throw new ForbiddenError('ROLE_ADMIN cannot be taken from the ADMIN role: nobody could administer roles any more.');
  }
  const role = await ctx.runInTransaction(async (tx) => {
    const role = await roleByName(tx, roleName);
    const permission = await tx.permission.findUnique({ where: { key: permissionKey } });
    if (!permission) throw new NotFoundError('Permission', permissionKey);
    const before = (await tx.rolePermission.findMany({ where: { roleId: role.id }, include: { permission: true } }))
      .map((p) => p.permission.key)
      .sort();
    if (grant) {
      await tx.rolePermission.upsert({
        where: { roleId_permissionId: { roleId: role.id, permissionId: permission.id } },
        create: { roleId: role.id, permissionId: permission.id, grantedById: ctx.actor.userId },
        update: {},
      });
    } else {
      await tx.rolePermission.deleteMany({ where: { roleId: role.id, permissionId: permission.id } });
    }
    const after = grant ? [...new Set([...before, permissionKey])].sort() : before.filter((k) => k !== permissionKey);
    await deps.audit.record(
      {
        userId: ctx.actor.userId,
        resourceId: role.id,
        eventType: grant ? 'permission.granted' : 'permission.revoked',
        action: grant ? 'grant' : 'revoke',
        success: true,
        details: { role: role.name, permission: permissionKey, before, after },
      },
      tx,
    );
    return role;
  });
  await deps.permissions.invalidateRole(role.id);
  return role;
}

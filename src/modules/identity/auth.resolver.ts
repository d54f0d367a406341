import { Args, Ctx, Directive, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import {
  ChangePasswordArgs,
  CreateRoleArgs,
  CreateUserArgs,
  LoginArgs,
  MfaCodeArgs,
  RefreshArgs,
  RolePermissionArgs,
  UserRoleArgs,
  VerifyMfaArgs,
} from './auth.inputs.js';
import {
  changePassword,
  createRole,
  createUser,
  login,
  logout,
  refresh,
  setRolePermission,
  setUserRole,
  type RequestInfo,
} from './auth.service.js';
import { AuthPayload, Me, MfaEnrollment } from './auth.types.js';
import { confirmMfa, disableMfa, enrollMfa, verifyMfaLogin } from './mfa.js';
import { Role, User } from './identity.types.js';

const requestOf = (ctx: GraphQLContext): RequestInfo => ({ ip: ctx.clientIp, userAgent: ctx.userAgent });

@Resolver()
export class AuthResolver {
  @Directive('@public')
  @Mutation(() => AuthPayload, {
    description:
      'Signs in with email and password. Limited per client IP and locked per account after repeated failures (RATE_LIMITED, ACCOUNT_LOCKED). When MFA is on, returns mfaToken instead of tokens.',
  })
  login(@Args(() => LoginArgs) { input }: LoginArgs, @Ctx() ctx: GraphQLContext) {
    return login(ctx, ctx.identity, input.email, input.password, requestOf(ctx));
  }

  @Directive('@rateLimit(window: "1m", max: 30)')
  @Directive('@public')
  @Mutation(() => AuthPayload, {
    description:
      'Exchanges a refresh token for new tokens; each refresh token works once (reuse revokes the whole session family).',
  })
  refreshToken(@Args(() => RefreshArgs) { input }: RefreshArgs, @Ctx() ctx: GraphQLContext) {
    return refresh(ctx, ctx.identity, input.refreshToken, requestOf(ctx));
  }

  @Directive('@auth')
  @Mutation(() => Boolean, {
    description: "Ends the caller's session: the refresh token and this access token stop working.",
  })
  logout(@Ctx() ctx: GraphQLContext) {
    return logout(ctx, ctx.identity, requestOf(ctx));
  }

  @Directive('@rateLimit(window: "15m", max: 5)')
  @Directive('@auth')
  @Mutation(() => Boolean, { description: "Changes the caller's password and signs out every other session." })
  changePassword(@Args(() => ChangePasswordArgs) { input }: ChangePasswordArgs, @Ctx() ctx: GraphQLContext) {
    return changePassword(ctx, ctx.identity, input.currentPassword, input.newPassword, requestOf(ctx));
  }

  @Directive('@auth')
  @Query(() => Me, { description: 'The authenticated caller with its roles and effective permissions.' })
  async me(@Ctx() ctx: GraphQLContext): Promise<Me> {
    const userId = ctx.actor.userId!;
    const [user, access] = await Promise.all([
      ctx.prisma.user.findUniqueOrThrow({
        where: { id: userId },
        select: { id: true, email: true, displayName: true, mfaEnabled: true },
      }),
      ctx.identity.permissions.get(userId),
    ]);
    return {
      ...user,
      roles: access?.roles ?? [],
      permissions: access?.permissions ?? [],
      customerId: access?.customerId ?? null,
    };
  }

  @Directive('@rateLimit(window: "5m", max: 10)')
  @Directive('@public')
  @Mutation(() => AuthPayload, {
    description: 'Second login step when mfaRequired: the mfaToken and a TOTP or backup code. A code is accepted once.',
  })
  verifyMfaLogin(@Args(() => VerifyMfaArgs) { input }: VerifyMfaArgs, @Ctx() ctx: GraphQLContext) {
    return verifyMfaLogin(ctx, ctx.identity, input.mfaToken, input.code, requestOf(ctx));
  }

  @Directive('@auth')
  @Mutation(() => MfaEnrollment, { description: 'Starts MFA enrolment: a TOTP secret to put in an authenticator app.' })
  enrollMfa(@Ctx() ctx: GraphQLContext) {
    return enrollMfa(ctx, ctx.identity);
  }

  @Directive('@rateLimit(window: "5m", max: 10)')
  @Directive('@auth')
  @Mutation(() => [String], {
    description:
      'Confirms enrolment with a current code; MFA is on from now and ten single-use backup codes are returned once.',
  })
  confirmMfa(@Args(() => MfaCodeArgs) { input }: MfaCodeArgs, @Ctx() ctx: GraphQLContext) {
    return confirmMfa(ctx, ctx.identity, input.code, requestOf(ctx));
  }

  @Directive('@auth')
  @Mutation(() => Boolean, { description: 'Turns MFA off; requires a current code from the authenticator app.' })
  disableMfa(@Args(() => MfaCodeArgs) { input }: MfaCodeArgs, @Ctx() ctx: GraphQLContext) {
    return disableMfa(ctx, ctx.identity, input.code, requestOf(ctx));
  }

  @Directive('@auth(anyOf: [USER_ADMIN])')
  @Mutation(() => User, { description: 'Creates a user with roles. The password must pass the strength rules.' })
  createUser(@Args(() => CreateUserArgs) { input }: CreateUserArgs, @Ctx() ctx: GraphQLContext) {
    return createUser(ctx, ctx.identity, input);
  }

  @Directive('@auth(anyOf: [ROLE_ADMIN])')
  @Mutation(() => Role, { description: 'Creates a role without permissions. Audited.' })
  createRole(@Args(() => CreateRoleArgs) { input }: CreateRoleArgs, @Ctx() ctx: GraphQLContext) {
    return createRole(ctx, ctx.identity, input.name, input.description);
  }

  @Directive('@auth(anyOf: [ROLE_ADMIN])')
  @Mutation(() => User, { description: 'Gives a user a role; effective on every instance at once. Audited.' })
  async assignRole(@Args(() => UserRoleArgs) { input }: UserRoleArgs, @Ctx() ctx: GraphQLContext) {
    await setUserRole(ctx, ctx.identity, input.userId, input.roleName, true);
    return ctx.loaders.identity.userById.load(input.userId);
  }

  @Directive('@auth(anyOf: [ROLE_ADMIN])')
  @Mutation(() => User, { description: 'Takes a role from a user; effective on every instance at once. Audited.' })
  async revokeRole(@Args(() => UserRoleArgs) { input }: UserRoleArgs, @Ctx() ctx: GraphQLContext) {
    await setUserRole(ctx, ctx.identity, input.userId, input.roleName, false);
    return ctx.loaders.identity.userById.load(input.userId);
  }

  @Directive('@auth(anyOf: [ROLE_ADMIN])')
  @Mutation(() => Role, { description: "Adds a permission to a role; every holder's cache is invalidated. Audited." })
  grantPermission(@Args(() => RolePermissionArgs) { input }: RolePermissionArgs, @Ctx() ctx: GraphQLContext) {
    return setRolePermission(ctx, ctx.identity, input.roleName, input.permission, true);
  }

  @Directive('@auth(anyOf: [ROLE_ADMIN])')
  @Mutation(() => Role, {
    description: "Removes a permission from a role; every holder's cache is invalidated. Audited.",
  })
  revokePermission(@Args(() => RolePermissionArgs) { input }: RolePermissionArgs, @Ctx() ctx: GraphQLContext) {
    return setRolePermission(ctx, ctx.identity, input.roleName, input.permission, false);
  }
}

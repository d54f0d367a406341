import { Args, Ctx, Directive, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { ListUsersArgs, RoleIdArgs, UserIdArgs } from './identity.inputs.js';
import { getRole, listPermissions, listRoles, listUsers } from './identity.service.js';
import { Permission, Role, User, UserPage } from './identity.types.js';

@Resolver(() => User)
export class UserResolver {
  @Directive('@auth(anyOf: [USER_READ])')
  @Query(() => User, { nullable: true, description: 'A user by id; null when there is none.' })
  user(@Args(() => UserIdArgs) { id }: UserIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.identity.userById.load(id);
  }

  @Directive('@auth(anyOf: [USER_READ])')
  @Query(() => UserPage, { description: 'Users, filtered, sorted and paginated.' })
  users(@Args(() => ListUsersArgs) args: ListUsersArgs, @Ctx() ctx: GraphQLContext) {
    return listUsers(ctx, args);
  }

  @FieldResolver(() => [Role], { description: 'The roles assigned to this user, by name.' })
  roles(@Root() user: User, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.identity.rolesByUserId.load(user.id);
  }
}

@Resolver(() => Role)
export class RoleResolver {
  @Directive('@auth(anyOf: [USER_READ])')
  @Query(() => Role, { nullable: true, description: 'A role by id; null when there is none.' })
  role(@Args(() => RoleIdArgs) { id }: RoleIdArgs, @Ctx() ctx: GraphQLContext) {
    return getRole(ctx, id);
  }

  @Directive('@auth(anyOf: [USER_READ])')
  @Query(() => [Role], { description: 'All roles, by name.' })
  roles(@Ctx() ctx: GraphQLContext) {
    return listRoles(ctx);
  }

  @FieldResolver(() => [Permission], { description: 'The permissions this role grants, by key.' })
  permissions(@Root() role: Role, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.identity.permissionsByRoleId.load(role.id);
  }
}

@Resolver(() => Permission)
export class PermissionResolver {
  @Directive('@auth(anyOf: [USER_READ])')
  @Query(() => [Permission], { description: 'All permissions, by key.' })
  permissions(@Ctx() ctx: GraphQLContext) {
    return listPermissions(ctx);
  }
}

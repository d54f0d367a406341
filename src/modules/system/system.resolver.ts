import { Ctx, Directive, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { getHealth, listErrorCodes } from './system.service.js';
import { ErrorCodeInfo, Health } from './system.types.js';

@Resolver()
export class SystemResolver {
  @Directive('@public')
  @Query(() => Health, { description: 'Liveness, version and database reachability of the instance that answered.' })
  health(@Ctx() ctx: GraphQLContext): Promise<Health> {
    return getHealth({ prisma: ctx.prisma, version: ctx.runtime.version, startedAt: ctx.runtime.startedAt });
  }

  @Directive('@public')
  @Query(() => [ErrorCodeInfo], { description: 'The error catalog: every code the API can return and what it means.' })
  errorCodes(): ErrorCodeInfo[] {
    return listErrorCodes();
  }
}

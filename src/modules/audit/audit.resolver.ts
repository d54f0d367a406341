import { Args, Ctx, Directive, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { ListAuditLogsArgs } from './audit.inputs.js';
import { listAuditLogs } from './audit.service.js';
import { AuditLog, AuditLogPage } from './audit.types.js';

@Resolver(() => AuditLog)
export class AuditLogResolver {
  @Directive('@auth(anyOf: [AUDIT_READ])')
  @Query(() => AuditLogPage, { description: 'The audit log, filtered, sorted and paginated. Default: newest first.' })
  auditLogs(@Args(() => ListAuditLogsArgs) args: ListAuditLogsArgs, @Ctx() ctx: GraphQLContext) {
    return listAuditLogs(ctx, args);
  }
}

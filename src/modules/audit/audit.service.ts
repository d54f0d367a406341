import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import { skipTake, SortDirection, toPage, toPrismaOrderBy, type Page } from '../../graphql/pagination.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type { ListAuditLogsArgs } from './audit.inputs.js';
import { AUDIT_LOG_ORDER_COLUMNS, AuditLogOrderField, type AuditLog } from './audit.types.js';

type Ctx = Pick<ServiceContext, 'prisma'>;

export async function listAuditLogs(ctx: Ctx, args: ListAuditLogsArgs): Promise<Page<AuditLog>> {
  const f = args.filter;
  const where: PrismaTypes.AuditLogWhereInput = {
    ...(f?.userId ? { userId: f.userId } : {}),
    ...(f?.eventType ? { eventType: f.eventType } : {}),
    ...(f?.resourceId ? { resourceId: f.resourceId } : {}),
    ...(f?.from || f?.to ? { timestamp: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
  };
  // Entries of the same instant keep their written order: the sequence breaks ties.
  const orderBy = toPrismaOrderBy(
    args.orderBy,
    AUDIT_LOG_ORDER_COLUMNS,
    { field: AuditLogOrderField.TIMESTAMP, direction: SortDirection.DESC },
    { sequence: SortDirection.DESC },
  );
  const [rows, total] = await Promise.all([
    // The hash chain (prevHash, hash) is for verification jobs, not for clients.
    ctx.prisma.auditLog.findMany({ where, orderBy, omit: { prevHash: true, hash: true }, ...skipTake(args) }),
    ctx.prisma.auditLog.count({ where }),
  ]);
  // sequence is a BIGINT: GraphQL's Int cannot hold it, so it travels as a decimal string.
  const items = rows.map((row) => ({ ...row, sequence: row.sequence.toString() }));
  return toPage(items, total, args);
}

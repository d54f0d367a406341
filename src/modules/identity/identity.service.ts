import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import { containsText, skipTake, SortDirection, toPage, toPrismaOrderBy, type Page } from '../../graphql/pagination.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type { ListUsersArgs } from './identity.inputs.js';
import { USER_ORDER_COLUMNS, USER_SECRET_COLUMNS, UserOrderField } from './identity.types.js';

type Ctx = Pick<ServiceContext, 'prisma'>;

export async function listUsers(ctx: Ctx, args: ListUsersArgs): Promise<Page<unknown>> {
  const f = args.filter;
  const where: PrismaTypes.UserWhereInput = {
    ...(f?.search
      ? {
          OR: [{ email: containsText(f.search) }, { displayName: containsText(f.search) }],
        }
      : {}),
    ...(f?.isActive != null ? { isActive: f.isActive } : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, USER_ORDER_COLUMNS, {
    field: UserOrderField.CREATED_AT,
    direction: SortDirection.DESC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.user.findMany({ where, orderBy, omit: USER_SECRET_COLUMNS, ...skipTake(args) }),
    ctx.prisma.user.count({ where }),
  ]);
  return toPage(items, total, args);
}

export function getRole(ctx: Ctx, id: string) {
  return ctx.prisma.role.findUnique({ where: { id } });
}

export function listRoles(ctx: Ctx) {
  return ctx.prisma.role.findMany({ orderBy: [{ name: 'asc' }, { id: 'asc' }] });
}

export function listPermissions(ctx: Ctx) {
  return ctx.prisma.permission.findMany({ orderBy: { key: 'asc' } });
}

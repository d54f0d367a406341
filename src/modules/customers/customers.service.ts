import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../../errors/index.js';
import { containsText, skipTake, SortDirection, toPage, toPrismaOrderBy, type Page } from '../../graphql/pagination.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type { CreateCustomerInput, ListCustomersArgs, UpdateCustomerInput } from './customers.inputs.js';
import { CUSTOMER_ORDER_COLUMNS, CustomerOrderField } from './customers.types.js';

type Ctx = Pick<ServiceContext, 'prisma'>;

export async function listCustomers(ctx: Ctx, args: ListCustomersArgs): Promise<Page<unknown>> {
  const f = args.filter;
  const where: PrismaTypes.CustomerWhereInput = {
    ...(f?.search
      ? {
          OR: [{ name: containsText(f.search) }, { email: containsText(f.search) }],
        }
      : {}),
    ...(f?.createdFrom || f?.createdTo
      ? { createdAt: { ...(f.createdFrom ? { gte: f.createdFrom } : {}), ...(f.createdTo ? { lt: f.createdTo } : {}) } }
      : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, CUSTOMER_ORDER_COLUMNS, {
    field: CustomerOrderField.CREATED_AT,
    direction: SortDirection.DESC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.customer.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.customer.count({ where }),
  ]);
  return toPage(items, total, args);
}

/** The email column is citext, so this equality ignores letter case. */
export async function getCustomerByEmail(ctx: Ctx, email: string) {
  return ctx.prisma.customer.findUnique({ where: { email } });
}

/**
 * Spec 004 section 8.1: emails are unique regardless of letter case. Checked up front so the
 * client hears which field is taken; the unique index on the citext column is the backstop
 * for concurrent writes (classifyDatabaseError maps it to the same CONFLICT).
 */
async function assertEmailFree(ctx: Ctx, email: string, exceptId?: string): Promise<void> {
  const taken = await ctx.prisma.customer.findFirst({
    where: { email, ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true },
  });
  if (taken) throw new ConflictError('email', 'A customer with this email already exists.');
}

export async function createCustomer(ctx: Ctx, input: CreateCustomerInput) {
  await assertEmailFree(ctx, input.email);
  return ctx.prisma.customer.create({
    data: { email: input.email, name: input.name, phone: input.phone ?? null, address: input.address ?? null },
  });
}

export async function updateCustomer(ctx: Ctx, id: string, input: UpdateCustomerInput) {
  const existing = await ctx.prisma.customer.findUnique({ where: { id }, select: { id: true } });
  if (!existing) throw new NotFoundError('Customer', id);
  if (input.email != null) await assertEmailFree(ctx, input.email, id);
  return ctx.prisma.customer.update({
    where: { id },
    data: {
      ...(input.email != null ? { email: input.email } : {}),
      ...(input.name != null ? { name: input.name } : {}),
      // Optional fields: omitted keeps them, an explicit null clears them.
      ...(input.phone !== undefined ? { phone: input.phone } : {}),
      ...(input.address !== undefined ? { address: input.address } : {}),
    },
  });
}

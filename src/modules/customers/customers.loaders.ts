import DataLoader from 'dataloader';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys } from '../catalog/index.js';

type CustomerRow = Awaited<ReturnType<Prisma['customer']['findUniqueOrThrow']>>;

/** Per-request batch loaders of customers (REQ 6.3). */
export function createCustomerLoaders(prisma: Prisma) {
  return {
    customerById: new DataLoader<string, CustomerRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.customer.findMany({ where: { id: { in: [...ids] } } }), (c) => c.id),
    ),
  };
}

export type CustomerLoaders = ReturnType<typeof createCustomerLoaders>;

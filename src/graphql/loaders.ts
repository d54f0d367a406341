import { createCatalogLoaders } from '../modules/catalog/index.js';
import { createCustomerLoaders } from '../modules/customers/index.js';
import { createIdentityLoaders } from '../modules/identity/index.js';
import { createInventoryLoaders } from '../modules/inventory/index.js';
import { createSalesLoaders } from '../modules/sales/index.js';
import { createSchedulingLoaders } from '../modules/scheduling/index.js';
import type { Prisma } from '../platform/db/index.js';

/**
 * Every module's DataLoaders, created fresh for each request by the context factory and never
 * shared across requests (REQ 6.3): a loader caches what one request has seen, nothing more.
 */
export function createLoaders(prisma: Prisma) {
  const catalog = createCatalogLoaders(prisma);
  return {
    catalog,
    inventory: createInventoryLoaders(prisma),
    customers: createCustomerLoaders(prisma),
    identity: createIdentityLoaders(prisma),
    sales: createSalesLoaders(prisma, catalog),
    scheduling: createSchedulingLoaders(prisma),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

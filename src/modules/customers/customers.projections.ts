import { column, timestamp, type Projections } from '../../graphql/projections.js';
import { canAccessCustomer } from '../../platform/service-context.js';
import { CustomerIdArgs } from './customers.inputs.js';

/**
 * Customers as compiled reads read them (src/graphql/compiled-reads.ts). The personal fields
 * (email, phone, address) are @sensitive: their reads are audited by the resolvers, so a query
 * that selects them is executed.
 */
export const customerProjections: Projections = {
  types: {
    Customer: {
      id: column('id'),
      name: column('name'),
      createdAt: timestamp('created_at'),
      updatedAt: timestamp('updated_at'),
    },
  },
  roots: {
    // As CustomerResolver.customer: a self-service caller sees its own record only.
    customer: {
      args: CustomerIdArgs,
      read: (alias, { id }, bind, { actor }) =>
        canAccessCustomer(actor, id as string, 'CUSTOMER_READ')
          ? { from: `FROM customers ${alias} WHERE ${alias}.id = ${bind(id, 'uuid')}` }
          : null,
    },
  },
};

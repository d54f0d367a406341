import {
  bigintText,
  column,
  money,
  referenced,
  referencing,
  timestamp,
  type Projections,
} from '../../graphql/projections.js';
import { CustomerOrdersArgs } from './sales.inputs.js';

/**
 * Orders, their lines and payments as compiled reads read them (src/graphql/compiled-reads.ts),
 * in the orders of the loaders (sales.loaders.ts, recent-orders.ts). `OrderItem.warehouse` has
 * no foreign key to lean on, so it is left to its resolver (which reports a missing warehouse).
 */
export const salesProjections: Projections = {
  types: {
    Customer: {
      orders: {
        kind: 'list',
        args: CustomerOrdersArgs,
        from: (row, alias, { limit }, bind) =>
          `FROM (SELECT * FROM orders WHERE customer_id = ${row}.id ORDER BY created_at DESC, id LIMIT ${bind(limit, 'int')}) ${alias}`,
        orderBy: (alias) => `${alias}.created_at DESC, ${alias}.id`,
      },
    },
    Order: {
      id: column('id'),
      number: bigintText('number'),
      cartId: column('cart_id'),
      status: column('status'),
      currency: column('currency'),
      totalAmount: money('total_amount'),
      createdAt: timestamp('created_at'),
      updatedAt: timestamp('updated_at'),
      customer: referenced('customers', 'customer_id'),
      items: referencing('order_items', 'order_id', ['id']),
      payments: referencing('payments', 'order_id', ['created_at', 'id']),
    },
    OrderItem: {
      id: column('id'),
      quantity: column('quantity'),
      unitPrice: money('unit_price'),
      lineTotal: money('line_total'),
      variant: referenced('product_variants', 'variant_id'),
    },
    Payment: {
      id: column('id'),
      amount: money('amount'),
      currency: column('currency'),
      method: column('method'),
      status: column('status'),
      reference: column('reference'),
      createdAt: timestamp('created_at'),
      updatedAt: timestamp('updated_at'),
      order: referenced('orders', 'order_id'),
    },
  },
  roots: {},
};

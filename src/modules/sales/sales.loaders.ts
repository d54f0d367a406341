import DataLoader from 'dataloader';
import type { TransitionEntity } from '../../generated/prisma/enums.js';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys } from '../catalog/index.js';

type OrderRow = Awaited<ReturnType<Prisma['order']['findUniqueOrThrow']>>;
type CartRow = Awaited<ReturnType<Prisma['cart']['findUniqueOrThrow']>>;
type CartItemRow = Awaited<ReturnType<Prisma['cartItem']['findUniqueOrThrow']>>;
type OrderItemRow = Awaited<ReturnType<Prisma['orderItem']['findUniqueOrThrow']>>;
type PaymentRow = Awaited<ReturnType<Prisma['payment']['findUniqueOrThrow']>>;
type TransitionRow = Awaited<ReturnType<Prisma['statusTransition']['findUniqueOrThrow']>>;

export interface RecentOrdersKey {
  customerId: string;
  limit: number;
}

/**
 * The `limit` most recent orders of each customer in one statement (a window function per
 * customer), then the rows themselves: two statements for any number of customers.
 */
async function loadRecentOrders(prisma: Prisma, keys: readonly RecentOrdersKey[]): Promise<OrderRow[][]> {
  const byLimit = new Map<number, string[]>();
  for (const key of keys) byLimit.set(key.limit, [...(byLimit.get(key.limit) ?? []), key.customerId]);
  const result = new Map<string, OrderRow[]>();
  for (const [limit, customerIds] of byLimit) {
    const ranked = await prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY created_at DESC, id) AS rank
          FROM orders WHERE customer_id = ANY(${customerIds}::uuid[])) ranked
       WHERE rank <= ${limit}`;
    const orders = await prisma.order.findMany({
      where: { id: { in: ranked.map((r) => r.id) } },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });
    for (const [index, group] of loaderKeys.groupBy(customerIds, orders, (o) => o.customerId).entries()) {
      result.set(`${customerIds[index]}:${limit}`, group);
    }
  }
  return keys.map((key) => result.get(`${key.customerId}:${key.limit}`) ?? []);
}

/** Per-request batch loaders of sales (REQ 6.3). */
export function createSalesLoaders(prisma: Prisma) {
  return {
    orderById: new DataLoader<string, OrderRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.order.findMany({ where: { id: { in: [...ids] } } }), (o) => o.id),
    ),
    cartById: new DataLoader<string, CartRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.cart.findMany({ where: { id: { in: [...ids] } } }), (c) => c.id),
    ),
    cartItemsByCartId: new DataLoader<string, CartItemRow[]>(async (cartIds) =>
      loaderKeys.groupBy(
        cartIds,
        await prisma.cartItem.findMany({ where: { cartId: { in: [...cartIds] } }, orderBy: { createdAt: 'asc' } }),
        (i) => i.cartId,
      ),
    ),
    orderItemsByOrderId: new DataLoader<string, OrderItemRow[]>(async (orderIds) =>
      loaderKeys.groupBy(
        orderIds,
        await prisma.orderItem.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: { id: 'asc' } }),
        (i) => i.orderId,
      ),
    ),
    paymentsByOrderId: new DataLoader<string, PaymentRow[]>(async (orderIds) =>
      loaderKeys.groupBy(
        orderIds,
        await prisma.payment.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: { createdAt: 'asc' } }),
        (p) => p.orderId,
      ),
    ),
    transitionsByEntity: new DataLoader<{ type: TransitionEntity; id: string }, TransitionRow[], string>(
      async (keys) => {
        const rows = await prisma.statusTransition.findMany({
          where: { entityId: { in: keys.map((k) => k.id) } },
          orderBy: { createdAt: 'asc' },
        });
        return loaderKeys.groupBy(
          keys.map((k) => `${k.type}:${k.id}`),
          rows,
          (r) => `${r.entityType}:${r.entityId}`,
        );
      },
      { cacheKeyFn: (k) => `${k.type}:${k.id}` },
    ),
    recentOrdersByCustomer: new DataLoader<RecentOrdersKey, OrderRow[], string>(
      (keys) => loadRecentOrders(prisma, keys),
      {
        cacheKeyFn: (k) => `${k.customerId}:${k.limit}`,
      },
    ),
  };
}

export type SalesLoaders = ReturnType<typeof createSalesLoaders>;

import DataLoader from 'dataloader';
import type { TransitionEntity } from '../../generated/prisma/enums.js';
import { PrimedLoader } from '../../graphql/primed-loader.js';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys, type CatalogLoaders } from '../catalog/index.js';
import {
  loadRecentOrders,
  recentOrdersCacheKey,
  type OrderItemRow,
  type OrderRow,
  type PaymentRow,
  type RecentOrdersKey,
} from './recent-orders.js';

export type { RecentOrdersKey } from './recent-orders.js';

type CartRow = Awaited<ReturnType<Prisma['cart']['findUniqueOrThrow']>>;
type CartItemRow = Awaited<ReturnType<Prisma['cartItem']['findUniqueOrThrow']>>;
type TransitionRow = Awaited<ReturnType<Prisma['statusTransition']['findUniqueOrThrow']>>;

/** Per-request batch loaders of sales (REQ 6.3). */
export function createSalesLoaders(prisma: Prisma, catalog: CatalogLoaders) {
  const loaders = {
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
    orderItemsByOrderId: new PrimedLoader<string, OrderItemRow[]>(async (orderIds) =>
      loaderKeys.groupBy(
        orderIds,
        await prisma.orderItem.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: { id: 'asc' } }),
        (i) => i.orderId,
      ),
    ),
    paymentsByOrderId: new PrimedLoader<string, PaymentRow[]>(async (orderIds) =>
      loaderKeys.groupBy(
        orderIds,
        await prisma.payment.findMany({
          where: { orderId: { in: [...orderIds] } },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        }),
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
    /**
     * Recent orders with what the query asks for below them in one statement; the lines,
     * payments, variants and products it brings are primed into their loaders, so the field
     * resolvers below read them without another statement, and at once (`loadNow`).
     */
    recentOrdersByCustomer: new DataLoader<RecentOrdersKey, OrderRow[], string>(
      async (keys) =>
        (await loadRecentOrders(prisma, keys)).map((recent) =>
          recent.map(({ order, items, payments }) => {
            loaders.orderById.prime(order.id, order);
            if (items) {
              loaders.orderItemsByOrderId.prime(
                order.id,
                items.map(({ item }) => item),
              );
              for (const { variant, product } of items) {
                catalog.variantById.prime(variant.id, variant);
                catalog.productById.prime(product.id, product);
              }
            }
            if (payments) loaders.paymentsByOrderId.prime(order.id, payments);
            return order;
          }),
        ),
      { cacheKeyFn: recentOrdersCacheKey },
    ),
  };
  return loaders;
}

export type SalesLoaders = ReturnType<typeof createSalesLoaders>;

import { randomUUID } from 'node:crypto';
import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import {
  CartStatus,
  OrderStatus,
  PaymentStatus,
  StockAdjustmentReason,
  TransitionEntity,
} from '../../generated/prisma/enums.js';
import {
  AppError,
  ErrorCode,
  InvalidStateTransitionError,
  NotFoundError,
  ValidationError,
} from '../../errors/index.js';
import { skipTake, SortDirection, toPage, toPrismaOrderBy } from '../../graphql/pagination.js';
import type { PrismaTx } from '../../platform/db/index.js';
import {
  canAccessCustomer,
  isSelfServiceOnly,
  type Actor,
  type ServiceContext,
} from '../../platform/service-context.js';
import { applyStockChanges } from '../inventory/index.js';
import {
  MAX_ITEM_QUANTITY,
  type CartItemInput,
  type CreatePaymentInput,
  type ListCartsArgs,
  type ListOrdersArgs,
  type ListPaymentsArgs,
  type RemoveCartItemInput,
  type SubmitCartInput,
  type UpdateOrderStatusInput,
  type UpdatePaymentStatusInput,
} from './sales.inputs.js';
import {
  CART_ORDER_COLUMNS,
  CartOrderField,
  ORDER_ORDER_COLUMNS,
  OrderOrderField,
  PAYMENT_ORDER_COLUMNS,
  PaymentOrderField,
} from './sales.types.js';
import type { VariantRow } from '../catalog/index.js';

type Ctx = Pick<ServiceContext, 'prisma' | 'runInTransaction' | 'signal' | 'actor'>;

// ------------------------------------------------------------ state machines (spec 004 section 8.4)

/** Allowed next states. Anything else is INVALID_STATE_TRANSITION naming both states. */
export const CART_TRANSITIONS: Readonly<Record<CartStatus, readonly CartStatus[]>> = {
  PENDING: [CartStatus.SUBMITTED, CartStatus.ABANDONED],
  SUBMITTED: [CartStatus.CONVERTED, CartStatus.ABANDONED],
  CONVERTED: [],
  ABANDONED: [],
};

/** Cancelling is allowed until the goods leave the warehouse; it puts the stock back. */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: [OrderStatus.PROCESSING, OrderStatus.CANCELLED],
  PROCESSING: [OrderStatus.SHIPPED, OrderStatus.CANCELLED],
  SHIPPED: [OrderStatus.DELIVERED],
  DELIVERED: [],
  CANCELLED: [],
};

/** A refund is possible only for a completed payment. */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  PENDING: [PaymentStatus.COMPLETED, PaymentStatus.FAILED],
  COMPLETED: [PaymentStatus.REFUNDED],
  FAILED: [],
  REFUNDED: [],
};

function assertTransition<S extends string>(
  entity: string,
  table: Readonly<Record<S, readonly S[]>>,
  from: S,
  to: S,
): void {
  if (!table[from].includes(to)) throw new InvalidStateTransitionError(entity, from, to);
}

/** Every transition is recorded with who and when (spec 004 section 8.4 "audit trail"). */
async function recordTransition(
  tx: PrismaTx,
  entityType: TransitionEntity,
  entityId: string,
  fromStatus: string | null,
  toStatus: string,
  actorId: string | null,
  reason?: string | null,
): Promise<void> {
  await tx.statusTransition.create({
    data: { entityType, entityId, fromStatus, toStatus, actorId, reason: reason ?? null },
  });
}

/**
 * Several transitions in one statement, each a millisecond after the one before, so that "oldest
 * first" lists them in the order given (one at a time, two in the same millisecond would tie).
 */
async function recordTransitions(
  tx: PrismaTx,
  transitions: { entityType: TransitionEntity; entityId: string; fromStatus: string | null; toStatus: string }[],
  actorId: string | null,
): Promise<void> {
  const at = Date.now();
  await tx.statusTransition.createMany({
    data: transitions.map((transition, i) => ({ ...transition, actorId, reason: null, createdAt: new Date(at + i) })),
  });
}

// ------------------------------------------------------------ reads

function dateRange(from?: Date, to?: Date) {
  return from || to ? { createdAt: { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) } } : {};
}

export async function listOrders(ctx: Ctx, args: ListOrdersArgs) {
  const f = args.filter;
  const where: PrismaTypes.OrderWhereInput = {
    ...(f?.status ? { status: f.status } : {}),
    ...(f?.customerId ? { customerId: f.customerId } : {}),
    // A self-service caller lists its own orders only, whatever the filter says.
    ...(isSelfServiceOnly(ctx.actor, 'ORDER_READ')
      ? { customerId: ctx.actor.customerId ?? '00000000-0000-0000-0000-000000000000' }
      : {}),
    ...dateRange(f?.createdFrom, f?.createdTo),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, ORDER_ORDER_COLUMNS, {
    field: OrderOrderField.CREATED_AT,
    direction: SortDirection.DESC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.order.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.order.count({ where }),
  ]);
  return toPage(items, total, args);
}

export async function listCarts(ctx: Ctx, args: ListCartsArgs) {
  const f = args.filter;
  const where: PrismaTypes.CartWhereInput = {
    ...(f?.status ? { status: f.status } : {}),
    ...(f?.customerId ? { customerId: f.customerId } : {}),
    ...(isSelfServiceOnly(ctx.actor, 'ORDER_READ')
      ? { customerId: ctx.actor.customerId ?? '00000000-0000-0000-0000-000000000000' }
      : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, CART_ORDER_COLUMNS, {
    field: CartOrderField.CREATED_AT,
    direction: SortDirection.DESC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.cart.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.cart.count({ where }),
  ]);
  return toPage(items, total, args);
}

export async function listPayments(ctx: Ctx, args: ListPaymentsArgs) {
  const f = args.filter;
  const where: PrismaTypes.PaymentWhereInput = {
    ...(f?.status ? { status: f.status } : {}),
    ...(f?.orderId ? { orderId: f.orderId } : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, PAYMENT_ORDER_COLUMNS, {
    field: PaymentOrderField.CREATED_AT,
    direction: SortDirection.DESC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.payment.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.payment.count({ where }),
  ]);
  return toPage(items, total, args);
}

// ------------------------------------------------------------ carts

/** Locks a cart the caller may work on; someone else's cart is NOT_FOUND, like a missing one. */
async function lockCart(tx: PrismaTx, cartId: string, actor: Actor) {
  const rows = await tx.$queryRaw<{ id: string; status: CartStatus; customer_id: string }[]>`
    SELECT id, status::text AS status, customer_id FROM carts WHERE id = ${cartId}::uuid FOR UPDATE`;
  const cart = rows[0];
  if (!cart || !canAccessCustomer(actor, cart.customer_id, 'ORDER_WRITE')) throw new NotFoundError('Cart', cartId);
  return cart;
}

function assertCartEditable(cart: { id: string; status: CartStatus }): void {
  if (cart.status !== CartStatus.PENDING) {
    throw new AppError(ErrorCode.INVALID_STATE_TRANSITION, {
      message: `Cart ${cart.id} is ${cart.status}; only PENDING carts can be changed.`,
      details: { entity: 'Cart', currentState: cart.status, requestedState: CartStatus.PENDING },
    });
  }
}

export async function createCart(ctx: Ctx, customerId: string) {
  return ctx.runInTransaction(
    async (tx) => {
      const customer = await tx.customer.findUnique({ where: { id: customerId }, select: { id: true } });
      if (!customer || !canAccessCustomer(ctx.actor, customerId, 'ORDER_WRITE'))
        throw new NotFoundError('Customer', customerId);
      const cart = await tx.cart.create({ data: { customerId } });
      await recordTransition(tx, TransitionEntity.CART, cart.id, null, CartStatus.PENDING, ctx.actor.userId);
      return cart;
    },
    { signal: ctx.signal },
  );
}

/** Adds units of a variant to a pending cart (adding to what is already there). */
export async function addCartItem(ctx: Ctx, input: CartItemInput) {
  return setCartItem(ctx, input, 'add');
}

/** Sets the quantity of a variant in a pending cart. */
export async function updateCartItem(ctx: Ctx, input: CartItemInput) {
  return setCartItem(ctx, input, 'set');
}

async function setCartItem(ctx: Ctx, input: CartItemInput, mode: 'add' | 'set') {
  return ctx.runInTransaction(
    async (tx) => {
      const cart = await lockCart(tx, input.cartId, ctx.actor);
      assertCartEditable(cart);
      const variant = await tx.productVariant.findUnique({
        where: { id: input.variantId },
        select: { isActive: true },
      });
      if (!variant) throw new NotFoundError('ProductVariant', input.variantId);
      if (!variant.isActive) throw ValidationError.forField('input.variantId', 'variant is not available for sale');
      const existing = await tx.cartItem.findUnique({
        where: { cartId_variantId: { cartId: input.cartId, variantId: input.variantId } },
      });
      if (mode === 'set' && !existing) throw new NotFoundError('CartItem', input.variantId);
      const quantity = mode === 'add' ? (existing?.quantity ?? 0) + input.quantity : input.quantity;
      if (quantity > MAX_ITEM_QUANTITY) {
        throw ValidationError.forField('input.quantity', `quantity in the cart would exceed ${MAX_ITEM_QUANTITY}`);
      }
      await tx.cartItem.upsert({
        where: { cartId_variantId: { cartId: input.cartId, variantId: input.variantId } },
        create: { cartId: input.cartId, variantId: input.variantId, quantity },
        update: { quantity },
      });
      return tx.cart.update({ where: { id: input.cartId }, data: { updatedAt: new Date() } });
    },
    { signal: ctx.signal },
  );
}

export async function removeCartItem(ctx: Ctx, input: RemoveCartItemInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const cart = await lockCart(tx, input.cartId, ctx.actor);
      assertCartEditable(cart);
      const { count } = await tx.cartItem.deleteMany({ where: { cartId: input.cartId, variantId: input.variantId } });
      if (count === 0) throw new NotFoundError('CartItem', input.variantId);
      return tx.cart.update({ where: { id: input.cartId }, data: { updatedAt: new Date() } });
    },
    { signal: ctx.signal },
  );
}

export async function abandonCart(ctx: Ctx, cartId: string) {
  return ctx.runInTransaction(
    async (tx) => {
      const cart = await lockCart(tx, cartId, ctx.actor);
      assertTransition('Cart', CART_TRANSITIONS, cart.status, CartStatus.ABANDONED);
      await recordTransition(tx, TransitionEntity.CART, cartId, cart.status, CartStatus.ABANDONED, ctx.actor.userId);
      return tx.cart.update({ where: { id: cartId }, data: { status: CartStatus.ABANDONED } });
    },
    { signal: ctx.signal },
  );
}

/** A cart line with the whole row of its variant (the variant's loader is primed with it). */
type CartLine = VariantRow & { quantity: number };

/**
 * Checkout (spec 004 section 8.5): in ONE transaction the cart goes PENDING → SUBMITTED →
 * CONVERTED, an order is created with the prices of this moment, and the stock rows are
 * locked and decremented. Short stock aborts everything with INSUFFICIENT_STOCK naming the
 * variant and what is available; concurrent checkouts can never oversell (PROP: K checkouts
 * of S units give min(K, S) orders). Returns the order with the lines and variants it was made
 * of, so that the resolver can answer `items { variant }` from them instead of reading them back.
 */
export async function submitCart(ctx: Ctx, input: SubmitCartInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const cart = await lockCart(tx, input.cartId, ctx.actor);
      assertTransition('Cart', CART_TRANSITIONS, cart.status, CartStatus.SUBMITTED);
      const warehouse = await tx.warehouse.findUnique({ where: { id: input.warehouseId }, select: { id: true } });
      if (!warehouse) throw new NotFoundError('Warehouse', input.warehouseId);
      // The lines and their variants in one statement.
      const cartLines = await tx.$queryRaw<CartLine[]>`
        SELECT i.quantity, v.id, v.product_id AS "productId", v.sku, v.name, v.price, v.currency, v.attributes,
               v.is_active AS "isActive", v.created_at AS "createdAt", v.updated_at AS "updatedAt"
          FROM cart_items i JOIN product_variants v ON v.id = i.variant_id
         WHERE i.cart_id = ${cart.id}::uuid
         ORDER BY i.variant_id`;
      if (cartLines.length === 0) throw ValidationError.forField('input.cartId', 'the cart is empty');
      const inactive = cartLines.find((line) => !line.isActive);
      if (inactive) throw ValidationError.forField('input.cartId', `variant ${inactive.id} is no longer for sale`);
      const currencies = new Set(cartLines.map((line) => line.currency));
      if (currencies.size > 1) throw ValidationError.forField('input.cartId', 'the cart mixes currencies');

      // Ids made here, so the lines are known without reading them back.
      const lines = cartLines.map((line) => ({
        id: randomUUID(),
        variantId: line.id,
        warehouseId: input.warehouseId,
        quantity: line.quantity,
        unitPrice: line.price,
        lineTotal: line.price.mul(line.quantity),
      }));
      const total = lines.reduce((sum, line) => sum.add(line.lineTotal), lines[0]!.lineTotal.mul(0));
      // The order, then its lines: two statements (a nested create would read the order back too).
      const order = await tx.order.create({
        data: {
          customerId: cart.customer_id,
          cartId: cart.id,
          currency: [...currencies][0] ?? 'USD',
          totalAmount: total,
        },
      });
      const items = lines.map((line) => ({ ...line, orderId: order.id }));
      await tx.orderItem.createMany({ data: items });
      await applyStockChanges(
        tx,
        lines.map((line) => ({ variantId: line.variantId, warehouseId: line.warehouseId, delta: -line.quantity })),
        { reason: StockAdjustmentReason.ORDER_PLACED, orderId: order.id, actorId: ctx.actor.userId },
      );
      await tx.cart.update({ where: { id: cart.id }, data: { status: CartStatus.CONVERTED } });
      // The cart's two steps and the new order's first, in one statement (nothing above can see them).
      await recordTransitions(
        tx,
        [
          {
            entityType: TransitionEntity.CART,
            entityId: cart.id,
            fromStatus: cart.status,
            toStatus: CartStatus.SUBMITTED,
          },
          {
            entityType: TransitionEntity.CART,
            entityId: cart.id,
            fromStatus: CartStatus.SUBMITTED,
            toStatus: CartStatus.CONVERTED,
          },
          { entityType: TransitionEntity.ORDER, entityId: order.id, fromStatus: null, toStatus: OrderStatus.PENDING },
        ],
        ctx.actor.userId,
      );
      // In the order the items loader reads them (by id; uuid order is the order of their text).
      items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const variants = cartLines.map(({ quantity: _quantity, ...variant }) => variant);
      return { order, items, variants };
    },
    { signal: ctx.signal },
  );
}

// ------------------------------------------------------------ orders and payments

export async function updateOrderStatus(ctx: Ctx, input: UpdateOrderStatusInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const rows = await tx.$queryRaw<{ status: OrderStatus }[]>`
        SELECT status::text AS status FROM orders WHERE id = ${input.orderId}::uuid FOR UPDATE`;
      const current = rows[0]?.status;
      if (!current) throw new NotFoundError('Order', input.orderId);
      assertTransition('Order', ORDER_TRANSITIONS, current, input.status);
      if (input.status === OrderStatus.CANCELLED) {
        const items = await tx.orderItem.findMany({ where: { orderId: input.orderId } });
        await applyStockChanges(
          tx,
          items.map((item) => ({ variantId: item.variantId, warehouseId: item.warehouseId, delta: item.quantity })),
          {
            reason: StockAdjustmentReason.ORDER_CANCELLED,
            orderId: input.orderId,
            actorId: ctx.actor.userId,
            note: input.reason,
          },
        );
      }
      await recordTransition(
        tx,
        TransitionEntity.ORDER,
        input.orderId,
        current,
        input.status,
        ctx.actor.userId,
        input.reason,
      );
      return tx.order.update({ where: { id: input.orderId }, data: { status: input.status } });
    },
    { signal: ctx.signal },
  );
}

export async function createPayment(ctx: Ctx, input: CreatePaymentInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const rows = await tx.$queryRaw<{ status: OrderStatus; total_amount: string; currency: string }[]>`
        SELECT status::text AS status, total_amount::text AS total_amount, currency FROM orders
         WHERE id = ${input.orderId}::uuid FOR UPDATE`;
      const order = rows[0];
      if (!order) throw new NotFoundError('Order', input.orderId);
      if (order.status === OrderStatus.CANCELLED) {
        throw ValidationError.forField('input.orderId', 'a cancelled order cannot be paid');
      }
      if (Number(input.amount) <= 0) throw ValidationError.forField('input.amount', 'amount must be more than zero');
      const paid = await tx.payment.aggregate({
        where: { orderId: input.orderId, status: { in: [PaymentStatus.PENDING, PaymentStatus.COMPLETED] } },
        _sum: { amount: true },
      });
      const outstanding = Number(order.total_amount) - Number(paid._sum.amount ?? 0);
      if (Number(input.amount) > outstanding + 1e-9) {
        throw ValidationError.forField('input.amount', `amount exceeds what is unpaid (${outstanding.toFixed(2)})`);
      }
      const payment = await tx.payment.create({
        data: {
          orderId: input.orderId,
          amount: input.amount,
          currency: order.currency,
          method: input.method,
          reference: input.reference ?? null,
        },
      });
      await recordTransition(tx, TransitionEntity.PAYMENT, payment.id, null, PaymentStatus.PENDING, ctx.actor.userId);
      return payment;
    },
    { signal: ctx.signal },
  );
}

export async function updatePaymentStatus(ctx: Ctx, input: UpdatePaymentStatusInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const rows = await tx.$queryRaw<{ status: PaymentStatus }[]>`
        SELECT status::text AS status FROM payments WHERE id = ${input.paymentId}::uuid FOR UPDATE`;
      const current = rows[0]?.status;
      if (!current) throw new NotFoundError('Payment', input.paymentId);
      assertTransition('Payment', PAYMENT_TRANSITIONS, current, input.status);
      await recordTransition(
        tx,
        TransitionEntity.PAYMENT,
        input.paymentId,
        current,
        input.status,
        ctx.actor.userId,
        input.reason,
      );
      return tx.payment.update({ where: { id: input.paymentId }, data: { status: input.status } });
    },
    { signal: ctx.signal },
  );
}

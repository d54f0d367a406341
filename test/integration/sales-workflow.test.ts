import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddCartItemDocument,
  CartDocument,
  CheckoutDocument,
  CreateCartDocument,
  CreatePaymentDocument,
  OrderDetailDocument,
  OrderHistoryDocument,
  RemoveCartItemDocument,
  StockLedgerDocument,
  UpdateCartItemDocument,
  UpdateOrderStatusDocument,
  UpdatePaymentStatusDocument,
} from '../../schema/generated/operations.js';
import { gql, op, seedFixture, startTestApp, type TestApp } from '../helpers/kit.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function stockOf(variantId: string, warehouseId: string): Promise<number> {
  const level = await t.database.prisma.inventoryLevel.findUnique({
    where: { variantId_warehouseId: { variantId, warehouseId } },
  });
  return level?.quantity ?? 0;
}

async function cartWith(customerId: string, items: [string, number][]): Promise<string> {
  const cart = await op(t.url, CreateCartDocument, { customerId });
  const cartId = cart.body.data!.createCart.id;
  for (const [variantId, quantity] of items) {
    const added = await op(t.url, AddCartItemDocument, { cartId, variantId, quantity });
    expect(added.body.errors).toBeUndefined();
  }
  return cartId;
}

describe('cart → order → payment workflow (spec 004 section 8.5)', () => {
  it('runs the whole happy path with prices captured and stock deducted, recording every transition', async () => {
    const f = await seedFixture(t.database, { stock: 10, price: '12.25' });
    const [v1, v2] = f.variantIds as [string, string];
    const cartId = await cartWith(f.customerId, [
      [v1, 2],
      [v2, 1],
      [v1, 1],
    ]);
    const updated = await op(t.url, UpdateCartItemDocument, { cartId, variantId: v2, quantity: 4 });
    expect(updated.body.data?.updateCartItem.items.map((i) => i.quantity).sort()).toEqual([3, 4]);

    const statements: string[] = [];
    const stop = t.database.onStatement((event) => statements.push(event.sql.trim()));
    const checkout = await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId });
    stop();
    expect(checkout.body.errors, JSON.stringify(checkout.body.errors)).toBeUndefined();
    const order = checkout.body.data!.submitCart;
    expect(order).toMatchObject({ status: 'PENDING', totalAmount: '85.75', currency: 'USD' });
    // `items { variant }` is answered from what the transaction wrote: nothing is read back after
    // the commit, and the lines are those a fresh read of the order gives, in the same order.
    expect(statements.at(-1)).toBe('COMMIT');
    // The transaction's statement budget: the backend pid (for cancelling), the cart lock, the
    // warehouse, the lines with their variants, the order, its lines, the stock (ensure, lock,
    // update, adjustments), the cart's status, all three transitions at once, COMMIT.
    expect(statements).toHaveLength(13);
    expect(statements.filter((sql) => sql.includes('"status_transitions"'))).toHaveLength(1);
    const fresh = (await op(t.url, OrderDetailDocument, { id: order.id })).body.data!.order!;
    expect(order.items).toEqual(
      fresh.items.map(({ quantity, unitPrice, lineTotal, variant }) => ({
        quantity,
        unitPrice,
        lineTotal,
        variant: { sku: variant.sku },
      })),
    );
    expect(await stockOf(v1, f.warehouseId)).toBe(7);
    expect(await stockOf(v2, f.warehouseId)).toBe(6);

    // A later price change does not alter the order.
    await t.database.prisma.productVariant.update({ where: { id: v1 }, data: { price: '99.00' } });
    const cart = await op(t.url, CartDocument, { id: cartId });
    expect(cart.body.data?.cart?.status).toBe('CONVERTED');

    for (const status of ['PROCESSING', 'SHIPPED', 'DELIVERED'] as const) {
      const moved = await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status, reason: `to ${status}` });
      expect(moved.body.data?.updateOrderStatus.status).toBe(status);
    }
    const payment = await op(t.url, CreatePaymentDocument, {
      orderId: order.id,
      amount: '85.75',
      method: 'CARD',
      reference: 'tx-1',
    });
    expect(payment.body.data?.createPayment.status).toBe('PENDING');
    const paymentId = payment.body.data!.createPayment.id;
    expect(
      (await op(t.url, UpdatePaymentStatusDocument, { paymentId, status: 'COMPLETED' })).body.data?.updatePaymentStatus
        .status,
    ).toBe('COMPLETED');
    expect(
      (await op(t.url, UpdatePaymentStatusDocument, { paymentId, status: 'REFUNDED', reason: 'returned' })).body.data,
    ).toBeTruthy();

    const detail = await op(t.url, OrderDetailDocument, { id: order.id });
    const o = detail.body.data!.order!;
    expect(o.items.map((i) => [i.variant.sku, i.quantity, i.unitPrice, i.lineTotal]).sort()).toEqual(
      [
        [`P-${f.tag}-1`, 3, '12.25', '36.75'],
        [`P-${f.tag}-2`, 4, '12.25', '49.00'],
      ].sort(),
    );
    expect(o.transitions.map((tr) => `${tr.fromStatus ?? '-'}>${tr.toStatus}`)).toEqual([
      '->PENDING',
      'PENDING>PROCESSING',
      'PROCESSING>SHIPPED',
      'SHIPPED>DELIVERED',
    ]);
    expect(o.transitions[1]?.reason).toBe('to PROCESSING');
    expect(o.payments[0]?.transitions.map((tr) => tr.toStatus)).toEqual(['PENDING', 'COMPLETED', 'REFUNDED']);
    const cartTransitions = await t.database.prisma.statusTransition.findMany({
      where: { entityId: cartId },
      orderBy: { createdAt: 'asc' },
    });
    expect(cartTransitions.map((tr) => tr.toStatus)).toEqual(['PENDING', 'SUBMITTED', 'CONVERTED']);

    const history = await op(t.url, OrderHistoryDocument, { customerId: f.customerId, limit: 5 });
    expect(history.body.data?.customer?.orders.map((h) => h.id)).toEqual([order.id]);
    const ledger = await op(t.url, StockLedgerDocument, { variantId: v1, reason: 'ORDER_PLACED' });
    expect(ledger.body.data?.stockAdjustments.items.map((a) => a.delta)).toEqual([-3]);
  });

  it('cancelling restores stock and records why', async () => {
    const f = await seedFixture(t.database, { stock: 5 });
    const [v1] = f.variantIds as [string];
    const cartId = await cartWith(f.customerId, [[v1, 4]]);
    const order = (await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId })).body.data!.submitCart;
    expect(await stockOf(v1, f.warehouseId)).toBe(1);
    await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: 'PROCESSING' });
    const cancelled = await op(t.url, UpdateOrderStatusDocument, {
      orderId: order.id,
      status: 'CANCELLED',
      reason: 'customer request',
    });
    expect(cancelled.body.data?.updateOrderStatus.status).toBe('CANCELLED');
    expect(await stockOf(v1, f.warehouseId)).toBe(5);
    const restock = await t.database.prisma.stockAdjustment.findMany({
      where: { orderId: order.id },
      orderBy: { createdAt: 'asc' },
    });
    expect(restock.map((a) => [a.reason, a.delta])).toEqual([
      ['ORDER_PLACED', -4],
      ['ORDER_CANCELLED', 4],
    ]);
  });

  it('short stock fails with INSUFFICIENT_STOCK naming the variant and what is available, and changes nothing', async () => {
    const f = await seedFixture(t.database, { stock: 3 });
    const [v1, v2] = f.variantIds as [string, string];
    const cartId = await cartWith(f.customerId, [
      [v1, 2],
      [v2, 5],
    ]);
    const res = await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId });
    expect(res.body.errors?.[0]?.extensions).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      variantId: v2,
      requested: 5,
      available: 3,
    });
    expect(res.body.errors?.[0]?.message).toContain(v2);
    expect(await stockOf(v1, f.warehouseId)).toBe(3);
    expect((await op(t.url, CartDocument, { id: cartId })).body.data?.cart?.status).toBe('PENDING');
    expect(await t.database.prisma.order.count({ where: { cartId } })).toBe(0);
  });
});

describe('rejected transitions name the current and requested state', () => {
  it('orders: every transition outside the state machine is rejected', async () => {
    const f = await seedFixture(t.database, { stock: 50 });
    const cartId = await cartWith(f.customerId, [[f.variantIds[0]!, 1]]);
    const order = (await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId })).body.data!.submitCart;
    const invalid: [string, string][] = [
      ['PENDING', 'SHIPPED'],
      ['PENDING', 'DELIVERED'],
      ['PENDING', 'PENDING'],
    ];
    for (const [from, to] of invalid) {
      const res = await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: to as 'SHIPPED' });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        entity: 'Order',
        currentState: from,
        requestedState: to,
      });
    }
    await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: 'PROCESSING' });
    await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: 'SHIPPED' });
    const lateCancel = await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: 'CANCELLED' });
    expect(lateCancel.body.errors?.[0]?.extensions).toMatchObject({
      currentState: 'SHIPPED',
      requestedState: 'CANCELLED',
    });
    await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: 'DELIVERED' });
    for (const to of ['PENDING', 'PROCESSING', 'SHIPPED', 'CANCELLED'] as const) {
      const res = await op(t.url, UpdateOrderStatusDocument, { orderId: order.id, status: to });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ currentState: 'DELIVERED', requestedState: to });
    }
  });

  it('payments: refund only after completion; failed and refunded are final', async () => {
    const f = await seedFixture(t.database, { stock: 50, price: '20.00' });
    const cartId = await cartWith(f.customerId, [[f.variantIds[0]!, 2]]);
    const order = (await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId })).body.data!.submitCart;
    const pay = async (amount: string) =>
      (await op(t.url, CreatePaymentDocument, { orderId: order.id, amount, method: 'INVOICE' })).body;
    const first = (await pay('10.00')).data!.createPayment.id;
    const refundPending = await op(t.url, UpdatePaymentStatusDocument, { paymentId: first, status: 'REFUNDED' });
    expect(refundPending.body.errors?.[0]?.extensions).toMatchObject({
      currentState: 'PENDING',
      requestedState: 'REFUNDED',
    });
    await op(t.url, UpdatePaymentStatusDocument, { paymentId: first, status: 'FAILED' });
    const afterFail = await op(t.url, UpdatePaymentStatusDocument, { paymentId: first, status: 'COMPLETED' });
    expect(afterFail.body.errors?.[0]?.extensions).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
      currentState: 'FAILED',
    });
    // Over-payment is refused with the outstanding amount.
    const tooMuch = await pay('40.01');
    expect(tooMuch.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      fields: { 'input.amount': ['amount exceeds what is unpaid (40.00)'] },
    });
    const zero = await pay('0');
    expect(zero.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
  });

  it('carts: a converted or abandoned cart cannot change, be submitted or abandoned again', async () => {
    const f = await seedFixture(t.database, { stock: 50 });
    const [v1] = f.variantIds as [string];
    const cartId = await cartWith(f.customerId, [[v1, 1]]);
    await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId });
    const again = await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId });
    expect(again.body.errors?.[0]?.extensions).toMatchObject({
      currentState: 'CONVERTED',
      requestedState: 'SUBMITTED',
    });
    const add = await op(t.url, AddCartItemDocument, { cartId, variantId: v1, quantity: 1 });
    expect(add.body.errors?.[0]?.extensions).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
      currentState: 'CONVERTED',
    });

    const other = await cartWith(f.customerId, [[v1, 1]]);
    const abandon = await gql(t.url, 'mutation ($id: UUID!) { abandonCart(input: { cartId: $id }) { status } }', {
      id: other,
    });
    expect(abandon.body.data).toEqual({ abandonCart: { status: 'ABANDONED' } });
    const twice = await gql(t.url, 'mutation ($id: UUID!) { abandonCart(input: { cartId: $id }) { status } }', {
      id: other,
    });
    expect(twice.body.errors?.[0]?.extensions).toMatchObject({
      currentState: 'ABANDONED',
      requestedState: 'ABANDONED',
    });
    const removed = await op(t.url, RemoveCartItemDocument, { cartId: other, variantId: v1 });
    expect(removed.body.errors?.[0]?.extensions.code).toBe('INVALID_STATE_TRANSITION');
  });

  it('empty carts, unknown ids and inactive variants are clear errors', async () => {
    const f = await seedFixture(t.database, { stock: 50 });
    const empty = (await op(t.url, CreateCartDocument, { customerId: f.customerId })).body.data!.createCart.id;
    const submitEmpty = await op(t.url, CheckoutDocument, { cartId: empty, warehouseId: f.warehouseId });
    expect(submitEmpty.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      fields: { 'input.cartId': ['the cart is empty'] },
    });
    const missing = '00000000-0000-4000-8000-000000000001';
    expect((await op(t.url, CreateCartDocument, { customerId: missing })).body.errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'Customer',
    });
    expect(
      (await op(t.url, AddCartItemDocument, { cartId: empty, variantId: missing, quantity: 1 })).body.errors?.[0]
        ?.extensions,
    ).toMatchObject({
      code: 'NOT_FOUND',
      resource: 'ProductVariant',
    });
    await t.database.prisma.productVariant.update({ where: { id: f.variantIds[1]! }, data: { isActive: false } });
    const inactive = await op(t.url, AddCartItemDocument, { cartId: empty, variantId: f.variantIds[1]!, quantity: 1 });
    expect(inactive.body.errors?.[0]?.extensions).toMatchObject({
      fields: { 'input.variantId': ['variant is not available for sale'] },
    });
  });
});

import type { GraphQLResolveInfo } from 'graphql';
import { Args, Ctx, Directive, FieldResolver, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { TransitionEntity } from '../../generated/prisma/enums.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { loadRequired } from '../../graphql/primed-loader.js';
import { selectedFieldNames } from '../../graphql/selection.js';
import { canAccessCustomer } from '../../platform/service-context.js';
import { ProductVariant } from '../catalog/index.js';
import { Customer } from '../customers/index.js';
import { Warehouse } from '../inventory/index.js';
import {
  AbandonCartArgs,
  CartItemArgs,
  CreateCartArgs,
  CreatePaymentArgs,
  CustomerOrdersArgs,
  IdArgs,
  ListCartsArgs,
  ListOrdersArgs,
  ListPaymentsArgs,
  RemoveCartItemArgs,
  SubmitCartArgs,
  UpdateOrderStatusArgs,
  UpdatePaymentStatusArgs,
} from './sales.inputs.js';
import {
  abandonCart,
  addCartItem,
  createCart,
  createPayment,
  listCarts,
  listOrders,
  listPayments,
  removeCartItem,
  submitCart,
  updateCartItem,
  updateOrderStatus,
  updatePaymentStatus,
} from './sales.service.js';
import {
  Cart,
  CartItem,
  CartPage,
  Order,
  OrderItem,
  OrderPage,
  Payment,
  PaymentPage,
  StatusTransition,
} from './sales.types.js';

@Resolver(() => Cart)
export class CartResolver {
  @Directive('@auth(anyOf: [ORDER_READ, SELF_SERVICE])')
  @Query(() => Cart, { nullable: true, description: 'A cart by id; null when there is none.' })
  async cart(@Args(() => IdArgs) { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    const cart = await ctx.loaders.sales.cartById.load(id);
    return cart && canAccessCustomer(ctx.actor, cart.customerId, 'ORDER_READ') ? cart : null;
  }

  @Directive('@auth(anyOf: [ORDER_READ, SELF_SERVICE])')
  @Query(() => CartPage, { description: 'Carts, filtered by customer or status, paginated.' })
  carts(@Args(() => ListCartsArgs) args: ListCartsArgs, @Ctx() ctx: GraphQLContext) {
    return listCarts(ctx, args);
  }

  @Directive('@auth(anyOf: [ORDER_WRITE, SELF_SERVICE])')
  @Mutation(() => Cart, { description: 'Creates an empty PENDING cart for a customer.' })
  createCart(@Args(() => CreateCartArgs) { input }: CreateCartArgs, @Ctx() ctx: GraphQLContext) {
    return createCart(ctx, input.customerId);
  }

  @Directive('@auth(anyOf: [ORDER_WRITE, SELF_SERVICE])')
  @Mutation(() => Cart, { description: 'Adds units of a variant to a PENDING cart.' })
  addCartItem(@Args(() => CartItemArgs) { input }: CartItemArgs, @Ctx() ctx: GraphQLContext) {
    return addCartItem(ctx, input);
  }

  @Directive('@auth(anyOf: [ORDER_WRITE, SELF_SERVICE])')
  @Mutation(() => Cart, { description: 'Sets the quantity of a variant already in a PENDING cart.' })
  updateCartItem(@Args(() => CartItemArgs) { input }: CartItemArgs, @Ctx() ctx: GraphQLContext) {
    return updateCartItem(ctx, input);
  }

  @Directive('@auth(anyOf: [ORDER_WRITE, SELF_SERVICE])')
  @Mutation(() => Cart, { description: 'Removes a variant from a PENDING cart.' })
  removeCartItem(@Args(() => RemoveCartItemArgs) { input }: RemoveCartItemArgs, @Ctx() ctx: GraphQLContext) {
    return removeCartItem(ctx, input);
  }

  @Directive('@rateLimit(window: "1m", max: 10)')
  @Directive('@auth(anyOf: [ORDER_WRITE, SELF_SERVICE])')
  @Mutation(() => Order, {
    description:
      'Checkout: converts a PENDING cart into an order in one transaction, taking the stock from the warehouse. INSUFFICIENT_STOCK names the variant and what is available.',
  })
  async submitCart(@Args(() => SubmitCartArgs) { input }: SubmitCartArgs, @Ctx() ctx: GraphQLContext) {
    const { order, items, variants } = await submitCart(ctx, input);
    // Committed: what the order was made of answers `items { variant }` without reading it back.
    ctx.loaders.sales.orderById.prime(order.id, order);
    ctx.loaders.sales.orderItemsByOrderId.prime(order.id, items);
    for (const variant of variants) ctx.loaders.catalog.variantById.prime(variant.id, variant);
    return order;
  }

  @Directive('@auth(anyOf: [ORDER_WRITE, SELF_SERVICE])')
  @Mutation(() => Cart, { description: 'Abandons a cart that will not be submitted.' })
  abandonCart(@Args(() => AbandonCartArgs) { input }: AbandonCartArgs, @Ctx() ctx: GraphQLContext) {
    return abandonCart(ctx, input.cartId);
  }

  @FieldResolver(() => Customer, { description: 'The customer the cart belongs to.' })
  customer(@Root() cart: Cart, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.customers.customerById, cart.customerId, 'Customer');
  }

  @FieldResolver(() => [CartItem], { description: 'What is in the cart, in the order it was added.' })
  items(@Root() cart: Cart, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.sales.cartItemsByCartId.load(cart.id);
  }

  @FieldResolver(() => [StatusTransition], { description: 'Status history, oldest first.' })
  transitions(@Root() cart: Cart, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.sales.transitionsByEntity.load({ type: TransitionEntity.CART, id: cart.id });
  }
}

@Resolver(() => CartItem)
export class CartItemResolver {
  @FieldResolver(() => ProductVariant, { description: 'The variant in the cart.' })
  variant(@Root() item: CartItem, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.catalog.variantById, item.variantId, 'ProductVariant');
  }
}

@Resolver(() => Order)
export class OrderResolver {
  @Directive('@auth(anyOf: [ORDER_READ, SELF_SERVICE])')
  @Query(() => Order, { nullable: true, description: 'An order by id; null when there is none.' })
  async order(@Args(() => IdArgs) { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    const order = await ctx.loaders.sales.orderById.load(id);
    return order && canAccessCustomer(ctx.actor, order.customerId, 'ORDER_READ') ? order : null;
  }

  @Directive('@auth(anyOf: [ORDER_READ, SELF_SERVICE])')
  @Query(() => OrderPage, { description: 'Orders, filtered by status, customer and dates, sorted and paginated.' })
  orders(@Args(() => ListOrdersArgs) args: ListOrdersArgs, @Ctx() ctx: GraphQLContext) {
    return listOrders(ctx, args);
  }

  @Directive('@auth(anyOf: [ORDER_WRITE])')
  @Mutation(() => Order, {
    description:
      'Moves an order along its workflow; cancelling restores its stock. INVALID_STATE_TRANSITION otherwise.',
  })
  updateOrderStatus(@Args(() => UpdateOrderStatusArgs) { input }: UpdateOrderStatusArgs, @Ctx() ctx: GraphQLContext) {
    return updateOrderStatus(ctx, input);
  }

  @FieldResolver(() => String, {
    description: 'Human-friendly order number, increasing (a string: it may exceed 2^53).',
  })
  number(@Root() order: Order): string {
    return order.number.toString();
  }

  @FieldResolver(() => Customer, { description: 'The customer who placed the order.' })
  customer(@Root() order: Order, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.customers.customerById, order.customerId, 'Customer');
  }

  @FieldResolver(() => [OrderItem], { description: 'The lines of the order.' })
  items(@Root() order: Order, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.sales.orderItemsByOrderId.loadNow(order.id);
  }

  @FieldResolver(() => [Payment], { description: 'Payments made against the order, oldest first.' })
  payments(@Root() order: Order, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.sales.paymentsByOrderId.loadNow(order.id);
  }

  @FieldResolver(() => [StatusTransition], { description: 'Status history, oldest first.' })
  transitions(@Root() order: Order, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.sales.transitionsByEntity.load({ type: TransitionEntity.ORDER, id: order.id });
  }
}

@Resolver(() => OrderItem)
export class OrderItemResolver {
  @FieldResolver(() => ProductVariant, { description: 'The variant ordered.' })
  variant(@Root() item: OrderItem, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.catalog.variantById, item.variantId, 'ProductVariant');
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse the units were taken from.' })
  warehouse(@Root() item: OrderItem, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.inventory.warehouseById, item.warehouseId, 'Warehouse');
  }
}

@Resolver(() => Payment)
export class PaymentResolver {
  @Directive('@auth(anyOf: [ORDER_READ])')
  @Query(() => PaymentPage, { description: 'Payments, filtered by order or status, paginated.' })
  payments(@Args(() => ListPaymentsArgs) args: ListPaymentsArgs, @Ctx() ctx: GraphQLContext) {
    return listPayments(ctx, args);
  }

  @Directive('@rateLimit(window: "1m", max: 30)')
  @Directive('@auth(anyOf: [PAYMENT_WRITE])')
  @Mutation(() => Payment, { description: 'Records a PENDING payment; at most what is still unpaid.' })
  createPayment(@Args(() => CreatePaymentArgs) { input }: CreatePaymentArgs, @Ctx() ctx: GraphQLContext) {
    return createPayment(ctx, input);
  }

  @Directive('@auth(anyOf: [PAYMENT_WRITE])')
  @Mutation(() => Payment, {
    description:
      'Completes, fails or refunds a payment (refund only after completion). INVALID_STATE_TRANSITION otherwise.',
  })
  updatePaymentStatus(
    @Args(() => UpdatePaymentStatusArgs) { input }: UpdatePaymentStatusArgs,
    @Ctx() ctx: GraphQLContext,
  ) {
    return updatePaymentStatus(ctx, input);
  }

  @FieldResolver(() => Order, { description: 'The order paid for.' })
  order(@Root() payment: Payment, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.sales.orderById, payment.orderId, 'Order');
  }

  @FieldResolver(() => [StatusTransition], { description: 'Status history, oldest first.' })
  transitions(@Root() payment: Payment, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.sales.transitionsByEntity.load({ type: TransitionEntity.PAYMENT, id: payment.id });
  }
}

@Resolver(() => Customer)
export class CustomerOrdersResolver {
  @FieldResolver(() => [Order], { description: "The customer's most recent orders, newest first." })
  orders(
    @Root() customer: Customer,
    @Args(() => CustomerOrdersArgs) { limit }: CustomerOrdersArgs,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    // The lines and payments the query asks for come in the same statement as the orders.
    const selected = selectedFieldNames(info);
    return ctx.loaders.sales.recentOrdersByCustomer.load({
      customerId: customer.id,
      limit,
      items: selected.has('items'),
      payments: selected.has('payments'),
    });
  }
}

import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  CartStatus,
  OrderStatus,
  PaymentMethod,
  PaymentStatus,
  TransitionEntity,
} from '../../generated/prisma/enums.js';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, MoneyScalar, UUIDScalar } from '../../graphql/scalars.js';

registerEnumType(CartStatus, {
  name: 'CartStatus',
  description: 'PENDING (being filled) → SUBMITTED → CONVERTED (became an order), or ABANDONED.',
});
registerEnumType(OrderStatus, {
  name: 'OrderStatus',
  description: 'PENDING → PROCESSING → SHIPPED → DELIVERED; PENDING or PROCESSING → CANCELLED (stock is restored).',
});
registerEnumType(PaymentStatus, {
  name: 'PaymentStatus',
  description: 'PENDING → COMPLETED or FAILED; COMPLETED → REFUNDED.',
});
registerEnumType(PaymentMethod, { name: 'PaymentMethod', description: 'How a payment is made.' });
registerEnumType(TransitionEntity, {
  name: 'TransitionEntity',
  description: 'Kinds of records with a status history.',
});

export enum OrderOrderField {
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
  NUMBER = 'NUMBER',
  TOTAL_AMOUNT = 'TOTAL_AMOUNT',
  STATUS = 'STATUS',
}
registerEnumType(OrderOrderField, { name: 'OrderOrderField', description: 'Fields orders can be sorted by.' });

/** REQ 2.2: the one table from sort enum to column for orders. */
export const ORDER_ORDER_COLUMNS: Readonly<Record<OrderOrderField, string>> = {
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
  NUMBER: 'number',
  TOTAL_AMOUNT: 'totalAmount',
  STATUS: 'status',
};

export enum CartOrderField {
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(CartOrderField, { name: 'CartOrderField', description: 'Fields carts can be sorted by.' });

export const CART_ORDER_COLUMNS: Readonly<Record<CartOrderField, string>> = {
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
};

export enum PaymentOrderField {
  CREATED_AT = 'CREATED_AT',
  AMOUNT = 'AMOUNT',
}
registerEnumType(PaymentOrderField, { name: 'PaymentOrderField', description: 'Fields payments can be sorted by.' });

export const PAYMENT_ORDER_COLUMNS: Readonly<Record<PaymentOrderField, string>> = {
  CREATED_AT: 'createdAt',
  AMOUNT: 'amount',
};

@ObjectType({ description: 'One recorded status change: from what, to what, by whom and when.' })
export class StatusTransition {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'Status before; null when the record was created.' })
  fromStatus!: string | null;

  @Field(() => String, { description: 'Status after.' })
  toStatus!: string;

  @Field(() => UUIDScalar, { nullable: true, description: 'The user who made the change, when known.' })
  actorId!: string | null;

  @Field(() => String, { nullable: true, description: 'Reason given with the change.' })
  reason!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the change happened.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A shopping cart of one customer.' })
export class Cart {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  customerId!: string;

  @Field(() => CartStatus, { description: 'Where the cart is in its workflow.' })
  status!: CartStatus;

  @Field(() => DateTimeScalar, { description: 'When the cart was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the cart last changed.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'A variant and quantity in a cart.' })
export class CartItem {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  variantId!: string;

  @Field(() => Int, { description: 'Units wanted.' })
  quantity!: number;

  @Field(() => DateTimeScalar, { description: 'When the item was added.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A placed order. Its items keep the prices of the moment it was placed.' })
export class Order {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  number!: bigint;

  customerId!: string;

  @Field(() => UUIDScalar, { nullable: true, description: 'The cart this order was converted from.' })
  cartId!: string | null;

  @Field(() => OrderStatus, { description: 'Where the order is in its workflow.' })
  status!: OrderStatus;

  @Field(() => String, { description: 'ISO 4217 currency of all amounts.' })
  currency!: string;

  @Field(() => MoneyScalar, { description: 'Sum of the line totals.' })
  totalAmount!: unknown;

  @Field(() => DateTimeScalar, { description: 'When the order was placed.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the order last changed.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'One line of an order, priced at order time.' })
export class OrderItem {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  variantId!: string;
  warehouseId!: string;

  @Field(() => Int, { description: 'Units ordered.' })
  quantity!: number;

  @Field(() => MoneyScalar, { description: 'Price of one unit when the order was placed.' })
  unitPrice!: unknown;

  @Field(() => MoneyScalar, { description: 'unitPrice × quantity.' })
  lineTotal!: unknown;
}

@ObjectType({ description: 'A payment against an order.' })
export class Payment {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  orderId!: string;

  @Field(() => MoneyScalar, { description: 'Amount paid.' })
  amount!: unknown;

  @Field(() => String, { description: 'ISO 4217 currency.' })
  currency!: string;

  @Field(() => PaymentMethod, { description: 'How it is paid.' })
  method!: PaymentMethod;

  @Field(() => PaymentStatus, { description: 'Where the payment is in its workflow.' })
  status!: PaymentStatus;

  @Field(() => String, { nullable: true, description: 'Provider or bank reference.' })
  reference!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the payment was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the payment last changed.' })
  updatedAt!: Date;
}

export const OrderPage = PageType(Order, 'OrderPage');
export const CartPage = PageType(Cart, 'CartPage');
export const PaymentPage = PageType(Payment, 'PaymentPage');

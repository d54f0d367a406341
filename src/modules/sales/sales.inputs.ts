import { IsIn, IsInt, IsOptional, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType, Int } from 'type-graphql';
import { CartStatus, OrderStatus, PaymentMethod, PaymentStatus } from '../../generated/prisma/enums.js';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { DateTimeScalar, MoneyScalar, UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters } from '../../graphql/validation.js';
import { CartOrderField, OrderOrderField, PaymentOrderField } from './sales.types.js';

/** Most units of one variant in one cart. */
export const MAX_ITEM_QUANTITY = 10_000;

export const OrderOrderBy = OrderByInput<OrderOrderField>(OrderOrderField, 'OrderOrderBy');
export const CartOrderBy = OrderByInput<CartOrderField>(CartOrderField, 'CartOrderBy');
export const PaymentOrderBy = OrderByInput<PaymentOrderField>(PaymentOrderField, 'PaymentOrderBy');

@ArgsType()
export class IdArgs {
  @Field(() => UUIDScalar, { description: 'The id.' })
  id!: string;
}

@ArgsType()
export class CustomerOrdersArgs {
  @Field(() => Int, { defaultValue: 20, description: 'Most recent orders to return, 1 to 100.' })
  @Min(1)
  @Max(100)
  limit: number = 20;
}

@InputType({ description: 'Filters for the orders list; all given filters must match.' })
export class OrderFilter {
  @Field(() => OrderStatus, { nullable: true, description: 'Only orders in this status.' })
  @IsOptional()
  @IsIn(Object.values(OrderStatus))
  status?: OrderStatus;

  @Field(() => UUIDScalar, { nullable: true, description: 'Only orders of this customer.' })
  customerId?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Placed at or after this instant.' })
  createdFrom?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Placed before this instant.' })
  createdTo?: Date;
}

@ArgsType()
export class ListOrdersArgs extends ListArgs(OrderFilter, OrderOrderBy, {
  filter: 'Which orders to list.',
  orderBy: 'Sort keys. Default: newest first.',
}) {}

@InputType({ description: 'Filters for the carts list.' })
export class CartFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only carts of this customer.' })
  customerId?: string;

  @Field(() => CartStatus, { nullable: true, description: 'Only carts in this status.' })
  @IsOptional()
  @IsIn(Object.values(CartStatus))
  status?: CartStatus;
}

@ArgsType()
export class ListCartsArgs extends ListArgs(CartFilter, CartOrderBy, {
  filter: 'Which carts to list.',
  orderBy: 'Sort keys. Default: newest first.',
}) {}

@InputType({ description: 'Filters for the payments list.' })
export class PaymentFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only payments of this order.' })
  orderId?: string;

  @Field(() => PaymentStatus, { nullable: true, description: 'Only payments in this status.' })
  @IsOptional()
  @IsIn(Object.values(PaymentStatus))
  status?: PaymentStatus;
}

@ArgsType()
export class ListPaymentsArgs extends ListArgs(PaymentFilter, PaymentOrderBy, {
  filter: 'Which payments to list.',
  orderBy: 'Sort keys. Default: newest first.',
}) {}

@InputType({ description: 'A new, empty cart.' })
export class CreateCartInput {
  @Field(() => UUIDScalar, { description: 'The customer the cart belongs to.' })
  customerId!: string;
}

@ArgsType()
export class CreateCartArgs {
  @Field(() => CreateCartInput, { description: 'The cart to create.' })
  @ValidateNested()
  input!: CreateCartInput;
}

@InputType({ description: 'A quantity of a variant in a cart.' })
export class CartItemInput {
  @Field(() => UUIDScalar, { description: 'The cart.' })
  cartId!: string;

  @Field(() => UUIDScalar, { description: 'The variant.' })
  variantId!: string;

  @Field(() => Int, { description: `Units, 1 to ${MAX_ITEM_QUANTITY}.` })
  @IsInt()
  @Min(1, { message: 'quantity must be at least 1' })
  @Max(MAX_ITEM_QUANTITY, { message: `quantity must be at most ${MAX_ITEM_QUANTITY}` })
  quantity!: number;
}

@ArgsType()
export class CartItemArgs {
  @Field(() => CartItemInput, { description: 'The item.' })
  @ValidateNested()
  input!: CartItemInput;
}

@InputType({ description: 'Which item to remove from a cart.' })
export class RemoveCartItemInput {
  @Field(() => UUIDScalar, { description: 'The cart.' })
  cartId!: string;

  @Field(() => UUIDScalar, { description: 'The variant to remove.' })
  variantId!: string;
}

@ArgsType()
export class RemoveCartItemArgs {
  @Field(() => RemoveCartItemInput, { description: 'The item to remove.' })
  @ValidateNested()
  input!: RemoveCartItemInput;
}

@InputType({ description: 'Converts a cart into an order, taking stock from one warehouse.' })
export class SubmitCartInput {
  @Field(() => UUIDScalar, { description: 'The cart to submit.' })
  cartId!: string;

  @Field(() => UUIDScalar, { description: 'The warehouse that fulfils the order.' })
  warehouseId!: string;
}

@ArgsType()
export class SubmitCartArgs {
  @Field(() => SubmitCartInput, { description: 'The cart and fulfilling warehouse.' })
  @ValidateNested()
  input!: SubmitCartInput;
}

@InputType({ description: 'Abandons a cart that will not be submitted.' })
export class AbandonCartInput {
  @Field(() => UUIDScalar, { description: 'The cart.' })
  cartId!: string;
}

@ArgsType()
export class AbandonCartArgs {
  @Field(() => AbandonCartInput, { description: 'The cart to abandon.' })
  @ValidateNested()
  input!: AbandonCartInput;
}

@InputType({ description: 'A status change of an order.' })
export class UpdateOrderStatusInput {
  @Field(() => UUIDScalar, { description: 'The order.' })
  orderId!: string;

  @Field(() => OrderStatus, { description: 'The status to move to.' })
  @IsIn(Object.values(OrderStatus))
  status!: OrderStatus;

  @Field(() => String, { nullable: true, description: 'Why, up to 500 characters; recorded with the change.' })
  @IsOptional()
  @MaxLength(500)
  @NoControlCharacters({ multiline: true })
  reason?: string;
}

@ArgsType()
export class UpdateOrderStatusArgs {
  @Field(() => UpdateOrderStatusInput, { description: 'The change.' })
  @ValidateNested()
  input!: UpdateOrderStatusInput;
}

@InputType({ description: 'A new payment against an order.' })
export class CreatePaymentInput {
  @Field(() => UUIDScalar, { description: 'The order paid for.' })
  orderId!: string;

  @Field(() => MoneyScalar, { description: 'Amount, more than zero and at most what is still unpaid.' })
  amount!: string;

  @Field(() => PaymentMethod, { description: 'How it is paid.' })
  @IsIn(Object.values(PaymentMethod))
  method!: PaymentMethod;

  @Field(() => String, { nullable: true, description: 'Provider or bank reference, up to 200 characters.' })
  @IsOptional()
  @MaxLength(200)
  @NoControlCharacters()
  reference?: string;
}

@ArgsType()
export class CreatePaymentArgs {
  @Field(() => CreatePaymentInput, { description: 'The payment.' })
  @ValidateNested()
  input!: CreatePaymentInput;
}

@InputType({ description: 'A status change of a payment.' })
export class UpdatePaymentStatusInput {
  @Field(() => UUIDScalar, { description: 'The payment.' })
  paymentId!: string;

  @Field(() => PaymentStatus, { description: 'The status to move to.' })
  @IsIn(Object.values(PaymentStatus))
  status!: PaymentStatus;

  @Field(() => String, { nullable: true, description: 'Why, up to 500 characters.' })
  @IsOptional()
  @MaxLength(500)
  @NoControlCharacters({ multiline: true })
  reason?: string;
}

@ArgsType()
export class UpdatePaymentStatusArgs {
  @Field(() => UpdatePaymentStatusInput, { description: 'The change.' })
  @ValidateNested()
  input!: UpdatePaymentStatusInput;
}

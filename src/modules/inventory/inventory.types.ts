import { Directive, Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { StockAdjustmentReason } from '../../generated/prisma/enums.js';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';

registerEnumType(StockAdjustmentReason, {
  name: 'StockAdjustmentReason',
  description: 'Why stock changed. ORDER_PLACED and ORDER_CANCELLED are recorded by the system only.',
});

/** Reasons a person may give; the ORDER_* reasons belong to the checkout and cancel workflows. */
export const MANUAL_ADJUSTMENT_REASONS = [
  StockAdjustmentReason.RECEIVED,
  StockAdjustmentReason.COUNT_CORRECTION,
  StockAdjustmentReason.DAMAGED,
  StockAdjustmentReason.RETURNED,
] as const;

export enum StockLevelOrderField {
  QUANTITY = 'QUANTITY',
  UPDATED_AT = 'UPDATED_AT',
}
registerEnumType(StockLevelOrderField, {
  name: 'StockLevelOrderField',
  description: 'Fields stock levels can be sorted by.',
});

/** REQ 2.2: the one table from sort enum to column for stock levels. */
export const STOCK_LEVEL_ORDER_COLUMNS: Readonly<Record<StockLevelOrderField, string>> = {
  QUANTITY: 'quantity',
  UPDATED_AT: 'updatedAt',
};

export enum StockAdjustmentOrderField {
  CREATED_AT = 'CREATED_AT',
  DELTA = 'DELTA',
}
registerEnumType(StockAdjustmentOrderField, {
  name: 'StockAdjustmentOrderField',
  description: 'Fields stock adjustments can be sorted by.',
});

export const STOCK_ADJUSTMENT_ORDER_COLUMNS: Readonly<Record<StockAdjustmentOrderField, string>> = {
  CREATED_AT: 'createdAt',
  DELTA: 'delta',
};

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType({ description: 'A place that holds stock.' })
export class Warehouse {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { description: 'Short unique code, e.g. WH-EAST.' })
  code!: string;

  @Field(() => String, { description: 'Display name.' })
  name!: string;

  @Field(() => DateTimeScalar, { description: 'When the warehouse was created.' })
  createdAt!: Date;
}

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType({ description: 'Units of one variant held in one warehouse; never negative.' })
export class StockLevel {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  variantId!: string;
  warehouseId!: string;

  @Field(() => Int, { description: 'Units on hand.' })
  quantity!: number;

  @Field(() => DateTimeScalar, { description: 'When the quantity last changed.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'One recorded change of stock, with its reason.' })
export class StockAdjustment {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  variantId!: string;
  warehouseId!: string;

  @Field(() => Int, { description: 'Units added (positive) or removed (negative).' })
  delta!: number;

  @Field(() => StockAdjustmentReason, { description: 'Why the stock changed.' })
  reason!: StockAdjustmentReason;

  @Field(() => String, { description: 'Free-text note given with the change.' })
  note!: string;

  @Field(() => UUIDScalar, { nullable: true, description: 'The order that caused it, for ORDER_* reasons.' })
  orderId!: string | null;

  @Field(() => UUIDScalar, { nullable: true, description: 'The user who made the change, when known.' })
  createdById!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the change happened.' })
  createdAt!: Date;
}

export const StockLevelPage = PageType(StockLevel, 'StockLevelPage');
export const StockAdjustmentPage = PageType(StockAdjustment, 'StockAdjustmentPage');

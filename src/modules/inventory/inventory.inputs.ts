import {
  IsIn,
  IsInt,
  IsOptional,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  NotEquals,
  ValidateNested,
} from 'class-validator';
import { ArgsType, Field, InputType, Int } from 'type-graphql';
import { StockAdjustmentReason } from '../../generated/prisma/enums.js';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters, NotBlank } from '../../graphql/validation.js';
import { MANUAL_ADJUSTMENT_REASONS, StockAdjustmentOrderField, StockLevelOrderField } from './inventory.types.js';

/** The largest single adjustment accepted; larger ones are almost certainly typos. */
export const MAX_ADJUSTMENT = 1_000_000;

export const StockLevelOrderBy = OrderByInput<StockLevelOrderField>(StockLevelOrderField, 'StockLevelOrderBy');
export const StockAdjustmentOrderBy = OrderByInput<StockAdjustmentOrderField>(
  StockAdjustmentOrderField,
  'StockAdjustmentOrderBy',
);

@ArgsType()
export class WarehouseIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the warehouse.' })
  id!: string;
}

@InputType({ description: 'A new warehouse.' })
export class CreateWarehouseInput {
  @Field(() => String, { description: 'Unique code: 2-32 upper-case letters, digits or dashes.' })
  @Matches(/^[A-Z0-9][A-Z0-9-]{1,31}$/, { message: 'code must be 2-32 upper-case letters, digits or dashes' })
  code!: string;

  @Field(() => String, { description: 'Display name, 1-200 characters.' })
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name!: string;
}

@ArgsType()
export class CreateWarehouseArgs {
  @Field(() => CreateWarehouseInput, { description: 'The warehouse to create.' })
  @ValidateNested()
  input!: CreateWarehouseInput;
}

@InputType({ description: 'Filters for stock levels.' })
export class StockLevelFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only this variant.' })
  variantId?: string;

  @Field(() => UUIDScalar, { nullable: true, description: 'Only this warehouse.' })
  warehouseId?: string;

  @Field(() => Int, { nullable: true, description: 'Only levels with fewer units than this (reorder view).' })
  @IsOptional()
  @Min(0)
  below?: number;
}

@ArgsType()
export class ListStockLevelsArgs extends ListArgs(StockLevelFilter, StockLevelOrderBy, {
  filter: 'Which stock levels to list.',
  orderBy: 'Sort keys. Default: fewest units first.',
}) {}

@InputType({ description: 'Filters for stock adjustments.' })
export class StockAdjustmentFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only this variant.' })
  variantId?: string;

  @Field(() => UUIDScalar, { nullable: true, description: 'Only this warehouse.' })
  warehouseId?: string;

  @Field(() => StockAdjustmentReason, { nullable: true, description: 'Only this reason.' })
  @IsOptional()
  @IsIn(Object.values(StockAdjustmentReason))
  reason?: StockAdjustmentReason;

  @Field(() => DateTimeScalar, { nullable: true, description: 'At or after this instant.' })
  from?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Before this instant.' })
  to?: Date;
}

@ArgsType()
export class ListStockAdjustmentsArgs extends ListArgs(StockAdjustmentFilter, StockAdjustmentOrderBy, {
  filter: 'Which adjustments to list.',
  orderBy: 'Sort keys. Default: newest first.',
}) {}

@InputType({ description: 'A manual change of stock with its reason.' })
export class AdjustStockInput {
  @Field(() => UUIDScalar, { description: 'The variant whose stock changes.' })
  variantId!: string;

  @Field(() => UUIDScalar, { description: 'The warehouse where it changes.' })
  warehouseId!: string;

  @Field(() => Int, {
    description: `Units to add (positive) or remove (negative); not zero, at most ${MAX_ADJUSTMENT} either way.`,
  })
  @IsInt()
  @NotEquals(0, { message: 'delta must not be zero' })
  @Min(-MAX_ADJUSTMENT)
  @Max(MAX_ADJUSTMENT)
  delta!: number;

  @Field(() => StockAdjustmentReason, { description: 'Why: RECEIVED, COUNT_CORRECTION, DAMAGED or RETURNED.' })
  @IsIn(MANUAL_ADJUSTMENT_REASONS, { message: 'reason must be RECEIVED, COUNT_CORRECTION, DAMAGED or RETURNED' })
  reason!: StockAdjustmentReason;

  @Field(() => String, { defaultValue: '', description: 'Optional note, up to 1000 characters.' })
  @MaxLength(1000)
  @NoControlCharacters({ multiline: true })
  note: string = '';
}

@ArgsType()
export class AdjustStockArgs {
  @Field(() => AdjustStockInput, { description: 'The adjustment.' })
  @ValidateNested()
  input!: AdjustStockInput;
}

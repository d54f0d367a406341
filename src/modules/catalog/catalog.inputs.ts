import { ArrayMaxSize, IsIn, IsOptional, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { ProductStatus } from '../../generated/prisma/enums.js';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { DateTimeScalar, JSONObjectScalar, MoneyScalar, UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters, NotBlank } from '../../graphql/validation.js';
import { ProductOrderField } from './catalog.types.js';

const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SKU_MESSAGE = 'sku must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit';
const CURRENCY = /^[A-Z]{3}$/;

export const ProductOrderBy = OrderByInput<ProductOrderField>(ProductOrderField, 'ProductOrderBy');

@InputType({ description: 'Filters for the products list; all given filters must match.' })
export class ProductFilter {
  @Field(() => ProductStatus, { nullable: true, description: 'Only products in this status.' })
  @IsOptional()
  @IsIn(Object.values(ProductStatus))
  status?: ProductStatus;

  @Field(() => String, { nullable: true, description: 'Case-insensitive text found in the name or SKU.' })
  @IsOptional()
  @MaxLength(100)
  @NoControlCharacters()
  search?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Created at or after this instant.' })
  createdFrom?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Created before this instant.' })
  createdTo?: Date;
}

@ArgsType()
export class ListProductsArgs extends ListArgs(ProductFilter, ProductOrderBy, {
  filter: 'Which products to list.',
  orderBy: 'Sort keys, most significant first. Default: newest first.',
}) {}

@ArgsType()
export class ProductIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the product.' })
  id!: string;
}

@ArgsType()
export class ProductBySkuArgs {
  @Field(() => String, { description: 'SKU of the product.' })
  @Matches(SKU, { message: SKU_MESSAGE })
  sku!: string;
}

@ArgsType()
export class VariantIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the variant.' })
  id!: string;
}

@InputType({ description: 'A new variant of a product.' })
export class CreateVariantInput {
  @Field(() => String, { description: 'Unique SKU of the variant.' })
  @Matches(SKU, { message: SKU_MESSAGE })
  sku!: string;

  @Field(() => String, { description: 'Display name, 1-200 characters.' })
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name!: string;

  @Field(() => MoneyScalar, { description: 'List price.' })
  price!: string;

  @Field(() => String, { defaultValue: 'USD', description: 'ISO 4217 currency code.' })
  @Matches(CURRENCY, { message: 'currency must be an ISO 4217 code such as USD' })
  currency: string = 'USD';

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Free-form attributes.' })
  attributes?: Record<string, unknown>;
}

@InputType({ description: 'A new product, optionally with its first variants.' })
export class CreateProductInput {
  @Field(() => String, { description: 'Unique SKU of the product family.' })
  @Matches(SKU, { message: SKU_MESSAGE })
  sku!: string;

  @Field(() => String, { description: 'Display name, 1-200 characters.' })
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name!: string;

  @Field(() => String, { defaultValue: '', description: 'Plain-text description, up to 5000 characters.' })
  @MaxLength(5000)
  @NoControlCharacters({ multiline: true })
  description: string = '';

  @Field(() => ProductStatus, { defaultValue: ProductStatus.ACTIVE, description: 'Initial status.' })
  @IsIn(Object.values(ProductStatus))
  status: ProductStatus = ProductStatus.ACTIVE;

  @Field(() => [CreateVariantInput], {
    defaultValue: [],
    description: 'Variants to create with the product (up to 50).',
  })
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  variants!: CreateVariantInput[];
}

@ArgsType()
export class CreateProductArgs {
  @Field(() => CreateProductInput, { description: 'The product to create.' })
  @ValidateNested()
  input!: CreateProductInput;
}

@InputType({ description: 'Changes to a product; omitted fields stay as they are.' })
export class UpdateProductInput {
  @Field(() => String, { nullable: true, description: 'New display name.' })
  @IsOptional()
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name?: string;

  @Field(() => String, { nullable: true, description: 'New description.' })
  @IsOptional()
  @MaxLength(5000)
  @NoControlCharacters({ multiline: true })
  description?: string;

  @Field(() => ProductStatus, { nullable: true, description: 'New status.' })
  @IsOptional()
  @IsIn(Object.values(ProductStatus))
  status?: ProductStatus;
}

@ArgsType()
export class UpdateProductArgs {
  @Field(() => UUIDScalar, { description: 'Id of the product to change.' })
  id!: string;

  @Field(() => UpdateProductInput, { description: 'The changes.' })
  @ValidateNested()
  input!: UpdateProductInput;
}

@ArgsType()
export class AddVariantArgs {
  @Field(() => UUIDScalar, { description: 'Id of the product the variant belongs to.' })
  productId!: string;

  @Field(() => CreateVariantInput, { description: 'The variant.' })
  @ValidateNested()
  input!: CreateVariantInput;
}

@InputType({ description: 'Changes to a variant; omitted fields stay as they are.' })
export class UpdateVariantInput {
  @Field(() => String, { nullable: true, description: 'New display name.' })
  @IsOptional()
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name?: string;

  @Field(() => MoneyScalar, { nullable: true, description: 'New list price (existing orders keep theirs).' })
  price?: string;

  @Field(() => Boolean, { nullable: true, description: 'Whether the variant can be added to carts.' })
  isActive?: boolean;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Replaces the attributes.' })
  attributes?: Record<string, unknown>;
}

@ArgsType()
export class UpdateVariantArgs {
  @Field(() => UUIDScalar, { description: 'Id of the variant to change.' })
  id!: string;

  @Field(() => UpdateVariantInput, { description: 'The changes.' })
  @ValidateNested()
  input!: UpdateVariantInput;
}

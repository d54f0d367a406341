import { Directive, Field, ObjectType, registerEnumType } from 'type-graphql';
import { ProductStatus } from '../../generated/prisma/enums.js';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, JSONObjectScalar, MoneyScalar, UUIDScalar } from '../../graphql/scalars.js';

registerEnumType(ProductStatus, {
  name: 'ProductStatus',
  description: 'Lifecycle of a product: DRAFT (not sold yet), ACTIVE (sold), ARCHIVED (no longer sold).',
});

export enum ProductOrderField {
  NAME = 'NAME',
  SKU = 'SKU',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
  STATUS = 'STATUS',
}
registerEnumType(ProductOrderField, { name: 'ProductOrderField', description: 'Fields products can be sorted by.' });

/**
 * REQ 2.2: the one table from sort enum to column for products. These are SQL columns: the catalog
 * page is one hand-written statement (catalog-page.ts), and only these fixed names reach it.
 */
export const PRODUCT_ORDER_COLUMNS: Readonly<Record<ProductOrderField, string>> = {
  NAME: 'name',
  SKU: 'sku',
  CREATED_AT: 'created_at',
  UPDATED_AT: 'updated_at',
  STATUS: 'status',
};

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType({ description: 'A sellable product; what is actually stocked and ordered are its variants.' })
export class Product {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { description: 'Stock-keeping unit of the product family, unique.' })
  sku!: string;

  @Field(() => String, { description: 'Display name.' })
  name!: string;

  @Field(() => String, { description: 'Long description, plain text as entered.' })
  description!: string;

  @Field(() => ProductStatus, { description: 'Lifecycle status.' })
  status!: ProductStatus;

  @Field(() => DateTimeScalar, { description: 'When the product was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the product was last changed.' })
  updatedAt!: Date;
}

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType({ description: 'A concrete, stocked version of a product (size, grade…) with its own SKU and price.' })
export class ProductVariant {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  productId!: string;

  @Field(() => String, { description: 'Stock-keeping unit, unique across all variants.' })
  sku!: string;

  @Field(() => String, { description: 'Display name of the variant, e.g. "Heavy duty".' })
  name!: string;

  @Field(() => MoneyScalar, { description: 'Current list price. Orders keep the price they were placed at.' })
  price!: unknown;

  @Field(() => String, { description: 'ISO 4217 currency of the price.' })
  currency!: string;

  @Field(() => JSONObjectScalar, { description: 'Free-form attributes (grade, colour, size…).' })
  attributes!: unknown;

  @Field(() => Boolean, { description: 'Whether the variant can be added to carts.' })
  isActive!: boolean;

  @Field(() => DateTimeScalar, { description: 'When the variant was created.' })
  createdAt!: Date;
}

export const ProductPage = PageType(Product, 'ProductPage');

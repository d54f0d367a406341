import type { GraphQLResolveInfo } from 'graphql';
import { Args, Ctx, Directive, FieldResolver, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { toPage } from '../../graphql/pagination.js';
import { loadRequired } from '../../graphql/primed-loader.js';
import { selectedFieldNames } from '../../graphql/selection.js';
import { StockLevel } from '../inventory/index.js';
import {
  AddVariantArgs,
  CreateProductArgs,
  ListProductsArgs,
  ProductBySkuArgs,
  ProductIdArgs,
  UpdateProductArgs,
  UpdateVariantArgs,
  VariantIdArgs,
} from './catalog.inputs.js';
import {
  addVariant,
  createProduct,
  getProductBySku,
  listProducts,
  updateProduct,
  updateVariant,
} from './catalog.service.js';
import { Product, ProductPage, ProductVariant } from './catalog.types.js';

@Resolver(() => Product)
export class ProductResolver {
  @Directive('@public')
  @Directive('@cacheControl(maxAge: 30)')
  @Query(() => Product, { nullable: true, description: 'A product by id; null when there is none.' })
  product(@Args(() => ProductIdArgs) { id }: ProductIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.catalog.productById.load(id);
  }

  @Directive('@public')
  @Directive('@cacheControl(maxAge: 30)')
  @Query(() => Product, { nullable: true, description: 'A product by SKU; null when there is none.' })
  productBySku(@Args(() => ProductBySkuArgs) { sku }: ProductBySkuArgs, @Ctx() ctx: GraphQLContext) {
    return getProductBySku(ctx, sku);
  }

  @Directive('@public')
  @Directive('@cacheControl(maxAge: 30)')
  @Query(() => ProductPage, { description: 'Products, filtered, sorted and paginated.' })
  async products(
    @Args(() => ListProductsArgs) args: ListProductsArgs,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    // The variants, stock levels and warehouses the query asks for come in the same statement.
    const page = await listProducts(ctx, args, {
      variants: selectedFieldNames(info, 'items').has('variants'),
      stockLevels: selectedFieldNames(info, 'items', 'variants').has('stockLevels'),
      warehouses: selectedFieldNames(info, 'items', 'variants', 'stockLevels').has('warehouse'),
    });
    const { catalog, inventory } = ctx.loaders;
    for (const product of page.items) catalog.productById.prime(product.id, product);
    for (const [productId, variants] of page.variantsByProductId ?? []) {
      catalog.variantsByProductId.prime(productId, variants);
      for (const variant of variants) catalog.variantById.prime(variant.id, variant);
    }
    for (const [variantId, levels] of page.stockLevelsByVariantId ?? []) {
      inventory.stockLevelsByVariantId.prime(variantId, levels);
    }
    for (const warehouse of page.warehouses ?? []) inventory.warehouseById.prime(warehouse.id, warehouse);
    return toPage(page.items, page.totalCount, args);
  }

  @Directive('@auth(anyOf: [CATALOG_WRITE])')
  @Mutation(() => Product, {
    description: 'Creates a product, optionally with variants. CONFLICT when a SKU is taken.',
  })
  createProduct(@Args(() => CreateProductArgs) { input }: CreateProductArgs, @Ctx() ctx: GraphQLContext) {
    return createProduct(ctx, input);
  }

  @Directive('@auth(anyOf: [CATALOG_WRITE])')
  @Mutation(() => Product, { description: 'Changes a product. NOT_FOUND when it does not exist.' })
  updateProduct(@Args(() => UpdateProductArgs) { id, input }: UpdateProductArgs, @Ctx() ctx: GraphQLContext) {
    return updateProduct(ctx, id, input);
  }

  @FieldResolver(() => [ProductVariant], { description: 'The variants of this product, by SKU.' })
  variants(@Root() product: Product, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.catalog.variantsByProductId.loadNow(product.id);
  }
}

@Resolver(() => ProductVariant)
export class ProductVariantResolver {
  @Directive('@public')
  @Directive('@cacheControl(maxAge: 30)')
  @Query(() => ProductVariant, { nullable: true, description: 'A variant by id; null when there is none.' })
  variant(@Args(() => VariantIdArgs) { id }: VariantIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.catalog.variantById.load(id);
  }

  @Directive('@auth(anyOf: [CATALOG_WRITE])')
  @Mutation(() => ProductVariant, { description: 'Adds a variant to a product. CONFLICT when its SKU is taken.' })
  addProductVariant(@Args(() => AddVariantArgs) { productId, input }: AddVariantArgs, @Ctx() ctx: GraphQLContext) {
    return addVariant(ctx, productId, input);
  }

  @Directive('@auth(anyOf: [CATALOG_WRITE])')
  @Mutation(() => ProductVariant, { description: 'Changes a variant; orders already placed keep their prices.' })
  updateProductVariant(@Args(() => UpdateVariantArgs) { id, input }: UpdateVariantArgs, @Ctx() ctx: GraphQLContext) {
    return updateVariant(ctx, id, input);
  }

  @FieldResolver(() => Product, { description: 'The product this variant belongs to.' })
  product(@Root() variant: ProductVariant, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.catalog.productById, variant.productId, 'Product');
  }

  @Directive('@cacheControl(maxAge: 10)')
  @FieldResolver(() => [StockLevel], { description: 'Stock of this variant in each warehouse that holds it.' })
  stockLevels(@Root() variant: ProductVariant, @Ctx() ctx: GraphQLContext) {
    // A cached answer showing this stock is dropped when the variant's stock changes.
    ctx.cacheDeps?.stockOf(variant.id);
    return ctx.loaders.inventory.stockLevelsByVariantId.loadNow(variant.id);
  }
}

import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import { ConflictError, NotFoundError } from '../../errors/index.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type {
  CreateProductInput,
  CreateVariantInput,
  ListProductsArgs,
  UpdateProductInput,
  UpdateVariantInput,
} from './catalog.inputs.js';
import { loadProductPage, type ProductPageRows, type ProductPageShape } from './catalog-page.js';

type Ctx = Pick<ServiceContext, 'prisma' | 'runInTransaction' | 'signal'>;

/** A page of products with what the query asks for below them (`loadProductPage`: one statement). */
export function listProducts(ctx: Ctx, args: ListProductsArgs, shape: ProductPageShape): Promise<ProductPageRows> {
  return loadProductPage(ctx.prisma, args, shape);
}

export async function getProductBySku(ctx: Ctx, sku: string) {
  return ctx.prisma.product.findUnique({ where: { sku } });
}

function variantData(input: CreateVariantInput) {
  return {
    sku: input.sku,
    name: input.name,
    price: input.price,
    currency: input.currency,
    attributes: (input.attributes ?? {}) as PrismaTypes.InputJsonValue,
  };
}

/** Checks SKUs up front so the client hears which one is taken (the unique index is the backstop). */
async function assertSkusFree(ctx: Ctx, productSku: string | undefined, variantSkus: string[]): Promise<void> {
  const duplicateInInput = variantSkus.find((sku, i) => variantSkus.indexOf(sku) !== i);
  if (duplicateInInput) throw new ConflictError('sku', `Variant SKU ${duplicateInInput} appears twice in the request.`);
  if (productSku && (await ctx.prisma.product.findUnique({ where: { sku: productSku }, select: { id: true } }))) {
    throw new ConflictError('sku', `A product with SKU ${productSku} already exists.`);
  }
  if (variantSkus.length > 0) {
    const taken = await ctx.prisma.productVariant.findFirst({
      where: { sku: { in: variantSkus } },
      select: { sku: true },
    });
    if (taken) throw new ConflictError('sku', `A variant with SKU ${taken.sku} already exists.`);
  }
}

export async function createProduct(ctx: Ctx, input: CreateProductInput) {
  await assertSkusFree(
    ctx,
    input.sku,
    input.variants.map((v) => v.sku),
  );
  return ctx.prisma.product.create({
    data: {
      sku: input.sku,
      name: input.name,
      description: input.description,
      status: input.status,
      variants: { create: input.variants.map(variantData) },
    },
  });
}

export async function updateProduct(ctx: Ctx, id: string, input: UpdateProductInput) {
  const existing = await ctx.prisma.product.findUnique({ where: { id }, select: { id: true } });
  if (!existing) throw new NotFoundError('Product', id);
  return ctx.prisma.product.update({
    where: { id },
    data: {
      ...(input.name !== undefined && input.name !== null ? { name: input.name } : {}),
      ...(input.description !== undefined && input.description !== null ? { description: input.description } : {}),
      ...(input.status ? { status: input.status } : {}),
    },
  });
}

export async function addVariant(ctx: Ctx, productId: string, input: CreateVariantInput) {
  const product = await ctx.prisma.product.findUnique({ where: { id: productId }, select: { id: true } });
  if (!product) throw new NotFoundError('Product', productId);
  await assertSkusFree(ctx, undefined, [input.sku]);
  return ctx.prisma.productVariant.create({ data: { ...variantData(input), productId } });
}

export async function updateVariant(ctx: Ctx, id: string, input: UpdateVariantInput) {
  const existing = await ctx.prisma.productVariant.findUnique({ where: { id }, select: { id: true } });
  if (!existing) throw new NotFoundError('ProductVariant', id);
  return ctx.prisma.productVariant.update({
    where: { id },
    data: {
      ...(input.name != null ? { name: input.name } : {}),
      ...(input.price != null ? { price: input.price } : {}),
      ...(input.isActive != null ? { isActive: input.isActive } : {}),
      ...(input.attributes != null ? { attributes: input.attributes as PrismaTypes.InputJsonValue } : {}),
    },
  });
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.js';
import {
  AddCartItemDocument,
  AddProductVariantDocument,
  CheckoutDocument,
  CreateCartDocument,
  CreateProductDocument,
  OrderDetailDocument,
  ProductDetailDocument,
  UpdateProductDocument,
  UpdateProductVariantDocument,
} from '../../schema/generated/operations.js';
import { gql, op, seedFixture, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

interface VariantView {
  id: string;
  sku: string;
  name: string;
  price: string;
  currency: string;
  attributes: Record<string, unknown>;
  isActive: boolean;
  createdAt: string;
}

interface ProductView {
  id: string;
  sku: string;
  name: string;
  description: string;
  status: 'DRAFT' | 'ACTIVE' | 'ARCHIVED';
  createdAt: string;
  updatedAt: string;
  variants: VariantView[];
}

interface ProductPageView {
  items: Omit<ProductView, 'variants'>[];
  pageInfo: { page: number; limit: number; totalCount: number; hasNextPage: boolean };
}

type ErrorExtensions = Record<string, unknown>;

const VARIANT = 'id sku name price currency attributes isActive createdAt';
const PRODUCT = 'id sku name description status createdAt updatedAt';
const PRODUCT_WITH_VARIANTS = `${PRODUCT} variants { ${VARIANT} }`;

const CREATE = `mutation ($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT_WITH_VARIANTS} } }`;
const UPDATE = `mutation ($id: UUID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { ${PRODUCT_WITH_VARIANTS} }
}`;
const ADD_VARIANT = `mutation ($productId: UUID!, $input: CreateVariantInput!) {
  addProductVariant(productId: $productId, input: $input) { ${VARIANT} product { id } }
}`;
const UPDATE_VARIANT = `mutation ($id: UUID!, $input: UpdateVariantInput!) {
  updateProductVariant(id: $id, input: $input) { ${VARIANT} }
}`;
const BY_ID = `query ($id: UUID!) { product(id: $id) { ${PRODUCT_WITH_VARIANTS} } }`;
const BY_SKU = `query ($sku: String!) { productBySku(sku: $sku) { ${PRODUCT_WITH_VARIANTS} } }`;
const VARIANT_BY_ID = `query ($id: UUID!) { variant(id: $id) { ${VARIANT} product { id sku name } } }`;
const LIST = `query ($filter: ProductFilter, $page: Int, $limit: Int, $orderBy: [ProductOrderBy!]) {
  products(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) {
    items { ${PRODUCT} }
    pageInfo { page limit totalCount hasNextPage }
  }
}`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** A lower-case token no other test's data contains; valid inside a SKU. */
function tagged(): string {
  return `ct${uniqueTag()}`;
}

async function createProduct(input: Record<string, unknown>): Promise<ProductView> {
  const res = await gql<{ createProduct: ProductView }>(t.url, CREATE, { input });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.createProduct;
}

/** Rows with chosen timestamps, for ordering and date-range checks. */
async function seedProducts(rows: Prisma.ProductCreateInput[]) {
  const created = [];
  for (const data of rows) created.push(await t.database.prisma.product.create({ data }));
  return created;
}

async function list(variables: Record<string, unknown>): Promise<ProductPageView> {
  const res = await gql<{ products: ProductPageView }>(t.url, LIST, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.products;
}

async function listIds(variables: Record<string, unknown>): Promise<string[]> {
  return (await list(variables)).items.map((p) => p.id);
}

function firstError(res: { body: { errors?: { extensions: ErrorExtensions; message: string }[] } }) {
  expect(res.body.errors, 'expected an error').toBeDefined();
  return res.body.errors![0]!;
}

function fieldKeys(res: { body: { errors?: { extensions: ErrorExtensions; message: string }[] } }): string[] {
  const error = firstError(res);
  expect(error.extensions.code).toBe('VALIDATION_ERROR');
  return Object.keys(error.extensions.fields as object).sort();
}

describe('product(id), productBySku and variant(id)', () => {
  it('finds a product by id and by SKU with its variants in SKU order, and a variant with its product', async () => {
    const tag = tagged();
    const created = await createProduct({
      sku: `P-${tag}`,
      name: `Lookup ${tag}`,
      description: 'Two variants',
      variants: [
        { sku: `V-${tag}-b`, name: 'Bravo', price: '2.50' },
        { sku: `V-${tag}-a`, name: 'Alpha', price: '1.00', currency: 'EUR', attributes: { size: 'S' } },
      ],
    });
    expect(created.variants.map((v) => v.sku)).toEqual([`V-${tag}-a`, `V-${tag}-b`]);

    const byId = await gql<{ product: ProductView | null }>(t.url, BY_ID, { id: created.id });
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data?.product).toEqual(created);

    const bySku = await gql<{ productBySku: ProductView | null }>(t.url, BY_SKU, { sku: `P-${tag}` });
    expect(bySku.body.errors).toBeUndefined();
    expect(bySku.body.data?.productBySku).toEqual(created);

    // The web shop's typed operation sees the same product.
    const detail = await op(t.url, ProductDetailDocument, { sku: `P-${tag}` });
    expect(detail.body.errors).toBeUndefined();
    expect(detail.body.data?.productBySku).toMatchObject({
      id: created.id,
      description: 'Two variants',
      status: 'ACTIVE',
      variants: [
        {
          sku: `V-${tag}-a`,
          price: '1.00',
          currency: 'EUR',
          attributes: { size: 'S' },
          isActive: true,
          stockLevels: [],
        },
        { sku: `V-${tag}-b`, price: '2.50', currency: 'USD', attributes: {}, isActive: true, stockLevels: [] },
      ],
    });

    const alpha = created.variants[0]!;
    const variant = await gql<{ variant: (VariantView & { product: { id: string; sku: string } }) | null }>(
      t.url,
      VARIANT_BY_ID,
      { id: alpha.id },
    );
    expect(variant.body.errors).toBeUndefined();
    expect(variant.body.data?.variant).toEqual({
      ...alpha,
      product: { id: created.id, sku: `P-${tag}`, name: `Lookup ${tag}` },
    });
  });

  it('productBySku matches the SKU exactly (case-sensitive)', async () => {
    const tag = tagged();
    await createProduct({ sku: `Case-${tag}`, name: `Case ${tag}` });
    const other = await gql<{ productBySku: ProductView | null }>(t.url, BY_SKU, { sku: `CASE-${tag}` });
    expect(other.body.errors).toBeUndefined();
    expect(other.body.data?.productBySku).toBeNull();
  });

  it('returns null for an unknown id, SKU or variant id', async () => {
    const missingProduct = await gql<{ product: ProductView | null }>(t.url, BY_ID, { id: randomUUID() });
    expect(missingProduct.body.errors).toBeUndefined();
    expect(missingProduct.body.data).toEqual({ product: null });

    const missingSku = await gql<{ productBySku: ProductView | null }>(t.url, BY_SKU, { sku: `NONE-${tagged()}` });
    expect(missingSku.body.errors).toBeUndefined();
    expect(missingSku.body.data).toEqual({ productBySku: null });

    const missingVariant = await gql<{ variant: VariantView | null }>(t.url, VARIANT_BY_ID, { id: randomUUID() });
    expect(missingVariant.body.errors).toBeUndefined();
    expect(missingVariant.body.data).toEqual({ variant: null });
  });

  it('rejects a malformed id or SKU as VALIDATION_ERROR', async () => {
    for (const query of [BY_ID, VARIANT_BY_ID]) {
      const res = await gql(t.url, query, { id: 'not-a-uuid' });
      expect(firstError(res).extensions.code).toBe('VALIDATION_ERROR');
    }
    const badSku = await gql(t.url, BY_SKU, { sku: 'has spaces; DROP TABLE products' });
    expect(fieldKeys(badSku)).toEqual(['sku']);
  });
});

describe('createProduct', () => {
  it('creates a product with variants: Money as two-decimal strings, attributes round-trip, defaults applied', async () => {
    const tag = tagged();
    const attributes = {
      colour: 'Röd 赤',
      size: { width: 10.5, height: 3, unit: 'cm' },
      tags: ['a', 'b', 1, true, null],
      fragile: false,
      note: null,
      quote: `"<tag>" & 'apos'`,
    };
    const created = await createProduct({
      sku: `P-${tag}`,
      name: `Money ${tag}`,
      variants: [
        { sku: `V-${tag}-1`, name: 'One decimal', price: '19.9', attributes },
        { sku: `V-${tag}-2`, name: 'Integer', price: '5', currency: 'EUR' },
        { sku: `V-${tag}-3`, name: 'Zero', price: '0' },
        { sku: `V-${tag}-4`, name: 'Largest', price: '999999999999.99' },
        { sku: `V-${tag}-5`, name: 'As JSON number', price: 7.5 },
      ],
    });
    expect(created).toMatchObject({ sku: `P-${tag}`, name: `Money ${tag}`, description: '', status: 'ACTIVE' });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.createdAt).toBe(created.updatedAt);
    expect(created.variants.map((v) => [v.sku, v.price, v.currency, v.isActive])).toEqual([
      [`V-${tag}-1`, '19.90', 'USD', true],
      [`V-${tag}-2`, '5.00', 'EUR', true],
      [`V-${tag}-3`, '0.00', 'USD', true],
      [`V-${tag}-4`, '999999999999.99', 'USD', true],
      [`V-${tag}-5`, '7.50', 'USD', true],
    ]);
    expect(created.variants[0]!.attributes).toEqual(attributes);
    expect(created.variants[1]!.attributes).toEqual({});

    const rows = await t.database.prisma.productVariant.findMany({
      where: { productId: created.id },
      orderBy: { sku: 'asc' },
    });
    expect(rows.map((r) => r.price.toFixed(2))).toEqual(['19.90', '5.00', '0.00', '999999999999.99', '7.50']);
    expect(rows[0]!.attributes).toEqual(attributes);

    const read = await gql<{ product: ProductView }>(t.url, BY_ID, { id: created.id });
    expect(read.body.data?.product.variants[0]!.attributes).toEqual(attributes);
  });

  it('takes the status and description given, and the typed client operation works', async () => {
    const tag = tagged();
    const res = await op(t.url, CreateProductDocument, {
      input: {
        sku: `P-${tag}`,
        name: `Draft ${tag}`,
        description: 'Not for sale yet',
        status: 'DRAFT',
        variants: [{ sku: `V-${tag}`, name: 'Only', price: '1.23' }],
      },
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.createProduct).toMatchObject({ sku: `P-${tag}`, variants: [{ sku: `V-${tag}` }] });
    const row = await t.database.prisma.product.findUniqueOrThrow({ where: { sku: `P-${tag}` } });
    expect(row).toMatchObject({ status: 'DRAFT', description: 'Not for sale yet' });
  });

  it('stores markup, quotes and multi-line text exactly as given, never escaped', async () => {
    const tag = tagged();
    const name = `<b>"Tom & Jerry's"</b>`;
    const description = `<script>alert("x")</script>\n'; DROP TABLE products; --\r\n\tÜnïcødé 東京 ${tag} 🚀`;
    const variantName = `&amp; <i>it's</i> "quoted"`;
    const created = await createProduct({
      sku: `P-${tag}`,
      name,
      description,
      variants: [{ sku: `V-${tag}`, name: variantName, price: '1.00' }],
    });
    expect(created.name).toBe(name);
    expect(created.description).toBe(description);
    expect(created.variants[0]!.name).toBe(variantName);
    const read = await gql<{ product: ProductView }>(t.url, BY_ID, { id: created.id });
    expect(read.body.data?.product).toMatchObject({ name, description, variants: [{ name: variantName }] });
    const row = await t.database.prisma.product.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.name).toBe(name);
    expect(row.description).toBe(description);
  });

  it('refuses a taken product SKU: CONFLICT on sku, nothing created', async () => {
    const tag = tagged();
    await createProduct({ sku: `P-${tag}`, name: `First ${tag}` });
    const res = await gql(t.url, CREATE, {
      input: { sku: `P-${tag}`, name: `Second ${tag}`, variants: [{ sku: `V-${tag}`, name: 'x', price: '1.00' }] },
    });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'CONFLICT', field: 'sku' });
    expect(firstError(res).message).toBe(`A product with SKU P-${tag} already exists.`);
    expect(await t.database.prisma.product.count({ where: { name: `Second ${tag}` } })).toBe(0);
    expect(await t.database.prisma.productVariant.count({ where: { sku: `V-${tag}` } })).toBe(0);
  });

  it("refuses a variant SKU another product's variant already has: CONFLICT on sku, nothing created", async () => {
    const tag = tagged();
    await createProduct({
      sku: `P1-${tag}`,
      name: `Holder ${tag}`,
      variants: [{ sku: `V-${tag}`, name: 'taken', price: '1.00' }],
    });
    const res = await gql(t.url, CREATE, {
      input: {
        sku: `P2-${tag}`,
        name: `Newcomer ${tag}`,
        variants: [
          { sku: `V-${tag}-free`, name: 'free', price: '1.00' },
          { sku: `V-${tag}`, name: 'clash', price: '1.00' },
        ],
      },
    });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'CONFLICT', field: 'sku' });
    expect(firstError(res).message).toBe(`A variant with SKU V-${tag} already exists.`);
    expect(await t.database.prisma.product.count({ where: { sku: `P2-${tag}` } })).toBe(0);
    expect(await t.database.prisma.productVariant.count({ where: { sku: `V-${tag}-free` } })).toBe(0);
  });

  it('refuses a variant SKU repeated inside the same request: CONFLICT on sku, nothing created', async () => {
    const tag = tagged();
    const res = await gql(t.url, CREATE, {
      input: {
        sku: `P-${tag}`,
        name: `Twice ${tag}`,
        variants: [
          { sku: `V-${tag}`, name: 'one', price: '1.00' },
          { sku: `V-${tag}-other`, name: 'two', price: '1.00' },
          { sku: `V-${tag}`, name: 'three', price: '2.00' },
        ],
      },
    });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'CONFLICT', field: 'sku' });
    expect(firstError(res).message).toContain(`V-${tag}`);
    expect(await t.database.prisma.product.count({ where: { sku: `P-${tag}` } })).toBe(0);
    expect(await t.database.prisma.productVariant.count({ where: { sku: { startsWith: `V-${tag}` } } })).toBe(0);
  });

  it('concurrent creates of one product SKU: exactly one wins, the rest CONFLICT on sku', async () => {
    const tag = tagged();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gql(t.url, CREATE, { input: { sku: `RACE-${tag}`, name: `Racer ${tag} ${i}` } }),
      ),
    );
    expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
    for (const loser of results.filter((r) => r.body.errors)) {
      expect(loser.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'sku' });
    }
    expect(await t.database.prisma.product.count({ where: { sku: `RACE-${tag}` } })).toBe(1);
  });

  it('concurrent creates sharing one variant SKU: exactly one wins, the rest CONFLICT on sku', async () => {
    const tag = tagged();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gql(t.url, CREATE, {
          input: {
            sku: `RACE-${tag}-${i}`,
            name: `Racer ${tag} ${i}`,
            variants: [{ sku: `RACE-V-${tag}`, name: 'shared', price: '1.00' }],
          },
        }),
      ),
    );
    expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
    for (const loser of results.filter((r) => r.body.errors)) {
      expect(loser.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'sku' });
    }
    expect(await t.database.prisma.productVariant.count({ where: { sku: `RACE-V-${tag}` } })).toBe(1);
    expect(await t.database.prisma.product.count({ where: { sku: { startsWith: `RACE-${tag}-` } } })).toBe(1);
  });
});

describe('updateProduct', () => {
  it('changes only the given fields and leaves the variants alone', async () => {
    const tag = tagged();
    const created = await createProduct({
      sku: `P-${tag}`,
      name: `Before ${tag}`,
      description: 'Original description',
      status: 'DRAFT',
      variants: [{ sku: `V-${tag}`, name: 'Kept', price: '3.00' }],
    });

    const renamed = await gql<{ updateProduct: ProductView }>(t.url, UPDATE, {
      id: created.id,
      input: { name: `After <i>&</i> "quoted" ${tag}` },
    });
    expect(renamed.body.errors).toBeUndefined();
    expect(renamed.body.data?.updateProduct).toMatchObject({
      id: created.id,
      sku: `P-${tag}`,
      name: `After <i>&</i> "quoted" ${tag}`,
      description: 'Original description',
      status: 'DRAFT',
      createdAt: created.createdAt,
      variants: created.variants,
    });
    expect(Date.parse(renamed.body.data!.updateProduct.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.updatedAt),
    );

    const activated = await op(t.url, UpdateProductDocument, { id: created.id, input: { status: 'ACTIVE' } });
    expect(activated.body.errors).toBeUndefined();
    expect(activated.body.data?.updateProduct).toEqual({
      id: created.id,
      name: `After <i>&</i> "quoted" ${tag}`,
      status: 'ACTIVE',
    });

    const described = await gql<{ updateProduct: ProductView }>(t.url, UPDATE, {
      id: created.id,
      input: { description: 'Line one\nLine two\r\n\tindented', name: null, status: null },
    });
    expect(described.body.errors).toBeUndefined();
    expect(described.body.data?.updateProduct).toMatchObject({
      name: `After <i>&</i> "quoted" ${tag}`,
      description: 'Line one\nLine two\r\n\tindented',
      status: 'ACTIVE',
    });

    const cleared = await gql<{ updateProduct: ProductView }>(t.url, UPDATE, {
      id: created.id,
      input: { description: '' },
    });
    expect(cleared.body.data?.updateProduct.description).toBe('');

    const row = await t.database.prisma.product.findUniqueOrThrow({ where: { id: created.id } });
    expect(row).toMatchObject({ name: `After <i>&</i> "quoted" ${tag}`, description: '', status: 'ACTIVE' });
  });

  it('answers NOT_FOUND for an id that does not exist', async () => {
    const id = randomUUID();
    const res = await gql(t.url, UPDATE, { id, input: { name: 'Nobody' } });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'NOT_FOUND', resource: 'Product', id });
  });

  it('validates the changes like a new product, all violations together', async () => {
    const tag = tagged();
    const created = await createProduct({ sku: `P-${tag}`, name: `Valid ${tag}`, description: 'kept' });
    const res = await gql(t.url, UPDATE, {
      id: created.id,
      input: { name: 'Two\nlines', description: `Bell\u0007 ${'x'.repeat(5000)}` },
    });
    expect(fieldKeys(res)).toEqual(['input.description', 'input.name']);
    const fields = firstError(res).extensions.fields as Record<string, string[]>;
    expect(fields['input.name']).toEqual(['name must not contain control characters']);
    expect(fields['input.description']).toHaveLength(2);
    const blank = await gql(t.url, UPDATE, { id: created.id, input: { name: '   ' } });
    expect(firstError(blank).extensions.fields).toEqual({ 'input.name': ['name must not be blank'] });
    const row = await t.database.prisma.product.findUniqueOrThrow({ where: { id: created.id } });
    expect(row).toMatchObject({ name: `Valid ${tag}`, description: 'kept' });
  });
});

describe('addProductVariant', () => {
  it('adds a variant with defaults; the product lists it in SKU order', async () => {
    const tag = tagged();
    const product = await createProduct({
      sku: `P-${tag}`,
      name: `Grows ${tag}`,
      variants: [{ sku: `V-${tag}-m`, name: 'Middle', price: '2.00' }],
    });
    const added = await gql<{ addProductVariant: VariantView & { product: { id: string } } }>(t.url, ADD_VARIANT, {
      productId: product.id,
      input: { sku: `V-${tag}-a`, name: 'First by SKU', price: '0.5' },
    });
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data?.addProductVariant).toMatchObject({
      sku: `V-${tag}-a`,
      name: 'First by SKU',
      price: '0.50',
      currency: 'USD',
      attributes: {},
      isActive: true,
      product: { id: product.id },
    });

    const typed = await op(t.url, AddProductVariantDocument, {
      productId: product.id,
      input: { sku: `V-${tag}-z`, name: 'Last', price: '10', currency: 'GBP', attributes: { grade: 'A', n: 1 } },
    });
    expect(typed.body.errors).toBeUndefined();
    expect(typed.body.data?.addProductVariant).toMatchObject({ sku: `V-${tag}-z`, price: '10.00' });

    const read = await gql<{ product: ProductView }>(t.url, BY_ID, { id: product.id });
    expect(read.body.data?.product.variants.map((v) => [v.sku, v.price, v.currency, v.attributes])).toEqual([
      [`V-${tag}-a`, '0.50', 'USD', {}],
      [`V-${tag}-m`, '2.00', 'USD', {}],
      [`V-${tag}-z`, '10.00', 'GBP', { grade: 'A', n: 1 }],
    ]);
  });

  it('answers NOT_FOUND for a product that does not exist, creating nothing', async () => {
    const tag = tagged();
    const productId = randomUUID();
    const res = await gql(t.url, ADD_VARIANT, {
      productId,
      input: { sku: `V-${tag}`, name: 'Orphan', price: '1.00' },
    });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'NOT_FOUND', resource: 'Product', id: productId });
    expect(await t.database.prisma.productVariant.count({ where: { sku: `V-${tag}` } })).toBe(0);
  });

  it('refuses a taken variant SKU, even one of another product: CONFLICT on sku', async () => {
    const tag = tagged();
    await createProduct({
      sku: `P1-${tag}`,
      name: `Holder ${tag}`,
      variants: [{ sku: `V-${tag}`, name: 'taken', price: '1.00' }],
    });
    const other = await createProduct({ sku: `P2-${tag}`, name: `Other ${tag}` });
    const res = await gql(t.url, ADD_VARIANT, {
      productId: other.id,
      input: { sku: `V-${tag}`, name: 'clash', price: '9.00' },
    });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'CONFLICT', field: 'sku' });
    expect(await t.database.prisma.productVariant.count({ where: { productId: other.id } })).toBe(0);
  });

  it('reports every violation of the variant together, keyed by path', async () => {
    const tag = tagged();
    const product = await createProduct({ sku: `P-${tag}`, name: `Strict ${tag}` });
    const res = await gql(t.url, ADD_VARIANT, {
      productId: product.id,
      input: { sku: '-leading-dash', name: '', price: '1.00', currency: 'usd' },
    });
    expect(fieldKeys(res)).toEqual(['input.currency', 'input.name', 'input.sku']);
    const fields = firstError(res).extensions.fields as Record<string, string[]>;
    expect(fields['input.currency']).toEqual(['currency must be an ISO 4217 code such as USD']);
    expect(fields['input.sku']).toEqual([
      'sku must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    ]);
  });
});

describe('updateProductVariant', () => {
  it("changes the list price for new carts but never an existing order's unit price", async () => {
    const f = await seedFixture(t.database, { stock: 10, price: '12.25' });
    const [v1] = f.variantIds as [string];
    const cart = await op(t.url, CreateCartDocument, { customerId: f.customerId });
    const cartId = cart.body.data!.createCart.id;
    expect((await op(t.url, AddCartItemDocument, { cartId, variantId: v1, quantity: 2 })).body.errors).toBeUndefined();
    const checkout = await op(t.url, CheckoutDocument, { cartId, warehouseId: f.warehouseId });
    expect(checkout.body.errors, JSON.stringify(checkout.body.errors)).toBeUndefined();
    const order = checkout.body.data!.submitCart;
    expect(order.totalAmount).toBe('24.50');

    const repriced = await op(t.url, UpdateProductVariantDocument, { id: v1, input: { price: '99.99' } });
    expect(repriced.body.errors).toBeUndefined();
    expect(repriced.body.data?.updateProductVariant).toEqual({ id: v1, price: '99.99', isActive: true });

    const variant = await gql<{ variant: VariantView }>(t.url, VARIANT_BY_ID, { id: v1 });
    expect(variant.body.data?.variant.price).toBe('99.99');
    const detail = await op(t.url, OrderDetailDocument, { id: order.id });
    expect(detail.body.data?.order).toMatchObject({
      totalAmount: '24.50',
      items: [{ quantity: 2, unitPrice: '12.25', lineTotal: '24.50', variant: { sku: `P-${f.tag}-1` } }],
    });
    const items = await t.database.prisma.orderItem.findMany({ where: { orderId: order.id } });
    expect(items.map((i) => i.unitPrice.toFixed(2))).toEqual(['12.25']);
  });

  it('changes only the given fields: name, isActive, attributes (replaced, not merged)', async () => {
    const tag = tagged();
    const product = await createProduct({
      sku: `P-${tag}`,
      name: `Variant edits ${tag}`,
      variants: [{ sku: `V-${tag}`, name: 'Original', price: '4.40', attributes: { colour: 'red', size: 'M' } }],
    });
    const id = product.variants[0]!.id;
    const res = await gql<{ updateProductVariant: VariantView }>(t.url, UPDATE_VARIANT, {
      id,
      input: { isActive: false, attributes: { colour: 'blue' } },
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.updateProductVariant).toEqual({
      ...product.variants[0],
      isActive: false,
      attributes: { colour: 'blue' },
    });
    const renamed = await gql<{ updateProductVariant: VariantView }>(t.url, UPDATE_VARIANT, {
      id,
      input: { name: `<b>"Renamed"</b>` },
    });
    expect(renamed.body.data?.updateProductVariant).toMatchObject({
      name: `<b>"Renamed"</b>`,
      price: '4.40',
      isActive: false,
      attributes: { colour: 'blue' },
    });
  });

  it('answers NOT_FOUND for a variant that does not exist', async () => {
    const id = randomUUID();
    const res = await gql(t.url, UPDATE_VARIANT, { id, input: { price: '1.00' } });
    expect(res.body.data).toBeNull();
    expect(firstError(res).extensions).toMatchObject({ code: 'NOT_FOUND', resource: 'ProductVariant', id });
  });
});

describe('input validation', () => {
  it('reports every class-validator violation of createProduct together, keyed by path', async () => {
    const tag = tagged();
    const res = await gql(t.url, CREATE, {
      input: {
        sku: 'bad sku!',
        name: '   ',
        description: `Escape\u001b[31m ${tag}`,
        variants: [
          { sku: '-x', name: '', price: '1.00', currency: 'usd' },
          { sku: `V-${tag}`, name: 'Two\nlines', price: '2', currency: 'EURO' },
          { sku: `V2-${tag}`, name: 'fine', price: '3.00' },
        ],
      },
    });
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(fieldKeys(res)).toEqual([
      'input.description',
      'input.name',
      'input.sku',
      'input.variants.0.currency',
      'input.variants.0.name',
      'input.variants.0.sku',
      'input.variants.1.currency',
      'input.variants.1.name',
    ]);
    const fields = firstError(res).extensions.fields as Record<string, string[]>;
    expect(fields['input.name']).toContain('name must not be blank');
    expect(fields['input.description']).toEqual(['description must not contain control characters']);
    expect(fields['input.variants.1.name']).toEqual(['name must not contain control characters']);
    expect(await t.database.prisma.productVariant.count({ where: { sku: `V2-${tag}` } })).toBe(0);
  });

  it('enforces the limits: SKU 64, name 200, description 5000, 50 variants', async () => {
    const tag = tagged();
    const tooBig = await gql(t.url, CREATE, {
      input: {
        sku: `S${tag}${'x'.repeat(64)}`,
        name: 'n'.repeat(201),
        description: 'd'.repeat(5001),
        variants: Array.from({ length: 51 }, (_, i) => ({ sku: `V-${tag}-${i}`, name: `v${i}`, price: '1.00' })),
      },
    });
    expect(fieldKeys(tooBig)).toEqual(['input.description', 'input.name', 'input.sku', 'input.variants']);

    const sku = `S${tag}`.padEnd(64, 'x');
    const atLimits = await createProduct({
      sku,
      name: 'n'.repeat(200),
      description: 'd'.repeat(5000),
      variants: Array.from({ length: 50 }, (_, i) => ({ sku: `V-${tag}-${i}`, name: `v${i}`, price: '1.00' })),
    });
    expect(atLimits.sku).toBe(sku);
    expect(atLimits.name).toHaveLength(200);
    expect(atLimits.description).toHaveLength(5000);
    expect(atLimits.variants).toHaveLength(50);
  });

  it('rejects control characters in name and description; only the description may span lines', async () => {
    const tag = tagged();
    for (const control of ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u009f']) {
      const res = await gql(t.url, CREATE, {
        input: { sku: `P-${tag}`, name: `Bad${control}name`, description: `Bad${control}description` },
      });
      expect(fieldKeys(res), JSON.stringify(control)).toEqual(['input.description', 'input.name']);
    }
    for (const newline of ['\n', '\r', '\r\n', '\t']) {
      const res = await gql(t.url, CREATE, { input: { sku: `P-${tag}`, name: `Two${newline}lines` } });
      expect(fieldKeys(res), JSON.stringify(newline)).toEqual(['input.name']);
    }
    expect(await t.database.prisma.product.count({ where: { sku: `P-${tag}` } })).toBe(0);

    const multiline = await createProduct({
      sku: `P-${tag}`,
      name: `Clean ${tag}`,
      description: 'First line\nSecond line\r\nThird\tcolumn',
    });
    expect(multiline.description).toBe('First line\nSecond line\r\nThird\tcolumn');
  });

  it('Money errors are raised at variable coercion: VALIDATION_ERROR keyed by the input path', async () => {
    const tag = tagged();
    for (const price of ['19.999', '-1.00', 'abc', '1e3', '', ' 1.00', '1,00', '1000000000000.00', 12.345]) {
      const res = await gql(t.url, CREATE, {
        input: { sku: `P-${tag}`, name: `Price ${tag}`, variants: [{ sku: `V-${tag}`, name: 'v', price }] },
      });
      expect(res.status, JSON.stringify(price)).toBe(400);
      expect(res.body.data ?? null).toBeNull();
      const error = firstError(res);
      expect(error.extensions, JSON.stringify(price)).toEqual({
        code: 'VALIDATION_ERROR',
        fields: { 'input.variants.0.price': [expect.stringContaining('Money must be')] },
        correlationId: expect.any(String),
      });
      expect(error.message).toContain('input.variants[0].price');
      expect(error.message).toContain('Money must be a non-negative decimal with at most 2 decimal places');
    }
    // A coercion error stops the request before argument validation: the other violations in
    // the same request are not reported with it.
    const mixed = await gql(t.url, CREATE, {
      input: { sku: 'bad sku!', name: '', variants: [{ sku: `V-${tag}`, name: 'v', price: '1.999' }] },
    });
    expect(mixed.body.errors).toHaveLength(1);
    expect(firstError(mixed).extensions).toMatchObject({ code: 'VALIDATION_ERROR', fields: {} });
    // Every coercion error of the variables is reported, though.
    const two = await gql(t.url, CREATE, {
      input: {
        sku: `P-${tag}`,
        name: 'n',
        variants: [
          { sku: `V-${tag}-1`, name: 'v', price: '1.999' },
          { sku: `V-${tag}-2`, name: 'v', price: '-2' },
        ],
      },
    });
    expect(two.body.errors?.map((e) => e.message.match(/input\.variants\[\d\]\.price/)?.[0])).toEqual([
      'input.variants[0].price',
      'input.variants[1].price',
    ]);
    // Written into the document instead of a variable, the same mistake fails document validation.
    const literal = await gql(
      t.url,
      `mutation { createProduct(input: { sku: "P-${tag}", name: "n", variants: [{ sku: "V-${tag}", name: "v", price: "1.999" }] }) { id } }`,
    );
    expect(literal.status).toBe(400);
    expect(firstError(literal).extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await t.database.prisma.product.count({ where: { sku: `P-${tag}` } })).toBe(0);
  });

  it('rejects a non-object as attributes at coercion', async () => {
    const tag = tagged();
    for (const attributes of [[1, 2], 'colour=red', 42]) {
      const res = await gql(t.url, CREATE, {
        input: { sku: `P-${tag}`, name: 'n', variants: [{ sku: `V-${tag}`, name: 'v', price: '1.00', attributes }] },
      });
      expect(firstError(res).extensions.code, JSON.stringify(attributes)).toBe('VALIDATION_ERROR');
    }
    expect(await t.database.prisma.product.count({ where: { sku: `P-${tag}` } })).toBe(0);
  });
});

describe('products list', () => {
  it('filters by status', async () => {
    const tag = tagged();
    const [draft, active, archived] = await seedProducts(
      (['DRAFT', 'ACTIVE', 'ARCHIVED'] as const).map((status) => ({
        sku: `${status}-${tag}`,
        name: `Status ${tag} ${status}`,
        status,
      })),
    );
    for (const [status, row] of [
      ['DRAFT', draft],
      ['ACTIVE', active],
      ['ARCHIVED', archived],
    ] as const) {
      const page = await list({ filter: { search: tag, status } });
      expect(page.items.map((p) => p.id)).toEqual([row!.id]);
      expect(page.items[0]!.status).toBe(status);
      expect(page.pageInfo.totalCount).toBe(1);
    }
    expect((await list({ filter: { search: tag } })).pageInfo.totalCount).toBe(3);
  });

  it('searches name or SKU without regard to letter case', async () => {
    const tag = tagged();
    const [byName, bySku] = await seedProducts([
      { sku: `N-${uniqueTag()}`, name: `Acme ${tag.toUpperCase()} widget` },
      { sku: `S-${tag}-sku`, name: `Globex ${uniqueTag()}` },
      { sku: `U-${uniqueTag()}`, name: `Unrelated ${uniqueTag()}` },
    ]);
    const expected = [byName!.id, bySku!.id].sort();
    for (const search of [tag, tag.toUpperCase(), `${tag.slice(0, 4)}${tag.slice(4).toUpperCase()}`]) {
      const page = await list({ filter: { search } });
      expect(page.items.map((p) => p.id).sort(), search).toEqual(expected);
      expect(page.pageInfo.totalCount).toBe(2);
    }
  });

  it('treats % _ and \\ typed by a user as literal characters, not wildcards', async () => {
    const tag = tagged();
    const [underscore, , percent, , backslash] = await seedProducts([
      { sku: `a_b${tag}`, name: `Underscore one` },
      { sku: `axb${tag}`, name: `Underscore two` },
      { sku: `PCT1-${uniqueTag()}`, name: `Deal 100%${tag} off` },
      { sku: `PCT2-${uniqueTag()}`, name: `Deal 100x${tag} off` },
      { sku: `BS1-${uniqueTag()}`, name: `Path C:\\tmp\\${tag}` },
      { sku: `BS2-${uniqueTag()}`, name: `Path C:tmp${tag}` },
    ]);
    expect(await listIds({ filter: { search: `a_b${tag}` } })).toEqual([underscore!.id]);
    expect(await listIds({ filter: { search: `A_B${tag.toUpperCase()}` } })).toEqual([underscore!.id]);
    expect(await listIds({ filter: { search: `0%${tag}` } })).toEqual([percent!.id]);
    expect(await listIds({ filter: { search: `C:\\tmp\\${tag}` } })).toEqual([backslash!.id]);
    expect(await listIds({ filter: { search: `%${tag}_` } })).toEqual([]);
  });

  it('filters by creation time: createdFrom inclusive, createdTo exclusive', async () => {
    const tag = tagged();
    const [, jan2, jan3] = await seedProducts(
      ['2001-01-01', '2001-01-02', '2001-01-03', '2001-01-04'].map((day, i) => ({
        sku: `D${i}-${tag}`,
        name: `Dated ${tag} ${i}`,
        createdAt: new Date(`${day}T00:00:00.000Z`),
      })),
    );
    expect(
      await listIds({
        filter: { search: tag, createdFrom: '2001-01-02T00:00:00.000Z', createdTo: '2001-01-04T00:00:00.000Z' },
        orderBy: [{ field: 'CREATED_AT', direction: 'ASC' }],
      }),
    ).toEqual([jan2!.id, jan3!.id]);
    expect((await list({ filter: { search: tag, createdFrom: '2001-01-03T00:00:00Z' } })).pageInfo.totalCount).toBe(2);
    expect((await list({ filter: { search: tag, createdTo: '2001-01-03T00:00:00Z' } })).pageInfo.totalCount).toBe(2);
    // Offsets are honoured: 01:00+01:00 is midnight UTC.
    expect(
      (await list({ filter: { search: tag, createdFrom: '2001-01-02T01:00:00+01:00' } })).pageInfo.totalCount,
    ).toBe(3);
    expect(
      (await list({ filter: { search: tag, createdFrom: '2001-01-05T00:00:00Z', createdTo: '2001-01-01T00:00:00Z' } }))
        .pageInfo.totalCount,
    ).toBe(0);
  });

  it('lists newest first by default and paginates with totalCount and hasNextPage', async () => {
    const tag = tagged();
    const rows = await seedProducts(
      [1, 2, 3, 4, 5].map((i) => ({
        sku: `PG${i}-${tag}`,
        name: `Paged ${tag} ${i}`,
        createdAt: new Date(Date.UTC(2002, 0, i)),
      })),
    );
    const newestFirst = [...rows].reverse().map((r) => r.id);
    const page1 = await list({ filter: { search: tag }, limit: 2 });
    expect(page1.items.map((p) => p.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.pageInfo).toEqual({ page: 1, limit: 2, totalCount: 5, hasNextPage: true });
    const page2 = await list({ filter: { search: tag }, limit: 2, page: 2 });
    expect(page2.items.map((p) => p.id)).toEqual(newestFirst.slice(2, 4));
    expect(page2.pageInfo).toEqual({ page: 2, limit: 2, totalCount: 5, hasNextPage: true });
    const page3 = await list({ filter: { search: tag }, limit: 2, page: 3 });
    expect(page3.items.map((p) => p.id)).toEqual(newestFirst.slice(4));
    expect(page3.pageInfo).toEqual({ page: 3, limit: 2, totalCount: 5, hasNextPage: false });
    const beyond = await list({ filter: { search: tag }, limit: 2, page: 4 });
    expect(beyond.items).toEqual([]);
    expect(beyond.pageInfo).toEqual({ page: 4, limit: 2, totalCount: 5, hasNextPage: false });
    const exact = await list({ filter: { search: tag }, limit: 5 });
    expect(exact.pageInfo).toMatchObject({ totalCount: 5, hasNextPage: false });
    expect(exact.items.map((p) => p.id)).toEqual(newestFirst);
  });

  it('sorts by each ProductOrderField in both directions', async () => {
    const tag = tagged();
    // Each field orders the three rows differently, so a wrong column cannot pass by accident.
    const [a, b, c] = await seedProducts([
      {
        sku: `${tag}-a`,
        name: `${tag} c`,
        status: 'ACTIVE',
        createdAt: new Date('2010-01-01T00:00:00Z'),
        updatedAt: new Date('2011-01-02T00:00:00Z'),
      },
      {
        sku: `${tag}-c`,
        name: `${tag} a`,
        status: 'DRAFT',
        createdAt: new Date('2010-01-02T00:00:00Z'),
        updatedAt: new Date('2011-01-03T00:00:00Z'),
      },
      {
        sku: `${tag}-b`,
        name: `${tag} b`,
        status: 'ARCHIVED',
        createdAt: new Date('2010-01-03T00:00:00Z'),
        updatedAt: new Date('2011-01-01T00:00:00Z'),
      },
    ]);
    expect(c!.updatedAt.toISOString()).toBe('2011-01-01T00:00:00.000Z');
    const expected: Record<string, string[]> = {
      NAME: [b!.id, c!.id, a!.id],
      SKU: [a!.id, c!.id, b!.id],
      CREATED_AT: [a!.id, b!.id, c!.id],
      UPDATED_AT: [c!.id, a!.id, b!.id],
      // Status sorts in lifecycle (enum declaration) order, not alphabetically.
      STATUS: [b!.id, a!.id, c!.id],
    };
    for (const [field, ascending] of Object.entries(expected)) {
      expect(
        await listIds({ filter: { search: tag }, orderBy: [{ field, direction: 'ASC' }] }),
        `${field} ASC`,
      ).toEqual(ascending);
      expect(
        await listIds({ filter: { search: tag }, orderBy: [{ field, direction: 'DESC' }] }),
        `${field} DESC`,
      ).toEqual([...ascending].reverse());
    }
    // direction defaults to ASC
    expect(await listIds({ filter: { search: tag }, orderBy: [{ field: 'SKU' }] })).toEqual(expected.SKU);
  });

  it('sorts by several keys, most significant first, with the id as the final tiebreaker', async () => {
    const tag = tagged();
    const [older, newer, other] = await seedProducts([
      { sku: `M1-${tag}`, name: `${tag} same`, createdAt: new Date('2004-01-01T00:00:00Z') },
      { sku: `M2-${tag}`, name: `${tag} same`, createdAt: new Date('2004-01-02T00:00:00Z') },
      { sku: `M3-${tag}`, name: `${tag} zzz`, createdAt: new Date('2004-01-03T00:00:00Z') },
    ]);
    expect(
      await listIds({
        filter: { search: tag },
        orderBy: [
          { field: 'NAME', direction: 'ASC' },
          { field: 'CREATED_AT', direction: 'DESC' },
        ],
      }),
    ).toEqual([newer!.id, older!.id, other!.id]);
    const sameName = [older!.id, newer!.id].sort();
    const tied = await listIds({
      filter: { search: `${tag} same` },
      orderBy: [{ field: 'NAME', direction: 'DESC' }],
    });
    expect(tied).toEqual(sameName);
  });

  it('rejects limit 1001 and page 0 together; accepts limit 1000', async () => {
    const res = await gql(t.url, LIST, { limit: 1001, page: 0 });
    expect(firstError(res).extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      fields: { limit: ['limit must be at most 1000'], page: ['page must be at least 1'] },
    });
    expect(fieldKeys(res)).toEqual(['limit', 'page']);
    const ok = await list({ limit: 1000, filter: { search: tagged() } });
    expect(ok.pageInfo).toEqual({ page: 1, limit: 1000, totalCount: 0, hasNextPage: false });
  });

  it('rejects a sort field that is not in ProductOrderField, and too many sort keys', async () => {
    const literal = await gql(t.url, '{ products(orderBy: [{ field: PRICE }]) { pageInfo { totalCount } } }');
    expect(literal.status).toBe(400);
    expect(firstError(literal).extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const injected = await gql(
      t.url,
      '{ products(orderBy: [{ field: "name; DROP TABLE products" }]) { items { id } } }',
    );
    expect(firstError(injected).extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const variable = await gql(t.url, LIST, { orderBy: [{ field: 'description', direction: 'ASC' }] });
    expect(firstError(variable).extensions.code).toBe('VALIDATION_ERROR');
    const direction = await gql(t.url, LIST, { orderBy: [{ field: 'NAME', direction: 'SIDEWAYS' }] });
    expect(firstError(direction).extensions.code).toBe('VALIDATION_ERROR');
    const tooMany = await gql(t.url, LIST, {
      orderBy: ['NAME', 'SKU', 'STATUS', 'CREATED_AT', 'UPDATED_AT', 'NAME'].map((field) => ({ field })),
    });
    expect(fieldKeys(tooMany)).toEqual(['orderBy']);
  });

  it('rejects control characters and over-long text in the search, and an unknown status', async () => {
    const control = await gql(t.url, LIST, { filter: { search: 'a\u0000b' } });
    expect(fieldKeys(control)).toEqual(['filter.search']);
    const long = await gql(t.url, LIST, { filter: { search: 's'.repeat(101) } });
    expect(fieldKeys(long)).toEqual(['filter.search']);
    const status = await gql(t.url, LIST, { filter: { status: 'DELETED' } });
    expect(firstError(status).extensions.code).toBe('VALIDATION_ERROR');
  });
});

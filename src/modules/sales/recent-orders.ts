import { Decimal } from '../../generated/prisma/internal/prismaNamespace.js';
import type { OrderStatus, PaymentMethod, PaymentStatus, ProductStatus } from '../../generated/prisma/enums.js';
import type { Prisma } from '../../platform/db/index.js';
import type { ProductRow, VariantRow } from '../catalog/index.js';

export type OrderRow = Awaited<ReturnType<Prisma['order']['findUniqueOrThrow']>>;
export type OrderItemRow = Awaited<ReturnType<Prisma['orderItem']['findUniqueOrThrow']>>;
export type PaymentRow = Awaited<ReturnType<Prisma['payment']['findUniqueOrThrow']>>;

/** What a `customer.orders` field asks for below the orders themselves. */
export interface RecentOrdersKey {
  customerId: string;
  limit: number;
  /** The orders' lines, each with its variant and the variant's product. */
  items: boolean;
  payments: boolean;
}

/** The loader's cache key of a `RecentOrdersKey`: a customer's orders of one size and shape. */
export const recentOrdersCacheKey = (key: RecentOrdersKey): string =>
  `${key.customerId}:${key.limit}:${key.items}:${key.payments}`;

/** One order and, when asked for, its lines (with variant and product) and payments. */
export interface RecentOrder {
  order: OrderRow;
  items?: { item: OrderItemRow; variant: VariantRow; product: ProductRow }[];
  payments?: PaymentRow[];
}

// Rows nested as JSON come back as JSON values: money as text (never a float), times as ISO text.
interface ItemJson {
  id: string;
  orderId: string;
  variantId: string;
  warehouseId: string;
  quantity: number;
  unitPrice: string;
  lineTotal: string;
  variant: {
    id: string;
    productId: string;
    sku: string;
    name: string;
    price: string;
    currency: string;
    attributes: VariantRow['attributes'];
    isActive: boolean;
    createdAt: string;
    updatedAt: string;
  };
  product: {
    id: string;
    sku: string;
    name: string;
    description: string;
    status: ProductStatus;
    createdAt: string;
    updatedAt: string;
  };
}

interface PaymentJson {
  id: string;
  orderId: string;
  amount: string;
  currency: string;
  method: PaymentMethod;
  status: PaymentStatus;
  reference: string | null;
  createdAt: string;
  updatedAt: string;
}

interface RecentOrderRecord {
  id: string;
  number: bigint;
  customerId: string;
  cartId: string | null;
  status: OrderStatus;
  currency: string;
  totalAmount: Decimal;
  createdAt: Date;
  updatedAt: Date;
  items: ItemJson[] | null;
  payments: PaymentJson[] | null;
}

function toItem(json: ItemJson): NonNullable<RecentOrder['items']>[number] {
  const { variant, product } = json;
  return {
    item: {
      id: json.id,
      orderId: json.orderId,
      variantId: json.variantId,
      warehouseId: json.warehouseId,
      quantity: json.quantity,
      unitPrice: new Decimal(json.unitPrice),
      lineTotal: new Decimal(json.lineTotal),
    },
    variant: {
      ...variant,
      price: new Decimal(variant.price),
      createdAt: new Date(variant.createdAt),
      updatedAt: new Date(variant.updatedAt),
    },
    product: { ...product, createdAt: new Date(product.createdAt), updatedAt: new Date(product.updatedAt) },
  };
}

function toPayment(json: PaymentJson): PaymentRow {
  return {
    ...json,
    amount: new Decimal(json.amount),
    createdAt: new Date(json.createdAt),
    updatedAt: new Date(json.updatedAt),
  };
}

/**
 * The `limit` most recent orders of each customer, with their lines, variants, products and
 * payments when asked for, in ONE statement per (limit, shape): Postgres nests the children as
 * JSON, so an order history is one round trip instead of one per level. Each customer's orders
 * come from its own index scan (`orders(customer_id, created_at DESC)`), stopping at `limit`.
 */
export async function loadRecentOrders(prisma: Prisma, keys: readonly RecentOrdersKey[]): Promise<RecentOrder[][]> {
  const groups = new Map<string, RecentOrdersKey[]>();
  for (const key of keys) {
    const shape = `${key.limit}:${key.items}:${key.payments}`;
    groups.set(shape, [...(groups.get(shape) ?? []), key]);
  }
  const byCustomer = new Map<string, RecentOrder[]>();
  for (const group of groups.values()) {
    const { limit, items, payments } = group[0]!;
    const customerIds = [...new Set(group.map((key) => key.customerId))];
    const records = await prisma.$queryRaw<RecentOrderRecord[]>`
      SELECT o.id, o.number, o.customer_id AS "customerId", o.cart_id AS "cartId", o.status::text AS status,
             o.currency, o.total_amount AS "totalAmount", o.created_at AS "createdAt", o.updated_at AS "updatedAt",
             CASE WHEN ${items}::boolean THEN (
               SELECT coalesce(json_agg(json_build_object(
                        'id', i.id, 'orderId', i.order_id, 'variantId', i.variant_id, 'warehouseId', i.warehouse_id,
                        'quantity', i.quantity, 'unitPrice', i.unit_price::text, 'lineTotal', i.line_total::text,
                        'variant', json_build_object(
                          'id', v.id, 'productId', v.product_id, 'sku', v.sku, 'name', v.name,
                          'price', v.price::text, 'currency', v.currency, 'attributes', v.attributes,
                          'isActive', v.is_active, 'createdAt', v.created_at, 'updatedAt', v.updated_at),
                        'product', json_build_object(
                          'id', p.id, 'sku', p.sku, 'name', p.name, 'description', p.description,
                          'status', p.status, 'createdAt', p.created_at, 'updatedAt', p.updated_at)
                      ) ORDER BY i.id), '[]')
                 FROM order_items i
                 JOIN product_variants v ON v.id = i.variant_id
                 JOIN products p ON p.id = v.product_id
                WHERE i.order_id = o.id) END AS items,
             CASE WHEN ${payments}::boolean THEN (
               SELECT coalesce(json_agg(json_build_object(
                        'id', y.id, 'orderId', y.order_id, 'amount', y.amount::text, 'currency', y.currency,
                        'method', y.method, 'status', y.status, 'reference', y.reference,
                        'createdAt', y.created_at, 'updatedAt', y.updated_at
                      ) ORDER BY y.created_at, y.id), '[]')
                 FROM payments y
                WHERE y.order_id = o.id) END AS payments
        FROM unnest(${customerIds}::uuid[]) AS c(id)
        CROSS JOIN LATERAL (
          SELECT * FROM orders WHERE customer_id = c.id ORDER BY created_at DESC, id LIMIT ${limit}::int
        ) o
       ORDER BY o.created_at DESC, o.id`;
    for (const customerId of customerIds)
      byCustomer.set(recentOrdersCacheKey({ customerId, limit, items, payments }), []);
    for (const record of records) {
      const { items: itemJson, payments: paymentJson, ...order } = record;
      byCustomer.get(recentOrdersCacheKey({ customerId: order.customerId, limit, items, payments }))!.push({
        order,
        items: itemJson?.map(toItem),
        payments: paymentJson?.map(toPayment),
      });
    }
  }
  return keys.map((key) => byCustomer.get(recentOrdersCacheKey(key)) ?? []);
}

import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { AuditLogResolver } from '../modules/audit/index.js';
import { ProductResolver, ProductVariantResolver } from '../modules/catalog/index.js';
import { CustomerResolver } from '../modules/customers/index.js';
import { PermissionResolver, RoleResolver, UserResolver } from '../modules/identity/index.js';
import { StockAdjustmentResolver, StockLevelResolver, WarehouseResolver } from '../modules/inventory/index.js';
import {
  CartItemResolver,
  CartResolver,
  CustomerOrdersResolver,
  OrderItemResolver,
  OrderResolver,
  PaymentResolver,
} from '../modules/sales/index.js';
import { SystemResolver } from '../modules/system/index.js';

// Every module's resolvers, in SDL order. Modules register here through their index.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- type-graphql's resolver class type
const RESOLVERS: NonEmptyArray<Function> = [
  SystemResolver,
  ProductResolver,
  ProductVariantResolver,
  WarehouseResolver,
  StockLevelResolver,
  StockAdjustmentResolver,
  CustomerResolver,
  UserResolver,
  RoleResolver,
  PermissionResolver,
  AuditLogResolver,
  CartResolver,
  CartItemResolver,
  OrderResolver,
  OrderItemResolver,
  PaymentResolver,
  CustomerOrdersResolver,
];

/** Builds the executable schema from the type-graphql classes (no SDL file is read). */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  // Every field takes one @Args class, so class-validator reports all of a request's
  // violations together (REQ 2.1, 2.3) before any resolver or service code runs (PROP 3).
  return buildSchema({
    resolvers: RESOLVERS,
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
}

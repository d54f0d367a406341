import 'reflect-metadata';
import { specifiedDirectives, type GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import {
  applyAuthDirectives,
  authDirective,
  publicDirective,
  sensitiveDirective,
} from './directives/auth.directive.js';
import { cacheControlDirective } from './directives/cache-control.directive.js';
import { rateLimitDirective } from './directives/rate-limit.directive.js';
import { AuditLogResolver } from '../modules/audit/index.js';
import { ProductResolver, ProductVariantResolver } from '../modules/catalog/index.js';
import { CustomerResolver } from '../modules/customers/index.js';
import { AuthResolver, PermissionResolver, RoleResolver, UserResolver } from '../modules/identity/index.js';
import { StockAdjustmentResolver, StockLevelResolver, WarehouseResolver } from '../modules/inventory/index.js';
import {
  CartItemResolver,
  CartResolver,
  CustomerOrdersResolver,
  OrderItemResolver,
  OrderResolver,
  PaymentResolver,
} from '../modules/sales/index.js';
import {
  EmployeeResolver,
  ScheduleJobResolver,
  ScheduleResolver,
  ShiftAssignmentResolver,
  ShiftResolver,
} from '../modules/scheduling/index.js';
import { SystemResolver } from '../modules/system/index.js';

// Every module's resolvers, in SDL order. Modules register here through their index.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- type-graphql's resolver class type
const RESOLVERS: NonEmptyArray<Function> = [
  SystemResolver,
  AuthResolver,
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
  EmployeeResolver,
  ShiftResolver,
  ShiftAssignmentResolver,
  ScheduleJobResolver,
  ScheduleResolver,
];

/** Builds the executable schema from the type-graphql classes (no SDL file is read). */
export async function buildGraphQLSchema(): Promise<GraphQLSchema> {
  // Every field takes one @Args class, so class-validator reports all of a request's
  // violations together (REQ 2.1, 2.3) before any resolver or service code runs (PROP 3).
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    // The built-in directives (@include, @skip, @deprecated…) must be listed too, or they vanish.
    directives: [
      ...specifiedDirectives,
      authDirective,
      publicDirective,
      sensitiveDirective,
      cacheControlDirective,
      rateLimitDirective,
    ],
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
  // Refuses to build when a root field has no access decision; wraps @auth fields.
  return applyAuthDirectives(schema);
}

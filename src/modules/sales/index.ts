export { salesProjections } from './sales.projections.js';
export { createSalesLoaders, type SalesLoaders } from './sales.loaders.js';
export {
  CartItemResolver,
  CartResolver,
  CustomerOrdersResolver,
  OrderItemResolver,
  OrderResolver,
  PaymentResolver,
} from './sales.resolver.js';
export { CART_TRANSITIONS, ORDER_TRANSITIONS, PAYMENT_TRANSITIONS } from './sales.service.js';
export { Order } from './sales.types.js';

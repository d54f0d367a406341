export { createCustomerLoaders, type CustomerLoaders } from './customers.loaders.js';
export { customerProjections } from './customers.projections.js';
export { CustomerResolver } from './customers.resolver.js';
export { Customer } from './customers.types.js';

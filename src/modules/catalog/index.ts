export type { LevelRow, ProductRow, VariantRow, WarehouseRow } from './catalog-page.js';
export { createCatalogLoaders, loaderKeys, type CatalogLoaders } from './catalog.loaders.js';
export { catalogProjections } from './catalog.projections.js';
export { ProductResolver, ProductVariantResolver } from './catalog.resolver.js';
export { Product, ProductVariant } from './catalog.types.js';

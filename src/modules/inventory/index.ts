export { createInventoryLoaders, type InventoryLoaders } from './inventory.loaders.js';
export { StockAdjustmentResolver, StockLevelResolver, WarehouseResolver } from './inventory.resolver.js';
export { applyStockChanges, type StockChange, type StockChangeOptions } from './inventory.service.js';
export { StockLevel, Warehouse } from './inventory.types.js';

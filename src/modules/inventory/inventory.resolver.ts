import { Args, Ctx, Directive, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { NotFoundError } from '../../errors/index.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { loadRequired } from '../../graphql/primed-loader.js';
import { ProductVariant } from '../catalog/index.js';
import {
  AdjustStockArgs,
  CreateWarehouseArgs,
  ListStockAdjustmentsArgs,
  ListStockLevelsArgs,
  WarehouseIdArgs,
} from './inventory.inputs.js';
import {
  adjustStock,
  createWarehouse,
  listStockAdjustments,
  listStockLevels,
  listWarehouses,
} from './inventory.service.js';
import { StockAdjustment, StockAdjustmentPage, StockLevel, StockLevelPage, Warehouse } from './inventory.types.js';

@Resolver(() => Warehouse)
export class WarehouseResolver {
  @Directive('@public')
  @Directive('@cacheControl(maxAge: 30)')
  @Query(() => [Warehouse], { description: 'All warehouses, by code.' })
  warehouses(@Ctx() ctx: GraphQLContext) {
    return listWarehouses(ctx);
  }

  @Directive('@public')
  @Directive('@cacheControl(maxAge: 30)')
  @Query(() => Warehouse, { nullable: true, description: 'A warehouse by id; null when there is none.' })
  warehouse(@Args(() => WarehouseIdArgs) { id }: WarehouseIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.inventory.warehouseById.load(id);
  }

  @Directive('@auth(anyOf: [INVENTORY_WRITE])')
  @Mutation(() => Warehouse, { description: 'Creates a warehouse. CONFLICT when the code is taken.' })
  createWarehouse(@Args(() => CreateWarehouseArgs) { input }: CreateWarehouseArgs, @Ctx() ctx: GraphQLContext) {
    return createWarehouse(ctx, input);
  }
}

async function loadVariant(ctx: GraphQLContext, id: string) {
  const variant = await ctx.loaders.catalog.variantById.load(id);
  if (!variant) throw new NotFoundError('ProductVariant', id);
  return variant;
}

@Resolver(() => StockLevel)
export class StockLevelResolver {
  @Directive('@auth(anyOf: [INVENTORY_READ])')
  @Query(() => StockLevelPage, {
    description: 'Stock levels, filtered (e.g. below a reorder point), sorted and paginated.',
  })
  stockLevels(@Args(() => ListStockLevelsArgs) args: ListStockLevelsArgs, @Ctx() ctx: GraphQLContext) {
    return listStockLevels(ctx, args);
  }

  @Directive('@auth(anyOf: [INVENTORY_WRITE])')
  @Mutation(() => StockLevel, {
    description: 'Changes stock by a signed amount with a reason. INSUFFICIENT_STOCK when it would go below zero.',
  })
  adjustStock(@Args(() => AdjustStockArgs) { input }: AdjustStockArgs, @Ctx() ctx: GraphQLContext) {
    return adjustStock(ctx, input);
  }

  @FieldResolver(() => ProductVariant, { description: 'The variant held.' })
  variant(@Root() level: StockLevel, @Ctx() ctx: GraphQLContext) {
    return loadVariant(ctx, level.variantId);
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse holding it.' })
  warehouse(@Root() level: StockLevel, @Ctx() ctx: GraphQLContext) {
    // At once when the catalog page primed it.
    return loadRequired(ctx.loaders.inventory.warehouseById, level.warehouseId, 'Warehouse');
  }
}

@Resolver(() => StockAdjustment)
export class StockAdjustmentResolver {
  @Directive('@auth(anyOf: [INVENTORY_READ])')
  @Query(() => StockAdjustmentPage, { description: 'The stock ledger: every recorded change, filtered and paginated.' })
  stockAdjustments(@Args(() => ListStockAdjustmentsArgs) args: ListStockAdjustmentsArgs, @Ctx() ctx: GraphQLContext) {
    return listStockAdjustments(ctx, args);
  }

  @FieldResolver(() => ProductVariant, { description: 'The variant whose stock changed.' })
  variant(@Root() adjustment: StockAdjustment, @Ctx() ctx: GraphQLContext) {
    return loadVariant(ctx, adjustment.variantId);
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse where it changed.' })
  warehouse(@Root() adjustment: StockAdjustment, @Ctx() ctx: GraphQLContext) {
    return loadRequired(ctx.loaders.inventory.warehouseById, adjustment.warehouseId, 'Warehouse');
  }
}

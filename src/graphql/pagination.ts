import { ArrayMaxSize, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { ArgsType, Directive, Field, InputType, Int, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import { ValidationError } from '../errors/index.js';

/** REQ 2.5: limit 1..1000, page >= 1. */
export const MAX_PAGE_SIZE = 1000;

export enum SortDirection {
  ASC = 'asc',
  DESC = 'desc',
}
registerEnumType(SortDirection, { name: 'SortDirection', description: 'Ascending or descending order.' });

@Directive('@cacheControl(inheritMaxAge: true)')
@ObjectType({ description: 'Where a page sits in the whole result.' })
export class PageInfo {
  @Field(() => Int, { description: 'The page returned, starting at 1.' })
  page!: number;

  @Field(() => Int, { description: 'Items per page as requested.' })
  limit!: number;

  @Field(() => Int, { description: 'Items matching the filter across all pages.' })
  totalCount!: number;

  @Field(() => Boolean, { description: 'Whether a page after this one has items.' })
  hasNextPage!: boolean;
}

export interface Page<T> {
  items: T[];
  pageInfo: PageInfo;
}

/** Builds the `<Entity>Page` object type for a list query. */
export function PageType<T extends object>(item: ClassType<T>, name: string) {
  @Directive('@cacheControl(inheritMaxAge: true)')
  @ObjectType(name, { description: `One page of ${name.replace(/Page$/, '')} results.` })
  class PageClass {
    @Field(() => [item], { description: 'The items of this page, in the requested order.' })
    items!: T[];

    @Field(() => PageInfo, { description: 'Position of this page in the whole result.' })
    pageInfo!: PageInfo;
  }
  return PageClass;
}

@ArgsType()
export class PaginationArgs {
  @Field(() => Int, { defaultValue: 1, description: 'Page number, starting at 1.' })
  @Min(1, { message: 'page must be at least 1' })
  page: number = 1;

  @Field(() => Int, { defaultValue: 20, description: `Items per page, 1 to ${MAX_PAGE_SIZE}.` })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(MAX_PAGE_SIZE, { message: `limit must be at most ${MAX_PAGE_SIZE}` })
  limit: number = 20;
}

/**
 * Case-insensitive "contains" for text search filters. Prisma passes the text to ILIKE as is,
 * so % and _ typed by a user would be wildcards: escape them.
 */
export function containsText(text: string): { contains: string; mode: 'insensitive' } {
  return { contains: text.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' };
}

/** Most sort keys one list request may give. */
export const MAX_SORT_KEYS = 5;

/**
 * The arguments of every list query: page and limit, an optional filter input and an optional
 * orderBy list of whitelisted sort keys. Each entity's args class extends what this returns.
 */
export function ListArgs<F extends string, Filter extends object>(
  filter: ClassType<Filter>,
  orderBy: ClassType<OrderByEntry<F>>,
  descriptions: { filter: string; orderBy: string },
) {
  @ArgsType()
  class ListArgsClass extends PaginationArgs {
    @Field(() => filter, { nullable: true, description: descriptions.filter })
    @IsOptional()
    @ValidateNested()
    filter?: Filter;

    @Field(() => [orderBy], { nullable: true, description: descriptions.orderBy })
    @IsOptional()
    @ArrayMaxSize(MAX_SORT_KEYS)
    @ValidateNested({ each: true })
    orderBy?: OrderByEntry<F>[];
  }
  return ListArgsClass;
}

export function toPage<T>(items: T[], totalCount: number, args: Pick<PaginationArgs, 'page' | 'limit'>): Page<T> {
  return {
    items,
    pageInfo: { page: args.page, limit: args.limit, totalCount, hasNextPage: args.page * args.limit < totalCount },
  };
}

export function skipTake(args: Pick<PaginationArgs, 'page' | 'limit'>): { skip: number; take: number } {
  return { skip: (args.page - 1) * args.limit, take: args.limit };
}

/** One entry of an `orderBy` list: a whitelisted field and a direction. */
export interface OrderByEntry<F extends string> {
  field: F;
  direction: SortDirection;
}

/** Builds the `<Entity>OrderBy` input for an `<Entity>OrderField` enum. */
export function OrderByInput<F extends string>(fieldEnum: object, name: string) {
  @InputType(name, { description: `A sort key for ${name.replace(/OrderBy$/, '')} lists.` })
  class OrderByClass {
    @Field(() => fieldEnum, { description: 'The field to sort by (a whitelisted column).' })
    field!: F;

    @Field(() => SortDirection, { defaultValue: SortDirection.ASC, description: 'Sort direction.' })
    direction: SortDirection = SortDirection.ASC;
  }
  return OrderByClass;
}

/**
 * REQ 2.2, PROP 4: the only way a sort key reaches the database. `columns` is the one explicit
 * table from enum value to Prisma field for an entity; anything not in it is rejected, so no
 * client string can ever become part of ORDER BY. A unique tiebreaker (the id unless given)
 * is appended so that pages are stable.
 */
export function toPrismaOrderBy<F extends string>(
  orderBy: readonly OrderByEntry<F>[] | undefined,
  columns: Readonly<Record<F, string>>,
  fallback: OrderByEntry<F>,
  /** Appended when no sort key already uses its column, so pages are stable. */
  tiebreaker: Record<string, SortDirection> = { id: SortDirection.ASC },
): Record<string, SortDirection>[] {
  const entries = orderBy && orderBy.length > 0 ? orderBy : [fallback];
  const result = entries.map((entry, index) => {
    const column = Object.hasOwn(columns, entry.field) ? columns[entry.field] : undefined;
    if (column === undefined)
      throw ValidationError.forField(`orderBy.${index}.field`, `cannot sort by "${String(entry.field)}"`);
    if (entry.direction !== SortDirection.ASC && entry.direction !== SortDirection.DESC) {
      throw ValidationError.forField(`orderBy.${index}.direction`, 'direction must be ASC or DESC');
    }
    return { [column]: entry.direction };
  });
  const [tiebreakColumn] = Object.keys(tiebreaker);
  if (!result.some((entry) => tiebreakColumn !== undefined && tiebreakColumn in entry)) result.push(tiebreaker);
  return result;
}

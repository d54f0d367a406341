import type { GraphQLContext } from './context.js';

// What the modules declare for compiled reads (src/graphql/compiled-reads.ts, ADR 0008): how each
// field of a type is read in SQL. Kept apart from the compiler so modules import no plugin code.

/** Binds a value as the statement's next parameter, cast to `type` when given; returns its placeholder. */
export type Bind = (value: unknown, type?: string) => string;
export type FieldArgs = Record<string, unknown>;

/**
 * How a field of a projected type is read in SQL, relative to the alias of its parent's row. A
 * projection must give exactly what the field's resolver gives (test/properties/compiled-reads
 * holds each to it): the same values, serialized as the field's scalar serializes them, in the
 * same order.
 */
export type FieldProjection =
  | {
      kind: 'value';
      /** A scalar or enum: an SQL expression whose JSON is the field's serialized value. */
      sql: (row: string, bind: Bind) => string;
    }
  | {
      kind: 'object';
      /** The one row of the field's type: `FROM table alias WHERE alias.id = row.fk`. Only for a key that cannot dangle (a foreign key). */
      from: (row: string, alias: string, bind: Bind) => string;
    }
  | {
      kind: 'list';
      /**
       * The variant whose stock the field shows, as SQL over the parent's row: the answer then depends
       * on that variant's stock (ADR 0007), as the resolver records in the request's CacheDependencies.
       */
      stockOf?: (row: string) => string;
      /** The rows of the field's type: `FROM … alias WHERE …` (a derived table `alias` when limited). */
      from: (row: string, alias: string, args: FieldArgs, bind: Bind) => string;
      /** The resolver's order, as SQL over `alias`, with a unique key last. */
      orderBy: (alias: string) => string;
      /** The argument class whose validation the resolver runs (class-validator); invalid → executed. */
      args?: new () => object;
    };

/**
 * What a root field reads: `from`, the row it answers with (`FROM table alias WHERE …`, at most one
 * row; '' for exactly one row of no table, as a page is), and `types`, projections that hold this
 * call's arguments (a page's items and counts), for the types below it: types of its own, which
 * no module projects (they replace, not extend, a module's type of the same name).
 */
export interface RootRead {
  from: string;
  types?: Record<string, Record<string, FieldProjection>>;
}

/** A root query field: what it reads, or null where the resolver answers null. */
export interface RootProjection {
  /** The argument class whose validation the resolver runs (class-validator); invalid → executed. */
  args?: new () => object;
  read: (alias: string, args: FieldArgs, bind: Bind, context: GraphQLContext) => RootRead | null;
}

export interface Projections {
  /** Per GraphQL object type, the fields that have a projection. */
  types: Record<string, Record<string, FieldProjection>>;
  /** Per Query field. */
  roots: Record<string, RootProjection>;
}

/** A column read as is: text, numbers, booleans, UUIDs, enums and JSON serialize as Postgres writes them. */
export const column = (name: string): FieldProjection => ({ kind: 'value', sql: (row) => `${row}.${name}` });
/** Money (numeric(14,2)): its text has the two decimals the Money scalar writes; never a float. */
export const money = (name: string): FieldProjection => ({ kind: 'value', sql: (row) => `${row}.${name}::text` });
/** A timestamptz(3) as `Date.prototype.toISOString` writes it (the DateTime scalar). */
export const timestamp = (name: string): FieldProjection => ({
  kind: 'value',
  sql: (row) => `to_char(${row}.${name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
});
/** A bigint as a decimal string (beyond 2^53, JSON numbers lose digits). */
export const bigintText = (name: string): FieldProjection => ({
  kind: 'value',
  sql: (row) => `${row}.${name}::text`,
});

/** The row a foreign key of the parent names; only for a key the database keeps from dangling. */
export const referenced = (table: string, foreignKey: string): FieldProjection => ({
  kind: 'object',
  from: (row, alias) => `FROM ${table} ${alias} WHERE ${alias}.id = ${row}.${foreignKey}`,
});

/** The rows whose foreign key names the parent, in `orderBy` (columns with directions, a unique key last). */
export const referencing = (
  table: string,
  foreignKey: string,
  orderBy: string[],
): Extract<FieldProjection, { kind: 'list' }> => ({
  kind: 'list',
  from: (row, alias) => `FROM ${table} ${alias} WHERE ${alias}.${foreignKey} = ${row}.id`,
  orderBy: (alias) => orderBy.map((key) => `${alias}.${key}`).join(', '),
});

/** A value the field's projection computes from its parent's row (or from nothing). */
export const computed = (sql: (row: string, bind: Bind) => string): FieldProjection => ({ kind: 'value', sql });

/** A SQL fragment built with Prisma's `sql` tag, its values bound as the statement's parameters. */
export function embed(fragment: { strings: readonly string[]; values: readonly unknown[] }, bind: Bind): string {
  return fragment.values.reduce<string>(
    (text, value, i) => `${text}${bind(value)}${fragment.strings[i + 1]}`,
    fragment.strings[0] ?? '',
  );
}

/** The projections of several modules as one; a type's fields may come from more than one. */
export function mergeProjections(...parts: Projections[]): Projections {
  const merged: Projections = { types: {}, roots: {} };
  for (const part of parts) {
    for (const [type, fields] of Object.entries(part.types)) merged.types[type] = { ...merged.types[type], ...fields };
    Object.assign(merged.roots, part.roots);
  }
  return merged;
}

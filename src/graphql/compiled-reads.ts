import { getDirective } from '@graphql-tools/utils';
import { validateSync, type ValidatorOptions } from 'class-validator';
import { getMetadataStorage } from 'type-graphql';
import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { PermissionKey } from '../modules/identity/index.js';
import type { GraphQLContext } from './context.js';
import { assertAuthorized } from './directives/auth.directive.js';
import type { Bind, FieldArgs, Projections } from './projections.js';

// Compiled reads (ADR 0008): a query whose every selected field has a projection is answered by ONE
// statement that builds the response's `data` as JSON in Postgres, so no resolver, loader, Prisma
// mapping or graphql-js result tree runs. Anything else executes as before, field by field. The
// plugin that answers with it is src/graphql/plugins/compiled-reads.plugin.ts.

/** Why a query is executed instead: a field without a projection, a guarded field, a failed check. */
class NotCompilable extends Error {}

interface FieldGuard {
  auth?: readonly PermissionKey[] | true;
  /** @sensitive (audited per read) or @rateLimit (counted per call): only their resolvers do that. */
  resolverOnly: boolean;
}

/** Postgres takes at most 100 arguments per call: 50 key/value pairs per json_build_object. */
const MAX_FIELDS_PER_OBJECT = 50;
/** As type-graphql's `validateArg` runs class-validator (with the schema's `validate` settings). */
const VALIDATOR_OPTIONS: ValidatorOptions = { forbidUnknownValues: false, skipMissingProperties: true };

/** The key under which a variant's JSON carries its id when its stock is shown (not a GraphQL name). */
export const STOCK_OF_KEY = '$stockOf';

/** A response path: response keys, and `*` for every item of a list. */
export type ResponsePath = readonly string[];

export interface CompiledRead {
  sql: string;
  values: unknown[];
  /** `Query.<field>` of each root field, for the resolver-duration metric. */
  rootFields: string[];
  /** Where the answer's objects carry STOCK_OF_KEY (the variants whose stock it shows). */
  stockOf: ResponsePath[];
}

/** A compiled read, or why the query is left to execution. */
export type Compilation = { read: CompiledRead } | { reason: string };

/**
 * Takes STOCK_OF_KEY out of the objects at `paths` of a parsed answer and returns the variant ids
 * it held. Only there: the same key elsewhere (inside a variant's free-form `attributes`) is data.
 */
export function takeStockOf(data: unknown, paths: readonly ResponsePath[]): string[] {
  const ids: string[] = [];
  const visit = (node: unknown, path: ResponsePath, at: number): void => {
    if (node === null || typeof node !== 'object') return;
    if (at === path.length) {
      const object = node as Record<string, unknown>;
      const id = object[STOCK_OF_KEY];
      if (typeof id === 'string') ids.push(id);
      delete object[STOCK_OF_KEY];
      return;
    }
    const key = path[at]!;
    if (key === '*') for (const item of node as unknown[]) visit(item, path, at + 1);
    else visit((node as Record<string, unknown>)[key], path, at + 1);
  };
  for (const path of paths) visit(data, path, 0);
  return ids;
}

/**
 * A compiler for `schema` and `projections`: the statement answering a query, or why some part of
 * it must execute (no projection, a check its resolver makes would refuse it, an argument the
 * resolver would reject). The executed path then answers, with its errors.
 */
export function createReadCompiler(schema: GraphQLSchema, projections: Projections) {
  const guards = fieldGuards(schema);
  // Input objects become instances of their type-graphql classes, so that nested rules apply.
  const inputClasses = new Map(getMetadataStorage().inputTypes.map((input) => [input.name, input.target]));
  const asInstances = (type: GraphQLInputType, value: unknown): unknown => {
    if (value === null || value === undefined) return value;
    const nullable = getNullableType(type);
    if (isListType(nullable)) return (value as unknown[]).map((item) => asInstances(nullable.ofType, item));
    if (!isInputObjectType(nullable)) return value;
    const fields = nullable.getFields();
    const Target = inputClasses.get(nullable.name) as (new () => object) | undefined;
    if (!Target) throw new NotCompilable(`input ${nullable.name} has no class`);
    const instance = new Target();
    for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
      Object.assign(instance, { [name]: asInstances(fields[name]!.type, item) });
    }
    return instance;
  };

  return function compile(
    operation: OperationDefinitionNode,
    fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    variables: Record<string, unknown>,
    context: GraphQLContext,
  ): Compilation {
    const values: unknown[] = [];
    const bind: Bind = (value, type) => {
      values.push(value);
      return type ? `$${values.length}::${type}` : `$${values.length}`;
    };
    let aliases = 0;
    const nextAlias = () => `r${(aliases += 1)}`;
    const stockOf: ResponsePath[] = [];

    const included = (node: FieldNode): boolean => {
      if (!node.directives?.length) return true;
      if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
      return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
    };

    // graphql-js's collectFields for an object type: response names in first-seen order, each with
    // every node that shares it; fragments on other types are not projected.
    const collect = (
      type: GraphQLObjectType,
      sets: readonly (SelectionSetNode | undefined)[],
      into = new Map<string, FieldNode[]>(),
      visited = new Set<string>(),
    ): Map<string, FieldNode[]> => {
      for (const set of sets) {
        for (const selection of set?.selections ?? []) {
          if (!included(selection as FieldNode)) continue;
          if (selection.kind === Kind.FIELD) {
            const key = selection.alias?.value ?? selection.name.value;
            const nodes = into.get(key);
            if (nodes) nodes.push(selection);
            else into.set(key, [selection]);
            continue;
          }
          const condition = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
          if (selection.kind === Kind.FRAGMENT_SPREAD) {
            if (visited.has(selection.name.value)) continue;
            visited.add(selection.name.value);
          }
          if (!condition) throw new NotCompilable('unknown fragment');
          if (condition.typeCondition && condition.typeCondition.name.value !== type.name) {
            throw new NotCompilable(`fragment on ${condition.typeCondition.name.value}`);
          }
          collect(type, [condition.selectionSet], into, visited);
        }
      }
      return into;
    };

    const checkField = (type: GraphQLObjectType, field: GraphQLField<unknown, unknown>): void => {
      const guard = guards(field);
      if (guard.resolverOnly) throw new NotCompilable(`${type.name}.${field.name} runs in its resolver only`);
      if (guard.auth) {
        try {
          assertAuthorized(context.actor, guard.auth === true ? undefined : guard.auth);
        } catch {
          throw new NotCompilable(`${type.name}.${field.name} refused`);
        }
      }
    };

    const argumentsOf = (
      field: GraphQLField<unknown, unknown>,
      node: FieldNode,
      argsClass: (new () => object) | undefined,
    ): FieldArgs => {
      if (field.args.length === 0) return {};
      if (!argsClass) throw new NotCompilable(`${field.name} takes arguments`);
      const args = getArgumentValues(field, node, variables);
      const instance = new argsClass();
      for (const arg of field.args) {
        if (arg.name in args) Object.assign(instance, { [arg.name]: asInstances(arg.type, args[arg.name]) });
      }
      if (validateSync(instance, VALIDATOR_OPTIONS).length > 0)
        throw new NotCompilable(`${field.name}: invalid arguments`);
      return instance as FieldArgs;
    };

    const objectType = (field: GraphQLField<unknown, unknown>): GraphQLObjectType => {
      const named = getNamedType(field.type);
      if (!isObjectType(named)) throw new NotCompilable(`${field.name} is not of an object type`);
      return named;
    };

    const objectSql = (
      types: Projections['types'],
      type: GraphQLObjectType,
      fields: Map<string, FieldNode[]>,
      row: string,
      path: ResponsePath,
    ): string => {
      const projected = types[type.name];
      if (!projected) throw new NotCompilable(`type ${type.name}`);
      // One more pair for the stock dependency a field may add.
      if (fields.size + 1 > MAX_FIELDS_PER_OBJECT) throw new NotCompilable(`${fields.size} fields of ${type.name}`);
      const parts: string[] = [];
      let shownStockOf: string | undefined;
      for (const [key, nodes] of fields) {
        const node = nodes[0]!;
        const name = node.name.value;
        if (name === '__typename') {
          parts.push(`'${key}', '${type.name}'`);
          continue;
        }
        const field = type.getFields()[name];
        const projection = projected[name];
        if (!field || !projection) throw new NotCompilable(`${type.name}.${name}`);
        checkField(type, field);
        const args = argumentsOf(field, node, projection.kind === 'list' ? projection.args : undefined);
        if (projection.kind === 'value') {
          parts.push(`'${key}', ${projection.sql(row, bind)}`);
          continue;
        }
        const childType = objectType(field);
        const child = collect(
          childType,
          nodes.map((n) => n.selectionSet),
        );
        const alias = nextAlias();
        const childPath = projection.kind === 'list' ? [...path, key, '*'] : [...path, key];
        const body = objectSql(types, childType, child, alias, childPath);
        if (projection.kind === 'list' && projection.stockOf) shownStockOf = projection.stockOf(row);
        parts.push(
          projection.kind === 'object'
            ? `'${key}', (SELECT ${body} ${projection.from(row, alias, bind)})`
            : `'${key}', (SELECT coalesce(json_agg(${body} ORDER BY ${projection.orderBy(alias)}), '[]') ${projection.from(row, alias, args, bind)})`,
        );
      }
      // Not a GraphQL name, so never a response key; the plugin takes it out at exactly this path.
      if (shownStockOf) {
        parts.push(`'${STOCK_OF_KEY}', ${shownStockOf}`);
        stockOf.push(path);
      }
      return `json_build_object(${parts.join(', ')})`;
    };

    try {
      if (operation.operation !== 'query') return { reason: operation.operation };
      const queryType = schema.getQueryType()!;
      const roots = collect(queryType, [operation.selectionSet]);
      if (roots.size > MAX_FIELDS_PER_OBJECT) return { reason: `${roots.size} root fields` };
      const parts: string[] = [];
      const rootFields: string[] = [];
      for (const [key, nodes] of roots) {
        const node = nodes[0]!;
        const name = node.name.value;
        if (name === '__typename') {
          parts.push(`'${key}', '${queryType.name}'`);
          continue;
        }
        const field = queryType.getFields()[name];
        const root = projections.roots[name];
        if (!field || !root || isListType(getNullableType(field.type))) return { reason: `Query.${name}` };
        checkField(queryType, field);
        const type = objectType(field);
        const alias = nextAlias();
        const read = root.read(alias, argumentsOf(field, node, root.args), bind, context);
        // A non-null root has no null to answer with when a row may be missing: the resolver's error.
        if (isNonNullType(field.type) && read?.from !== '') return { reason: `Query.${name} may be missing` };
        if (read === null) {
          parts.push(`'${key}', NULL`);
        } else {
          // The call's own types (a page and its counts) are not among the modules' types.
          const types = read.types ? { ...projections.types, ...read.types } : projections.types;
          const fields = collect(
            type,
            nodes.map((n) => n.selectionSet),
          );
          parts.push(`'${key}', (SELECT ${objectSql(types, type, fields, alias, [key])} ${read.from})`);
        }
        rootFields.push(`${queryType.name}.${name}`);
      }
      return { read: { sql: `SELECT json_build_object(${parts.join(', ')})::text`, values, rootFields, stockOf } };
    } catch (error) {
      // Also graphql-js's own errors (a null variable where its argument is non-null): execution
      // reports them in its usual shape.
      return { reason: error instanceof Error ? error.message : String(error) };
    }
  };
}

export type ReadCompiler = ReturnType<typeof createReadCompiler>;

/** Each field's directives that decide whether a projection may answer for it, read once. */
function fieldGuards(schema: GraphQLSchema) {
  const known = new Map<GraphQLField<unknown, unknown>, FieldGuard>();
  return (field: GraphQLField<unknown, unknown>): FieldGuard => {
    let guard = known.get(field);
    if (!guard) {
      const auth = getDirective(schema, field, 'auth')?.[0] as { anyOf?: PermissionKey[] } | undefined;
      guard = {
        auth: auth ? (auth.anyOf ?? true) : undefined,
        resolverOnly: Boolean(
          getDirective(schema, field, 'sensitive')?.[0] || getDirective(schema, field, 'rateLimit')?.[0],
        ),
      };
      known.set(field, guard);
    }
    return guard;
  };
}

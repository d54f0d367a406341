import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { getDirective } from '@graphql-tools/utils';
import { validateSync } from 'class-validator';
import { getMetadataStorage } from 'type-graphql';
import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getVariableValues,
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
import type { Metrics } from '../observability/metrics.js';
import type { Database } from '../platform/db/index.js';
import type { PermissionKey } from '../modules/identity/index.js';
import { assertAuthorized } from './directives/auth.directive.js';
import type { GraphQLContext } from './context.js';
import { mergeProjections, type Bind, type FieldArgs, type Projections } from './projections.js';
import { applyOperationPolicy, type OperationPolicies } from './plugins/cache-policy.plugin.js';

// Compiled reads (ADR 0008): a query whose every selected field has a projection is answered by ONE
// statement that builds the response's `data` as JSON in Postgres, so no resolver, loader, Prisma
// mapping or graphql-js result tree runs. Anything else executes as before, field by field.

/** Why an operation is executed instead: a field without a projection, a guarded field, a failed check. */
class NotCompilable extends Error {}

interface FieldGuard {
  auth?: readonly PermissionKey[] | true;
  /** @sensitive (audited per read) or @rateLimit (counted per call): only their resolvers do that. */
  resolverOnly: boolean;
}

/** Postgres takes at most 100 arguments per call: 50 key/value pairs per json_build_object. */
const MAX_FIELDS_PER_OBJECT = 50;
/** Statements prepared per connection, at most (the first ones seen; the rest run unnamed). */
const MAX_NAMED_STATEMENTS = 256;

export interface CompiledRead {
  sql: string;
  values: unknown[];
  /** `Query.<field>` of each root field, for the resolver-duration metric. */
  rootFields: string[];
  /** The answer carries the variants whose stock it shows, under STOCK_OF_KEY. */
  recordsStock: boolean;
}

/** The key under which a variant's JSON carries its id when its stock is shown (not a GraphQL name). */
export const STOCK_OF_KEY = '$stockOf';

const inputClasses = new Map(getMetadataStorage().inputTypes.map((input) => [input.name, input.target]));

/** An argument value with its input objects as instances of their type-graphql classes. */
function asInstances(type: GraphQLInputType, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const nullable = getNullableType(type);
  if (isListType(nullable)) return (value as unknown[]).map((item) => asInstances(nullable.ofType, item));
  if (!isInputObjectType(nullable)) return value;
  const fields = nullable.getFields();
  const Target = inputClasses.get(nullable.name) as (new () => object) | undefined;
  const converted = Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([name, item]) => [
      name,
      asInstances(fields[name]!.type, item),
    ]),
  );
  return Target ? Object.assign(new Target(), converted) : converted;
}

/**
 * The statement answering `operation`, or undefined when some part of it has no projection or a
 * check its resolver makes would refuse it (the executed path then answers, with its errors).
 */
export function compileRead(
  schema: GraphQLSchema,
  projections: Projections,
  guards: (field: GraphQLField<unknown, unknown>) => FieldGuard,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  context: GraphQLContext,
): CompiledRead | undefined {
  const values: unknown[] = [];
  let aliases = 0;
  const bind: Bind = (value, type) => {
    values.push(value);
    return type ? `$${values.length}::${type}` : `$${values.length}`;
  };
  let recordsStock = false;
  const nextAlias = () => `r${(aliases += 1)}`;

  const included = (node: { directives?: readonly unknown[] }): boolean => {
    if (!node.directives?.length) return true;
    const skip = getDirectiveValues(GraphQLSkipDirective, node as FieldNode, variables);
    if (skip?.if === true) return false;
    const include = getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, variables);
    return include?.if !== false;
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
        if (!included(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          const key = selection.alias?.value ?? selection.name.value;
          const nodes = into.get(key);
          if (nodes) nodes.push(selection);
          else into.set(key, [selection]);
          continue;
        }
        const condition = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value];
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
    // As type-graphql validates them: input objects as instances of their classes, so nested rules apply.
    const args = getArgumentValues(field, node, variables);
    const instance = new argsClass();
    for (const arg of field.args) {
      if (arg.name in args) Object.assign(instance, { [arg.name]: asInstances(arg.type, args[arg.name]) });
    }
    const errors = validateSync(instance, { forbidUnknownValues: false });
    if (errors.length > 0) throw new NotCompilable(`${field.name}: invalid arguments`);
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
  ): string => {
    const projected = types[type.name];
    if (!projected) throw new NotCompilable(`type ${type.name}`);
    // One more pair for the stock dependency a field may add.
    if (fields.size + 1 > MAX_FIELDS_PER_OBJECT) throw new NotCompilable(`${fields.size} fields of ${type.name}`);
    const parts: string[] = [];
    let stockOf: string | undefined;
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
        parts.push(`'${key}', ${projection.sql(row)}`);
        continue;
      }
      const childType = objectType(field);
      const child = collect(
        childType,
        nodes.map((n) => n.selectionSet),
      );
      const alias = nextAlias();
      const body = objectSql(types, childType, child, alias);
      if (projection.kind === 'list' && projection.stockOf) stockOf = projection.stockOf(row);
      parts.push(
        projection.kind === 'object'
          ? `'${key}', (SELECT ${body} ${projection.from(row, alias)})`
          : `'${key}', (SELECT coalesce(json_agg(${body} ORDER BY ${projection.orderBy(alias)}), '[]') ${projection.from(row, alias, args, bind)})`,
      );
    }
    // Not a GraphQL name, so never a response key: the plugin takes it out of the answer.
    if (stockOf) {
      parts.push(`'${STOCK_OF_KEY}', ${stockOf}`);
      recordsStock = true;
    }
    return `json_build_object(${parts.join(', ')})`;
  };

  try {
    if (operation.operation !== 'query') return undefined;
    const queryType = schema.getQueryType()!;
    const roots = collect(queryType, [operation.selectionSet]);
    if (roots.size > MAX_FIELDS_PER_OBJECT) return undefined;
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
      if (!field || !root || isListType(getNullableType(field.type))) return undefined;
      checkField(queryType, field);
      const args = argumentsOf(field, node, root.args);
      const type = objectType(field);
      const alias = nextAlias();
      const read = root.read(alias, args, bind, context);
      // A non-null root has no null to answer with when a row may be missing: the resolver's error.
      if (isNonNullType(field.type) && read?.from !== '') return undefined;
      if (read === null) {
        parts.push(`'${key}', NULL`);
      } else {
        const types = read.types
          ? mergeProjections({ types: projections.types, roots: {} }, { types: read.types, roots: {} }).types
          : projections.types;
        const fields = collect(
          type,
          nodes.map((n) => n.selectionSet),
        );
        parts.push(`'${key}', (SELECT ${objectSql(types, type, fields, alias)} ${read.from})`);
      }
      rootFields.push(`${queryType.name}.${name}`);
    }
    return { sql: `SELECT json_build_object(${parts.join(', ')})::text`, values, rootFields, recordsStock };
  } catch (error) {
    if (error instanceof NotCompilable) return undefined;
    throw error;
  }
}

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

export interface CompiledReadsOptions {
  schema: GraphQLSchema;
  projections: Projections;
  database: Pick<Database, 'readText'>;
  policyOf: OperationPolicies;
  metrics: Pick<Metrics, 'graphql'>;
  /** Read per request (a configuration reload may turn compiled reads off). */
  enabled: () => boolean;
}

/**
 * Answers the queries `compileRead` can compile before Apollo executes them (its
 * `responseForOperation` hook, after the response cache's): the operation limits, rate limits and
 * budgets have run by then. A statement that fails leaves the operation to the executed path,
 * which reports the failure as it always does.
 */
export function createCompiledReadsPlugin(options: CompiledReadsOptions): ApolloServerPlugin<GraphQLContext> {
  const guards = fieldGuards(options.schema);
  const names = new Map<string, string>();
  const statementName = (sql: string): string | undefined => {
    let name = names.get(sql);
    if (!name && names.size < MAX_NAMED_STATEMENTS) {
      name = `read_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      names.set(sql, name);
    }
    return name;
  };
  const { compiledReads, rootFields } = options.metrics.graphql;
  return {
    async requestDidStart() {
      return {
        async responseForOperation(requestContext) {
          const { operation, document, contextValue, request } = requestContext;
          if (!options.enabled() || operation.operation !== 'query') return null;
          const coerced = getVariableValues(
            options.schema,
            operation.variableDefinitions ?? [],
            request.variables ?? {},
          );
          if (coerced.errors) return null;
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
          }
          const read = compileRead(
            options.schema,
            options.projections,
            guards,
            operation,
            fragments,
            coerced.coerced,
            contextValue,
          );
          if (!read) {
            compiledReads.inc({ result: 'executed' });
            return null;
          }
          const started = performance.now();
          let text: string | null;
          try {
            text = await options.database.readText(read.sql, read.values, statementName(read.sql));
          } catch (error) {
            contextValue.logger.warn('compiled read failed; executing the operation instead', { error });
            compiledReads.inc({ result: 'failed' });
            return null;
          }
          const seconds = (performance.now() - started) / 1000;
          for (const field of read.rootFields) rootFields.observe({ field }, seconds);
          compiledReads.inc({ result: 'answered' });
          applyOperationPolicy(options.policyOf, requestContext);
          // What a cached-read lane keeps this answer by (ADR 0007): it was read now, showing this stock.
          const deps = contextValue.cacheDeps;
          if (deps) deps.executed = true;
          const data = read.recordsStock
            ? (JSON.parse(text ?? 'null', (key, value: unknown) => {
                if (key !== STOCK_OF_KEY) return value;
                deps?.stockOf(value as string);
                return undefined;
              }) as Record<string, unknown>)
            : (JSON.parse(text ?? 'null') as Record<string, unknown>);
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { data } },
          };
        },
      };
    },
  };
}

import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { ErrorCode } from '../errors/index.js';
import type { GraphQLContext } from './context.js';

export interface OperationLimits {
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  documentBytes: number;
  cost: number;
}

export type LimitName = keyof OperationLimits;

/** Items a list field is assumed to return when no `limit` argument says otherwise. */
const DEFAULT_LIST_SIZE = 10;

export interface OperationMeasure {
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  cost: number;
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

function intValue(node: ValueNode | undefined, variables: Record<string, unknown>): number | undefined {
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) {
    const value = variables[node.name.value];
    return typeof value === 'number' ? value : undefined;
  }
  return undefined;
}

/**
 * Measures an operation with every fragment expanded where it is used, so that spreading,
 * inlining or renaming (even `__schema`-like names) cannot hide depth, aliases or cost, and
 * introspection fields count like any other. Cycles are cut (NoFragmentCyclesRule reports them).
 */
export function measureOperation(
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  rootType: GraphQLNamedType | undefined | null,
  schemaType: (name: string) => GraphQLNamedType | undefined,
  variables: Record<string, unknown> = {},
  stopAtDepth = Number.POSITIVE_INFINITY,
): OperationMeasure {
  const measure: OperationMeasure = {
    depth: 0,
    aliases: 0,
    rootFields: 0,
    directives: operation.directives?.length ?? 0,
    cost: 0,
  };

  /** Where the traversal is: field depth, items multiplier, fragments on the path, fragment nesting, page size to carry. */
  interface Position {
    parent: GraphQLNamedType | undefined | null;
    depth: number;
    multiplier: number;
    inFragments: ReadonlySet<string>;
    nesting: number;
    carry: number | undefined;
  }

  function walk(selectionSet: SelectionSetNode, at: Position): void {
    // Deeply nested inline fragments add no field depth, but are work all the same: past a
    // bound they count as too deep.
    if (at.nesting > stopAtDepth * 3) {
      measure.depth = Math.max(measure.depth, stopAtDepth + 1);
      return;
    }
    if (at.depth > stopAtDepth) {
      measure.depth = Math.max(measure.depth, at.depth);
      return;
    }
    for (const selection of selectionSet.selections) {
      measure.directives += selection.directives?.length ?? 0;
      if (selection.kind === Kind.FIELD) {
        visitField(selection, at);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const parent = selection.typeCondition ? schemaType(selection.typeCondition.name.value) : at.parent;
        walk(selection.selectionSet, { ...at, parent, nesting: at.nesting + 1 });
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || at.inFragments.has(name)) continue;
        measure.directives += fragment.directives?.length ?? 0;
        walk(fragment.selectionSet, {
          ...at,
          parent: schemaType(fragment.typeCondition.name.value),
          inFragments: new Set([...at.inFragments, name]),
          nesting: at.nesting + 1,
        });
      }
    }
  }

  function visitField(field: FieldNode, at: Position): void {
    if (at.depth === 0) measure.rootFields += 1;
    if (field.alias) measure.aliases += 1;
    const depth = at.depth + 1;
    measure.depth = Math.max(measure.depth, depth);
    measure.cost += at.multiplier;
    if (!field.selectionSet) return;
    const definition = at.parent && isObjectType(at.parent) ? at.parent.getFields()[field.name.value] : undefined;
    const limitArg = intValue(field.arguments?.find((a) => a.name.value === 'limit')?.value, variables);
    const list = definition ? isList(definition.type) : false;
    const parent = definition ? getNamedType(definition.type) : undefined;
    if (!list && limitArg !== undefined) {
      // A page object (`products(limit: 50) { items … }`): its list child holds `limit` items.
      walk(field.selectionSet, { ...at, parent, depth, carry: limitArg });
      return;
    }
    const size = list ? (limitArg ?? at.carry ?? DEFAULT_LIST_SIZE) : 1;
    walk(field.selectionSet, { ...at, parent, depth, multiplier: at.multiplier * Math.max(1, size), carry: undefined });
  }

  walk(operation.selectionSet, {
    parent: rootType,
    depth: 0,
    multiplier: 1,
    inFragments: new Set(),
    nesting: 0,
    carry: undefined,
  });
  return measure;
}

export function limitError(limit: LimitName | 'tokens', max: number, measured: number): GraphQLError {
  return new GraphQLError(`The operation exceeds the ${limit} limit: ${measured} > ${max}.`, {
    extensions: { code: ErrorCode.OPERATION_LIMIT_EXCEEDED, limit, max, measured },
  });
}

/**
 * Enforces the operation limits per request, once the operation is known and before it runs
 * (depth, aliases, root fields, directives, document size, static cost). Per request rather
 * than as a validation rule: Apollo caches validation per document, and the cost depends on the
 * variables (`limit: $n`). Token counts are bounded earlier, by the parser (`parseOptions.maxTokens`).
 */
export function createOperationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation, schema, contextValue }) {
          const bytes = Buffer.byteLength(request.query ?? document.loc?.source.body ?? '', 'utf8');
          if (bytes > limits.documentBytes) throw withStatus(limitError('documentBytes', limits.documentBytes, bytes));
          if (!operation) return;
          const fragments = new Map(
            document.definitions
              .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
              .map((d) => [d.name.value, d]),
          );
          const root =
            operation.operation === 'mutation'
              ? schema.getMutationType()
              : operation.operation === 'subscription'
                ? schema.getSubscriptionType()
                : schema.getQueryType();
          const measured = measureOperation(
            operation,
            fragments,
            root,
            (name) => schema.getType(name) ?? undefined,
            request.variables ?? {},
            limits.depth,
          );
          for (const limit of ['depth', 'aliases', 'rootFields', 'directives', 'cost'] as const) {
            if (measured[limit] > limits[limit]) throw withStatus(limitError(limit, limits[limit], measured[limit]));
          }
          contextValue.operationCost = measured.cost;
        },
      };
    },
  };
}

function withStatus(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
}

import type { ApolloServerPlugin, BaseContext, GraphQLRequestContextExecutionDidStart } from '@apollo/server';
import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

type Scope = 'PUBLIC' | 'PRIVATE';
interface Hint {
  maxAge?: number;
  scope?: Scope;
  inheritMaxAge?: boolean;
}

/** `@cacheControl(maxAge, scope, inheritMaxAge)` of a type or field, read as Apollo Server reads it. */
function annotationOf(directives: readonly ConstDirectiveNode[] | undefined): Hint | undefined {
  const directive = directives?.find((d) => d.name.value === 'cacheControl');
  if (!directive?.arguments) return undefined;
  const argument = (name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
  const scopeValue = argument('scope');
  const scopeName = scopeValue?.kind === Kind.ENUM ? scopeValue.value : undefined;
  const scope = scopeName === 'PUBLIC' || scopeName === 'PRIVATE' ? scopeName : undefined;
  const inherit = argument('inheritMaxAge');
  if (inherit?.kind === Kind.BOOLEAN && inherit.value) return { inheritMaxAge: true, scope };
  const maxAge = argument('maxAge');
  return { maxAge: maxAge?.kind === Kind.INT ? parseInt(maxAge.value, 10) : undefined, scope };
}

function typeAnnotation(type: GraphQLNamedType): Hint {
  for (const node of [type.astNode, ...(type.extensionASTNodes ?? [])]) {
    const hint = annotationOf(node?.directives);
    if (hint) return hint;
  }
  return {};
}

/** Overwrites what `hint` sets (Apollo's CachePolicy.replace). */
function replace(into: Hint, hint: Hint): void {
  if (hint.maxAge !== undefined) into.maxAge = hint.maxAge;
  if (hint.scope !== undefined) into.scope = hint.scope;
}

/** Narrows `into` by `hint`: the shorter max-age, and PRIVATE over PUBLIC. */
function restrict(into: Hint, hint: Hint): void {
  if (hint.maxAge !== undefined && (into.maxAge === undefined || hint.maxAge < into.maxAge)) into.maxAge = hint.maxAge;
  if (hint.scope !== undefined && into.scope !== 'PRIVATE') into.scope = hint.scope;
}

/**
 * The cache policy of an operation, computed once from its document and the schema's
 * `@cacheControl` hints by the rules of Apollo Server's cache-control plugin (a field's hint, else
 * its type's; `inheritMaxAge` takes the parent's; a root field or a composite field without a hint
 * is uncacheable). Apollo computes the same per resolved field at run time, which made every field
 * of every operation pay for its instrumentation (issue 7: about a fifth of an order history's
 * allocations). Statically every selected field counts, also those a null or an empty list left
 * unresolved, and both branches of `@skip`/`@include`: the policy is never looser than Apollo's.
 * No resolver sets dynamic hints (`info.cacheControl` is not available).
 */
export function operationCachePolicy(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): Hint {
  const operation = getOperationAST(document, operationName);
  const overall: Hint = {};
  if (!operation) return overall;
  const root = schema.getRootType(operation.operation);
  if (!root) return overall;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }

  const applies = (condition: string | undefined, type: GraphQLObjectType) => {
    if (condition === undefined || condition === type.name) return true;
    const conditionType = schema.getType(condition);
    return conditionType !== undefined && isAbstractType(conditionType) && schema.isSubType(conditionType, type);
  };
  function* fieldsOf(type: GraphQLObjectType, selectionSet: SelectionSetNode): Generator<FieldNode> {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) yield selection;
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value, type)) yield* fieldsOf(type, selection.selectionSet);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment && applies(fragment.typeCondition.name.value, type)) yield* fieldsOf(type, fragment.selectionSet);
      }
    }
  }
  function visit(type: GraphQLObjectType, selectionSet: SelectionSetNode, isRoot: boolean): void {
    for (const node of fieldsOf(type, selectionSet)) {
      // Meta fields (__typename, introspection) are not hinted, as in Apollo.
      if (node.name.value.startsWith('__')) continue;
      const field: GraphQLField<unknown, unknown> | undefined = type.getFields()[node.name.value];
      if (!field) continue;
      const target = getNamedType(field.type);
      const composite = isCompositeType(target);
      const policy: Hint = {};
      let inheritMaxAge = false;
      if (composite) {
        const fromType = typeAnnotation(target);
        replace(policy, fromType);
        inheritMaxAge = !!fromType.inheritMaxAge;
      }
      const fromField = annotationOf(field.astNode?.directives) ?? {};
      if (fromField.inheritMaxAge && policy.maxAge === undefined) {
        inheritMaxAge = true;
        if (fromField.scope) policy.scope = fromField.scope;
      } else {
        replace(policy, fromField);
      }
      if (policy.maxAge === undefined && ((composite && !inheritMaxAge) || isRoot)) policy.maxAge = 0;
      restrict(overall, policy);
      if (composite && node.selectionSet) {
        const types = isAbstractType(target) ? schema.getPossibleTypes(target) : [target as GraphQLObjectType];
        for (const concrete of types) visit(concrete, node.selectionSet, false);
      }
    }
  }
  visit(root, operation.selectionSet, true);
  return overall;
}

/** The static cache policy of an operation, memoized per parsed document. */
export type OperationPolicies = (document: DocumentNode, operationName: string | null | undefined) => Hint;

/**
 * `operationCachePolicy` memoized per parsed document (Apollo's document store hands out the same
 * DocumentNode for the same query), so each document's policy is computed once.
 */
export function createOperationPolicies(schema: GraphQLSchema): OperationPolicies {
  const memo = new WeakMap<DocumentNode, Map<string, Hint>>();
  return (document, operationName) => {
    let byName = memo.get(document);
    if (!byName) memo.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let hint = byName.get(key);
    if (!hint) byName.set(key, (hint = operationCachePolicy(schema, document, operationName)));
    return hint;
  };
}

/** Whether a response to an operation with this policy may ever be cached (Apollo: maxAge > 0). */
export const isCacheablePolicy = (hint: Hint): boolean => (hint.maxAge ?? 0) > 0;

/**
 * Narrows the request's cache policy to its operation's: when execution starts, or when a compiled
 * read answers without executing (src/graphql/compiled-reads.ts).
 */
export function applyOperationPolicy(
  policyOf: OperationPolicies,
  {
    document,
    operationName,
    overallCachePolicy,
  }: Pick<GraphQLRequestContextExecutionDidStart<BaseContext>, 'document' | 'operationName' | 'overallCachePolicy'>,
): void {
  const hint = policyOf(document, operationName);
  overallCachePolicy.restrict({
    ...(hint.maxAge !== undefined ? { maxAge: hint.maxAge } : {}),
    ...(hint.scope !== undefined ? { scope: hint.scope } : {}),
  } as Parameters<typeof overallCachePolicy.restrict>[0]);
}

/**
 * In place of Apollo Server's cache-control plugin (disabled in app.ts): the operation's policy
 * from `operationCachePolicy`, applied when execution starts, and the same `Cache-Control`
 * header: `max-age=N, public|private` for a cacheable response without errors, `no-store`
 * otherwise. The response-cache and HTTP-cache plugins read the same policy.
 */
export function createCachePolicyPlugin(policyOf: OperationPolicies): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async executionDidStart(requestContext) {
          applyOperationPolicy(policyOf, requestContext);
        },
        async willSendResponse({ response, overallCachePolicy }) {
          const cacheable = overallCachePolicy.policyIfCacheable();
          if (cacheable && response.body.kind === 'single' && !response.body.singleResult.errors) {
            response.http.headers.set('cache-control', `max-age=${cacheable.maxAge}, ${cacheable.scope.toLowerCase()}`);
          } else {
            response.http.headers.set('cache-control', 'no-store');
          }
        },
      };
    },
  };
}

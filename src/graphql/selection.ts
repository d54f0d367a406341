import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Calls `visit` with every field of a selection set, through fragments and inline fragments. */
function eachField(
  selectionSet: SelectionSetNode | undefined,
  info: GraphQLResolveInfo,
  visit: (field: FieldNode) => void,
): void {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) visit(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) eachField(selection.selectionSet, info, visit);
    else eachField(info.fragments[selection.name.value]?.selectionSet, info, visit);
  }
}

/**
 * The names of the fields selected directly below the field being resolved, or below `path`
 * (`selectedFieldNames(info, 'items', 'variants')`), through fragments and inline fragments: what
 * a resolver may fetch ahead for its children. `@skip`/`@include` are not evaluated, so a field
 * they leave out may still be named (fetched, then unused).
 */
export function selectedFieldNames(info: GraphQLResolveInfo, ...path: string[]): Set<string> {
  // With a path: the selection sets of the fields of that name below, level by level.
  let level = info.fieldNodes.map((node) => node.selectionSet);
  for (const name of path) {
    const next: (SelectionSetNode | undefined)[] = [];
    for (const set of level)
      eachField(set, info, (field) => field.name.value === name && next.push(field.selectionSet));
    level = next;
  }
  const names = new Set<string>();
  for (const set of level) eachField(set, info, (field) => names.add(field.name.value));
  return names;
}

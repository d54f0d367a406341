import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

function collect(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, names: Set<string>): void {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) names.add(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet, info, names);
    else collect(info.fragments[selection.name.value]?.selectionSet, info, names);
  }
}

/**
 * The names of the fields selected directly below the field being resolved, through fragments
 * and inline fragments: what a resolver may fetch ahead for its children. `@skip`/`@include`
 * are not evaluated, so a field they leave out may still be named (fetched, then unused).
 */
export function selectedFieldNames(info: GraphQLResolveInfo): Set<string> {
  const names = new Set<string>();
  for (const node of info.fieldNodes) collect(node.selectionSet, info, names);
  return names;
}

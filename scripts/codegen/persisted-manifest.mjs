// GraphQL Code Generator plugin: the persisted-operation manifest of schema/operations/*.graphql
// in Apollo's persisted query manifest format, so Apollo Client (persisted-queries link with
// `generatePersistedQueryIdsFromManifest`), Apollo Kotlin/iOS and the Router's tooling can read it.
//
// Each operation's body is the operation followed by the fragments it uses (sorted by name),
// with `__typename` added to every selection set below the root like Apollo's own manifest
// generator and Apollo Client's cache do, printed by graphql-js; its id is the sha256 of the body.
// The gateway checks each id against its body when it loads the manifest.
import { createHash } from 'node:crypto';
import { Kind, print, visit } from 'graphql';

/** Adds `__typename` to every selection set except an operation's root (Apollo's transform). */
function addTypename(document) {
  return visit(document, {
    SelectionSet(node, _key, parent) {
      if (parent && !Array.isArray(parent) && parent.kind === Kind.OPERATION_DEFINITION) return undefined;
      const hasTypename = node.selections.some(
        (selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__') && !selection.alias,
      );
      if (hasTypename) return undefined;
      return {
        ...node,
        selections: [...node.selections, { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }],
      };
    },
  });
}

/** Names of the fragments a definition spreads, directly or through other fragments. */
function usedFragments(definition, fragments, found = new Set()) {
  visit(definition, {
    FragmentSpread(node) {
      const name = node.name.value;
      if (found.has(name)) return;
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`persisted manifest: fragment ${name} is not defined`);
      found.add(name);
      usedFragments(fragment, fragments, found);
    },
  });
  return found;
}

export function plugin(_schema, documents) {
  const fragments = new Map();
  const operations = [];
  for (const file of documents) {
    for (const definition of file.document?.definitions ?? []) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    }
  }
  const entries = operations.map((operation) => {
    if (!operation.name) throw new Error('persisted manifest: every operation needs a name');
    const names = [...usedFragments(operation, fragments)].sort();
    const document = {
      kind: Kind.DOCUMENT,
      definitions: [operation, ...names.map((name) => fragments.get(name))],
    };
    const body = print(addTypename(document));
    return {
      id: createHash('sha256').update(body).digest('hex'),
      name: operation.name.value,
      type: operation.operation,
      body,
    };
  });
  const seen = new Set();
  for (const entry of entries) {
    if (seen.has(entry.name)) throw new Error(`persisted manifest: operation name ${entry.name} is used twice`);
    seen.add(entry.name);
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  return `${JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: entries }, null, 2)}\n`;
}

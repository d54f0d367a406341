import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import fc from 'fast-check';
import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationCachePolicy } from '../../src/graphql/plugins/cache-policy.plugin.js';

// A schema with every kind of hint the rules distinguish: type hints, field hints overriding
// them, inheritMaxAge on types and fields, PRIVATE scope, unhinted composite fields, an
// interface with differently hinted implementations, and unhinted scalars.
const schema = buildSchema(`
  enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  type Query {
    products: [Product!]! @cacheControl(maxAge: 30)
    product: Product @cacheControl(maxAge: 60)
    me: User
    viewer: User @cacheControl(maxAge: 20, scope: PRIVATE)
    node: Node @cacheControl(maxAge: 40)
    plain: Int
    hinted: Int @cacheControl(maxAge: 5)
  }
  type Product @cacheControl(inheritMaxAge: true) {
    id: ID!
    name: String
    variants: [Variant!]!
    supplier: Supplier
    reviews: [Review!]! @cacheControl(maxAge: 10)
  }
  type Variant @cacheControl(inheritMaxAge: true) { sku: String stock: Int @cacheControl(maxAge: 3) }
  type Supplier { name: String }
  type Review @cacheControl(maxAge: 100) { text: String author: User @cacheControl(inheritMaxAge: true) }
  type User @cacheControl(maxAge: 50, scope: PRIVATE) { email: String }
  interface Node { id: ID! }
  type Fresh implements Node @cacheControl(maxAge: 2) { id: ID! }
  type Stale implements Node { id: ID! }
`);

const user = { email: 'a@example.com' };
const variant = { sku: 'S', stock: 1 };
const product = {
  id: '1',
  name: 'P',
  variants: [variant],
  supplier: { name: 'S' },
  reviews: [{ text: 't', author: user }],
};
// Every field resolves to a value (non-empty lists, no nulls), so Apollo's run-time policy sees
// every selected field, as the static computation does.
const rootValue = {
  products: [product],
  product,
  me: user,
  viewer: user,
  node: { id: 'n', __typename: 'Fresh' },
  plain: 1,
  hinted: 2,
};

// Selections of each root field, from which fast-check builds operations.
const SELECTIONS: Record<string, string[]> = {
  products: [
    'id',
    'name',
    'variants { sku }',
    'variants { stock }',
    'supplier { name }',
    'reviews { text }',
    'reviews { author { email } }',
  ],
  product: ['id', 'name', 'variants { sku stock }', 'supplier { name }', '... on Product { reviews { text } }'],
  me: ['email'],
  viewer: ['email'],
  node: ['id', '... on Fresh { id }', '__typename'],
  plain: [],
  hinted: [],
};

const server = new ApolloServer({
  schema,
  rootValue,
  plugins: [ApolloServerPluginCacheControl({ calculateHttpHeaders: true })],
});

async function apolloHeader(query: string): Promise<string | undefined> {
  const response = await server.executeOperation({ query });
  expect(response.body.kind === 'single' && response.body.singleResult.errors).toBeFalsy();
  return response.http.headers.get('cache-control');
}

function staticHeader(query: string): string {
  const hint = operationCachePolicy(schema, parse(query), undefined);
  return hint.maxAge !== undefined && hint.maxAge > 0
    ? `max-age=${hint.maxAge}, ${(hint.scope ?? 'PUBLIC').toLowerCase()}`
    : 'no-store';
}

const rootSelection = fc
  .constantFrom(...Object.keys(SELECTIONS))
  .chain((field) =>
    SELECTIONS[field]!.length === 0
      ? fc.constant(field)
      : fc.subarray(SELECTIONS[field]!, { minLength: 1 }).map((fields) => `${field} { ${fields.join(' ')} }`),
  );

// Issue 7: Apollo's per-field cache-control plugin replaced by a policy computed per document;
// for data where every selected field resolves, both must give the same Cache-Control.
describe('static cache policy', () => {
  it('gives the header Apollo Server cache-control plugin gives, for any operation over the hinted schema', async () => {
    await server.start();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(rootSelection, { minLength: 1, maxLength: 3, selector: (s) => s.split(' ')[0] }),
          async (fields) => {
            const query = `{ ${fields.join(' ')} }`;
            expect(staticHeader(query)).toBe(await apolloHeader(query));
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      await server.stop();
    }
  });

  it('counts fields behind fragments and type conditions', () => {
    const query = `query Q { product { ...F } } fragment F on Product { ... on Product { variants { stock } } id }`;
    expect(operationCachePolicy(schema, parse(query), 'Q')).toEqual({ maxAge: 3 });
    // An interface's declared type decides its field's hint, as in Apollo (not the concrete type).
    expect(operationCachePolicy(schema, parse('{ node { ... on Fresh { id } } }'), undefined)).toEqual({ maxAge: 40 });
  });
});

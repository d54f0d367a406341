import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestApp, type TestApp } from '../helpers/kit.js';

const LIMITS = {
  GRAPHQL_MAX_DEPTH: '6',
  GRAPHQL_MAX_ALIASES: '5',
  GRAPHQL_MAX_ROOT_FIELDS: '4',
  GRAPHQL_MAX_DIRECTIVES: '5',
  GRAPHQL_MAX_TOKENS: '400',
  GRAPHQL_MAX_DOCUMENT_BYTES: '4000',
  GRAPHQL_MAX_COST: '2000',
};

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ ...LIMITS, GRAPHQL_INTROSPECTION: 'true' });
});
afterAll(() => t.close());

async function rejected(query: string, variables?: Record<string, unknown>) {
  let statements = 0;
  const stop = t.database.onStatement(() => (statements += 1));
  const res = await gql(t.url, query, variables);
  stop();
  return { res, error: res.body.errors?.[0], statements };
}

function expectLimit(error: { extensions: Record<string, unknown> } | undefined, limit: string, max: number): void {
  expect(error?.extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit, max });
  expect(Number(error?.extensions.measured)).toBeGreaterThan(max);
}

const DEEP =
  '{ orders(limit: 1) { items { items { variant { product { variants { stockLevels { warehouse { code } } } } } } } } }';

describe('operation limits: each names the limit and the measured value, and nothing runs', () => {
  it('depth', async () => {
    const { res, error } = await rejected(DEEP);
    expect(res.status).toBe(400);
    expectLimit(error, 'depth', 6);
    expect(res.body.data ?? null).toBeNull();
  });

  it('depth through fragments, a fragment named like an introspection field, and nested inline fragments', async () => {
    const viaFragments = await rejected(`
      query { orders(limit: 1) { ...A } }
      fragment A on OrderPage { items { ...__schemaish } }
      fragment __schemaish on Order { items { variant { product { variants { stockLevels { quantity } } } } } }`);
    expectLimit(viaFragments.error, 'depth', 6);
    const inline = `{ ${'... on Query { '.repeat(40)} health { status } ${'} '.repeat(40)}}`;
    const nested = await rejected(inline);
    expect(nested.error?.extensions.code).toBe('OPERATION_LIMIT_EXCEEDED');
  });

  it('fragment cycles are rejected without hanging', async () => {
    const { error } = await rejected(
      'query { health { ...A } } fragment A on Health { ...B } fragment B on Health { ...A }',
    );
    expect(error?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('aliases, including aliases of introspection fields', async () => {
    const aliases = Array.from({ length: 6 }, (_, i) => `a${i}: __typename`).join(' ');
    const { res, error, statements } = await rejected(`{ ${aliases} }`);
    expect(res.status).toBe(400);
    expectLimit(error, 'aliases', 5);
    expect(statements).toBe(0);
    const schemaAliases = await rejected(
      `{ ${Array.from({ length: 6 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(' ')} }`,
    );
    expect(schemaAliases.error?.extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED' });
  });

  it('root fields', async () => {
    const { error } = await rejected(
      '{ health { status } errorCodes { code } warehouses { id } products { pageInfo { page } } variant(id: "6f1c1f8e-8a3b-4c55-9d1e-0b8f3a1c2d4e") { id } }',
    );
    expectLimit(error, 'rootFields', 4);
  });

  it('directives', async () => {
    const { error } = await rejected(
      '{ health { status @include(if: true) version @include(if: true) uptimeSeconds @skip(if: false) database @include(if: true) { status @include(if: true) latencyMs @include(if: true) } } }',
    );
    expectLimit(error, 'directives', 5);
  });

  it('tokens: the parser stops at the limit', async () => {
    const { res, error } = await rejected(`{ health { ${'status '.repeat(500)}} }`);
    expect(res.status).toBe(400);
    expectLimit(error, 'tokens', 400);
  });

  it('document size', async () => {
    const { error } = await rejected(`{ health { status } } ${'#'.repeat(4100)}`);
    expectLimit(error, 'documentBytes', 4000);
  });

  it('static cost uses the limit argument, also when it is a variable', async () => {
    const query = 'query ($n: Int!) { orders(limit: $n) { items { items { variant { sku } } payments { amount } } } }';
    const cheap = await gql(t.url, query, { n: 5 });
    expect(cheap.body.errors).toBeUndefined();
    const { error, statements } = await rejected(query, { n: 1000 });
    expectLimit(error, 'cost', 2000);
    expect(statements).toBe(0);
  });

  it('normal operations pass', async () => {
    const res = await gql(t.url, '{ products(limit: 5) { items { sku variants { sku stockLevels { quantity } } } } }');
    expect(res.body.errors).toBeUndefined();
  });
});

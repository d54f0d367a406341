import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApolloClient,
  type ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  ServerError,
  gql as apolloGql,
} from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogPageDocument, UpdateProductDocument } from '../../schema/generated/operations.js';
import { gql, ROOT, seedFixture, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';

interface ManifestOperation {
  id: string;
  name: string;
  type: string;
  body: string;
}
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'schema/generated/persisted-operations.json'), 'utf8')) as {
  format: string;
  version: number;
  operations: ManifestOperation[];
};

function idOf(name: string): string {
  const operation = MANIFEST.operations.find((o) => o.name === name);
  if (!operation) throw new Error(`${name} is not in the manifest`);
  return operation.id;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });
const ANONYMOUS = { authorization: '' };
const AD_HOC = '{ products(limit: 1) { items { id } } }';

interface Reply {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions: Record<string, unknown> }[];
  };
}

/** A raw POST /graphql with any payload (extensions included), as a client would send it. */
async function post(url: string, payload: Record<string, unknown>, headers: Record<string, string> = ANONYMOUS) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Reply['body'] };
}

/** GET /graphql with JSON-encoded parameters; the preflight header satisfies CSRF prevention. */
function get(url: string, params: Record<string, unknown>, headers: Record<string, string> = ANONYMOUS) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    search.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return fetch(`${url}/graphql?${search}`, { headers: { 'apollo-require-preflight': 'true', ...headers } });
}

const codeOf = (reply: { body: Reply['body'] }) => reply.body.errors?.[0]?.extensions.code;

/** What Apollo Client sent (GET parameters or POST body) and the codes of the errors it got. */
interface Exchange {
  method: string;
  payload: { query?: string; extensions?: { persistedQuery?: { sha256Hash: string } } };
  status: number;
  codes: unknown[];
}

function recordingFetch(): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? 'GET';
    const payload: Exchange['payload'] =
      method === 'GET'
        ? {
            ...(url.searchParams.has('query') ? { query: url.searchParams.get('query')! } : {}),
            extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}') as Exchange['payload']['extensions'],
          }
        : (JSON.parse(String(init?.body)) as Exchange['payload']);
    const response = await fetch(input, init);
    const body = (await response.clone().json()) as Reply['body'];
    exchanges.push({
      method,
      payload,
      status: response.status,
      codes: (body.errors ?? []).map((e) => e.extensions.code),
    });
    return response;
  };
  return { fetch: recording, exchanges };
}

function apolloClient(url: string, link: ApolloLink, fetchFn: typeof fetch): ApolloClient {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: link.concat(new HttpLink({ uri: `${url}/graphql`, fetch: fetchFn })),
  });
}

const runtimeHashes = () => new PersistedQueryLink({ sha256: (s) => createHash('sha256').update(s).digest('hex') });

/** The error code Apollo Client surfaces, whether as GraphQL errors or as a non-2xx response. */
function clientErrorCode(error: unknown): unknown {
  if (CombinedGraphQLErrors.is(error)) return error.errors[0]?.extensions?.code;
  if (ServerError.is(error)) return (JSON.parse(error.bodyText) as Reply['body']).errors?.[0]?.extensions.code;
  return error;
}

// Safelist mode: only manifest operations run, named by id or sent as any equivalent document.
describe('persisted operations: safelist', () => {
  let t: TestApp;
  let fixture: Awaited<ReturnType<typeof seedFixture>>;
  beforeAll(async () => {
    t = await startTestApp({ PERSISTED_OPERATIONS_MODE: 'safelist' });
    fixture = await seedFixture(t.database);
  });
  afterAll(() => t.close());

  const catalogVariables = () => ({ search: fixture.tag, limit: 5 });
  interface Catalog {
    products: { __typename?: string; items: { __typename?: string; id: string; name: string }[] };
  }

  it('runs a manifest operation sent by id only, as its manifest body (with __typename)', async () => {
    const res = await post(t.url, { variables: catalogVariables(), extensions: persisted(idOf('CatalogPage')) });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const products = (res.body.data as unknown as Catalog).products;
    expect(products.items).toEqual([expect.objectContaining({ __typename: 'Product', id: fixture.productId })]);
  });

  it('runs documents that normalize to a manifest body: printed, reformatted, commented', async () => {
    const printed = print(CatalogPageDocument);
    const reformatted = `# storefront, v2\n${printed.replace(/\s+/g, ' ')}\n# end`;
    for (const query of [printed, reformatted]) {
      const res = await post(t.url, { query, variables: catalogVariables() });
      expect(res.status, query).toBe(200);
      const items = (res.body.data as unknown as Catalog).products.items;
      expect(items.map((i) => i.id)).toEqual([fixture.productId]);
      expect(items[0]).not.toHaveProperty('__typename');
    }
    // The document plus the manifest id (what APQ-style clients send) runs too.
    const withHash = await post(t.url, {
      query: MANIFEST.operations.find((o) => o.name === 'CatalogPage')!.body,
      variables: catalogVariables(),
      extensions: persisted(idOf('CatalogPage')),
    });
    expect(withHash.status).toBe(200);
    expect((withHash.body.data as unknown as Catalog).products.items).toHaveLength(1);
  });

  it('refuses ad-hoc documents, unknown ids and a hash that does not match its query', async () => {
    const adHoc = await post(t.url, { query: AD_HOC });
    expect(adHoc.status).toBe(400);
    expect(codeOf(adHoc)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(adHoc.body.data).toBeUndefined();

    const unknownId = await post(t.url, { extensions: persisted(sha256(AD_HOC)) });
    expect(unknownId.status).toBe(400);
    expect(codeOf(unknownId)).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    const mismatch = await post(t.url, { query: print(CatalogPageDocument), extensions: persisted(idOf('Cart')) });
    expect(mismatch.status).toBe(400);
    expect(codeOf(mismatch)).toBe('BAD_REQUEST');
  });

  it('Apollo Client with ids from the manifest sends no documents; others are refused', async () => {
    const recorder = recordingFetch();
    const manifestLink = new PersistedQueryLink(
      generatePersistedQueryIdsFromManifest({ loadManifest: () => MANIFEST }),
    );
    const client = apolloClient(t.url, manifestLink, recorder.fetch);
    const { data } = await client.query({ query: CatalogPageDocument, variables: catalogVariables() });
    expect(data?.products.items.map((i) => i.id)).toEqual([fixture.productId]);
    expect(data?.products.items[0]?.variants).toHaveLength(2);
    expect(recorder.exchanges).toHaveLength(1);
    expect(recorder.exchanges[0]?.payload.query).toBeUndefined();
    expect(recorder.exchanges[0]?.payload.extensions?.persistedQuery?.sha256Hash).toBe(idOf('CatalogPage'));

    // A client hashing documents itself: an operation outside the manifest gets NOT_IN_LIST.
    const adHocClient = apolloClient(t.url, runtimeHashes(), recordingFetch().fetch);
    const refused = await adHocClient.query({ query: apolloGql(AD_HOC) }).then(
      () => 'ran',
      (error: unknown) => clientErrorCode(error),
    );
    expect(refused).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('GET: cacheable queries get Cache-Control, a weak ETag and 304 until the data changes', async () => {
    const params = { variables: catalogVariables(), extensions: persisted(idOf('CatalogPage')) };
    const first = await get(t.url, params);
    expect(first.status).toBe(200);
    // products is 30 s, ProductVariant.stockLevels 10 s: the response gets the shortest.
    expect(first.headers.get('cache-control')).toBe('max-age=10, public');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/".+"$/);
    expect(((await first.json()) as Reply['body']).data).toBeTruthy();

    const revalidated = await get(t.url, params, { ...ANONYMOUS, 'if-none-match': etag! });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe('');

    const renamed = await gql(t.url, print(UpdateProductDocument), {
      id: fixture.productId,
      input: { name: `Renamed ${fixture.tag}` },
    });
    expect(renamed.body.errors).toBeUndefined();
    const changed = await get(t.url, params, { ...ANONYMOUS, 'if-none-match': etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toMatch(/^W\/".+"$/);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('GET: a mutation is 405; a signed-in, uncacheable query is no-store without an ETag', async () => {
    const mutation = await get(t.url, {
      variables: { customerId: fixture.customerId },
      extensions: persisted(idOf('CreateCart')),
    });
    expect(mutation.status).toBe(405);
    expect(await t.database.prisma.cart.count({ where: { customerId: fixture.customerId } })).toBe(0);

    const history = await get(
      t.url,
      { variables: { customerId: fixture.customerId }, extensions: persisted(idOf('OrderHistory')) },
      t.admin,
    );
    expect(history.status).toBe(200);
    const body = (await history.json()) as Reply['body'];
    expect(body.errors).toBeUndefined();
    expect(body.data?.customer).toMatchObject({ id: fixture.customerId, orders: [] });
    expect(history.headers.get('cache-control')).toBe('no-store');
    expect(history.headers.get('etag')).toBeNull();
  });
});

// Audit mode: everything runs; each document outside the manifests is logged once.
describe('persisted operations: audit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ PERSISTED_OPERATIONS_MODE: 'audit' });
  });
  afterAll(() => t.close());

  it('runs unknown documents and logs each one once', async () => {
    const query = `{ products(limit: 1, filter: { search: "${uniqueTag()}" }) { items { id } } }`;
    for (let i = 0; i < 2; i += 1) {
      const res = await gql(t.url, query, undefined, ANONYMOUS);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ products: { items: [] } });
    }
    const logged = t
      .logs()
      .filter((line) => line.includes('persisted operations: unknown operation') && line.includes(sha256(query)));
    expect(logged).toHaveLength(1);
  });

  it('runs manifest ids; an unknown id is PERSISTED_QUERY_NOT_FOUND (so APQ clients send the document)', async () => {
    const known = await post(t.url, { variables: { limit: 1 }, extensions: persisted(idOf('CatalogPage')) });
    expect(known.status).toBe(200);
    expect(known.body.data).toHaveProperty('products');
    const unknown = await post(t.url, { extensions: persisted(sha256(AD_HOC)) });
    expect(unknown.status).toBe(200);
    expect(codeOf(unknown)).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

// APQ mode: Apollo's automatic persisted queries, registered in Redis and shared by instances.
describe('persisted operations: apq', () => {
  const prefix = `test:apq:${uniqueTag()}:`;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ PERSISTED_OPERATIONS_MODE: 'apq' }, { redisKeyPrefix: prefix });
    b = await startTestApp({ PERSISTED_OPERATIONS_MODE: 'apq' }, { redisKeyPrefix: prefix });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('registers a document through one instance; another finds it by hash alone (GET)', async () => {
    const query = apolloGql(
      `query ApqProbe { products(limit: 1, filter: { search: "${uniqueTag()}" }) { items { id } } }`,
    );
    const link = () =>
      new PersistedQueryLink({
        sha256: (s) => createHash('sha256').update(s).digest('hex'),
        useGETForHashedQueries: true,
      });

    const first = recordingFetch();
    const registered = await apolloClient(a.url, link(), first.fetch).query({ query });
    expect(registered.data).toEqual({ products: { __typename: 'ProductPage', items: [] } });
    expect(first.exchanges.map((e) => [e.method, e.payload.query !== undefined, e.codes])).toEqual([
      ['GET', false, ['PERSISTED_QUERY_NOT_FOUND']],
      ['POST', true, []],
    ]);
    const hash = first.exchanges[0]!.payload.extensions!.persistedQuery!.sha256Hash;
    expect(hash).toBe(sha256(first.exchanges[1]!.payload.query!));

    const second = recordingFetch();
    const found = await apolloClient(b.url, link(), second.fetch).query({ query });
    expect(found.data).toEqual(registered.data);
    expect(second.exchanges).toHaveLength(1);
    expect(second.exchanges[0]).toMatchObject({ method: 'GET', status: 200, codes: [] });
    expect(second.exchanges[0]?.payload.query).toBeUndefined();

    // The shared store: `<REDIS_KEY_PREFIX>apq:<sha256>` with the configured TTL.
    expect(await a.redis.client.get(`apq:${hash}`)).toBe(first.exchanges[1]!.payload.query);
    const ttl = await a.redis.client.ttl(`apq:${hash}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(a.config.graphql.persisted.apqTtlSeconds);
  });

  it('manifest ids are always registered; an unknown hash is PERSISTED_QUERY_NOT_FOUND', async () => {
    const known = await post(a.url, { variables: { limit: 1 }, extensions: persisted(idOf('CatalogPage')) });
    expect(known.status).toBe(200);
    expect(known.body.data).toHaveProperty('products');
    const unknown = await post(b.url, { extensions: persisted(sha256(`# ${uniqueTag()}\n${AD_HOC}`)) });
    expect(codeOf(unknown)).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('with Redis down, every lookup is a miss and clients still get their data', async () => {
    const down = await startTestApp({ PERSISTED_OPERATIONS_MODE: 'apq', REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const query = apolloGql(
        `query ApqDown { products(limit: 1, filter: { search: "${uniqueTag()}" }) { items { id } } }`,
      );
      for (let i = 0; i < 2; i += 1) {
        const recorder = recordingFetch();
        const client = apolloClient(down.url, runtimeHashes(), recorder.fetch);
        const result = await Promise.race([
          client.query({ query }),
          new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref()),
        ]);
        expect(result).toMatchObject({ data: { products: { items: [] } } });
        // Nothing could be registered: each client needs the register round trip.
        expect(recorder.exchanges.map((e) => e.codes)).toEqual([['PERSISTED_QUERY_NOT_FOUND'], []]);
      }
      expect(down.logs().some((line) => line.includes('apq cache: redis unavailable'))).toBe(true);
    } finally {
      await down.close();
    }
  });
});

// Off: the server refuses the extension; Apollo Client stops hashing and sends documents.
describe('persisted operations: off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ PERSISTED_OPERATIONS_MODE: 'off' });
  });
  afterAll(() => t.close());

  it('answers PERSISTED_QUERY_NOT_SUPPORTED and Apollo Client falls back to full documents', async () => {
    const raw = await post(t.url, { extensions: persisted(idOf('CatalogPage')) });
    expect(codeOf(raw)).toBe('PERSISTED_QUERY_NOT_SUPPORTED');

    const recorder = recordingFetch();
    const client = apolloClient(t.url, runtimeHashes(), recorder.fetch);
    const query = apolloGql(AD_HOC.replace('{ products', 'query OffProbe { products'));
    const first = await client.query({ query, fetchPolicy: 'network-only' });
    expect(first.data).toHaveProperty('products.items');
    const again = await client.query({ query, fetchPolicy: 'network-only' });
    expect(again.data).toEqual(first.data);
    expect(recorder.exchanges.map((e) => [e.payload.query !== undefined, e.codes])).toEqual([
      [false, ['PERSISTED_QUERY_NOT_SUPPORTED']],
      [true, []],
      [true, []], // disabled for the rest of the session: no more hashes
    ]);
    expect(recorder.exchanges[2]?.payload.extensions?.persistedQuery).toBeUndefined();
  });
});

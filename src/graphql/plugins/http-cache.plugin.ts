import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../context.js';

/** The weak entity tag of a response's serialized `data` (also used by the cached-read lane). */
export function entityTag(data: string): string {
  return `W/"${createHash('sha256').update(data).digest('base64url').slice(0, 32)}"`;
}

/** Whether an If-None-Match header names this entity tag (weak comparison, RFC 9110 13.1.2). */
export function matchesEntityTag(ifNoneMatch: string, etag: string): boolean {
  const opaque = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === opaque;
  });
}

/**
 * HTTP caching of GET queries (004 section 2.1): Apollo's cache-control plugin already turns the
 * schema's `@cacheControl` hints into `Cache-Control` (no hint anywhere: `no-store`); this adds
 * a weak `ETag` over the response data of cacheable responses and answers `304 Not Modified`
 * when the client's `If-None-Match` holds it. The tag covers `data` only: the per-caller
 * `extensions.cost` changes on every request without changing what the client would cache.
 */
export function createHttpCachePlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ request }) {
      if (request.http?.method !== 'GET') return undefined;
      return {
        async willSendResponse({ response, overallCachePolicy }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (result.errors || !overallCachePolicy.policyIfCacheable()) return;
          const etag = entityTag(JSON.stringify(result.data));
          response.http.headers.set('etag', etag);
          const ifNoneMatch = request.http?.headers.get('if-none-match');
          if (ifNoneMatch && matchesEntityTag(ifNoneMatch, etag)) response.http.status = 304;
        },
      };
    },
  };
}

import type { ApolloServerPlugin } from '@apollo/server';
import ApolloServerPluginResponseCache from '@apollo/server-plugin-response-cache';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLContext } from './context.js';
import { isCacheablePolicy, type OperationPolicies } from './plugins/cache-policy.plugin.js';

export interface ResponseCacheOptions {
  /** Shared by every instance (Redis), per instance without Redis. */
  cache: KeyValueCache<string>;
  /** The catalog version (database triggers bump it on every catalog or stock change); `unknown` pauses caching. */
  catalogVersion: () => string;
  /** The operations' static cache policies: an operation that can never be cached is never looked up. */
  policyOf: OperationPolicies;
}

/**
 * Caches whole responses of cacheable reads (their `@cacheControl` hints: public catalog reads
 * 30 s, stock levels 10 s) and serves them without executing anything. Operation limits, rate
 * limits and budgets still apply: the cache answers after them. Keys carry the catalog version,
 * so a change to products, variants, stock or warehouses makes every older entry unreachable;
 * PRIVATE-scoped responses are kept per user. Mutations and anything with `no-store` are never
 * cached, nor looked up.
 */
export function createResponseCachePlugin(options: ResponseCacheOptions): {
  plugin: ApolloServerPlugin<GraphQLContext>;
  stats: { hits: number; misses: number; coalesced: number };
} {
  const known = () => options.catalogVersion() !== 'unknown';
  const stats = { hits: 0, misses: 0, coalesced: 0 };
  // Counts lookups for the cache metrics; the plugin reads only through get().
  const counted: KeyValueCache<string> = {
    async get(key) {
      const value = await options.cache.get(key);
      if (value === undefined) stats.misses += 1;
      else stats.hits += 1;
      return value;
    },
    set: (key, value, setOptions) => options.cache.set(key, value, setOptions),
    delete: (key) => options.cache.delete(key),
  };
  const plugin = ApolloServerPluginResponseCache<GraphQLContext>({
    cache: counted,
    sessionId: async ({ contextValue }) => contextValue.actor.userId,
    extraCacheKeyData: async () => options.catalogVersion(),
    // Without a known version a change could go unnoticed: neither read nor write. An operation
    // whose policy is uncacheable (an order history, `me`, a mutation) costs no lookup.
    shouldReadFromCache: async ({ document, operationName }) =>
      known() && document !== undefined && isCacheablePolicy(options.policyOf(document, operationName)),
    shouldWriteToCache: async () => known(),
  });
  return { plugin, stats };
}

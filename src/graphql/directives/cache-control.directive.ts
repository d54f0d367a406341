import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLEnumType, GraphQLInt } from 'graphql';

/** Apollo Server's cache-hint scope: PRIVATE responses may be cached by the client only. */
export const CacheControlScopeEnum = new GraphQLEnumType({
  name: 'CacheControlScope',
  description: 'Who may cache a response: anyone (PUBLIC, e.g. a CDN) or only the caller (PRIVATE).',
  values: { PUBLIC: {}, PRIVATE: {} },
});

/**
 * Apollo Server's `@cacheControl`: how long a field's value may be cached. A response's
 * `Cache-Control` is the shortest hint of the fields it holds (no hint: not cacheable), which
 * GET requests of public catalog reads turn into CDN-cacheable responses with an ETag.
 */
export const cacheControlDirective = new GraphQLDirective({
  name: 'cacheControl',
  description:
    'Cache hint of a field or type (Apollo Server cache control): maxAge in seconds, scope, or inheritMaxAge.',
  locations: [
    DirectiveLocation.FIELD_DEFINITION,
    DirectiveLocation.OBJECT,
    DirectiveLocation.INTERFACE,
    DirectiveLocation.UNION,
  ],
  args: {
    maxAge: { type: GraphQLInt },
    scope: { type: CacheControlScopeEnum },
    inheritMaxAge: { type: GraphQLBoolean },
  },
});

import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  DirectiveLocation,
  GraphQLDirective,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  type GraphQLSchema,
} from 'graphql';
import { getGraphQLRateLimiter } from 'graphql-rate-limit';
import ms, { type StringValue } from 'ms';
import { RateLimitedError } from '../../errors/index.js';
import type { SlidingLog } from '../../platform/redis/sliding-log.js';
import type { GraphQLContext } from '../context.js';

/**
 * `@rateLimit(window, max)` on a field: at most `max` calls per sliding `window` per caller
 * (the user, else the client IP), counted across instances (003 SEC-002). Visible in the SDL,
 * so clients see the limit of every field that has one.
 */
export const rateLimitDirective = new GraphQLDirective({
  name: 'rateLimit',
  description:
    'At most `max` calls per sliding `window` ("30s", "1m", "15m"…) per caller (user, else client IP); over it: RATE_LIMITED.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    window: { type: new GraphQLNonNull(GraphQLString), description: 'Window length, e.g. "1m" or "15m".' },
    max: { type: new GraphQLNonNull(GraphQLInt), description: 'Calls allowed per caller per window.' },
    identityArgs: {
      type: new GraphQLList(new GraphQLNonNull(GraphQLString)),
      description: 'Argument paths whose values are limited separately, e.g. ["input.cartId"].',
    },
  },
});

interface RateLimitArgs {
  window: string;
  max: number;
  identityArgs?: string[];
}

/**
 * Wraps every `@rateLimit` field with graphql-rate-limit's limiter over our own store: the
 * library's store contract is read-then-write (its bundled Redis store races across instances),
 * so our store's read is the atomic check-and-record of a sliding log and its write does nothing.
 */
export function applyRateLimitDirectives(
  schema: GraphQLSchema,
  log: SlidingLog,
  /** `limits.fieldScale` is read per call, so a configuration reload applies at once. */
  options: { limits: { fieldScale: number }; stats?: { field: number } } = { limits: { fieldScale: 1 } },
): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
      const limit = getDirective(schema, fieldConfig, 'rateLimit')?.[0] as RateLimitArgs | undefined;
      if (!limit) return fieldConfig;
      const windowMs = ms(limit.window as StringValue);
      if (!Number.isFinite(windowMs) || windowMs < 1_000 || limit.max < 1) {
        throw new Error(`${typeName}.${fieldName}: @rateLimit needs a window of at least "1s" and max >= 1`);
      }
      const maxNow = () => Math.max(1, Math.round(limit.max * options.limits.fieldScale));
      const limiter = getGraphQLRateLimiter({
        identifyContext: (context: GraphQLContext) => context.actor.userId ?? `ip:${context.clientIp}`,
        store: {
          getForIdentity: ({ contextIdentity, fieldIdentity }) =>
            log.record(`rl:field:${typeName}.${fieldIdentity}:${contextIdentity}`, windowMs, maxNow()),
          // Already recorded, atomically, by getForIdentity.
          setForIdentity: () => undefined,
        },
      });
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      return {
        ...fieldConfig,
        async resolve(source, args, context: GraphQLContext, info) {
          const max = maxNow();
          const limiterArgs = { window: limit.window, max, identityArgs: limit.identityArgs ?? [] };
          const limited = await limiter({ parent: source, args, context, info }, limiterArgs);
          // The log does not say when its oldest call leaves the window: the whole window is an upper bound.
          if (limited) {
            if (options.stats) options.stats.field += 1;
            throw new RateLimitedError(
              Math.ceil(windowMs / 1000),
              `Too many calls of ${fieldName}: at most ${max} per ${limit.window}.`,
            );
          }
          return resolve(source, args, context, info);
        },
      };
    },
  });
}

import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { WindowCounter } from '../../platform/redis/window-counter.js';
import type { GraphQLContext } from '../context.js';

export interface RateLimitOptions {
  counter: WindowCounter;
  logger: Logger;
  limits: { ipPerMinute: number; userPerHour: number; costPerHour: number; allowlist: readonly string[] };
  /** Rejections by scope, for metrics. */
  stats: { ip: number; user: number; cost: number };
}

const HOUR = 3_600;

function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  const retryAfter = Math.max(1, retryAfterSeconds);
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      retryAfterSeconds: retryAfter,
      http: { status: 429, headers: new Map([['retry-after', String(retryAfter)]]) },
    },
  });
}

/**
 * Request windows per client IP (per minute) and per user (per hour), and a cost budget per
 * caller per hour like GitHub's and Shopify's (003 SEC-002). Every response reports the budget in
 * `extensions.cost` and `RateLimit-*` headers; over a limit is 429 RATE_LIMITED with
 * Retry-After. Runs after the operation limits, which measure the cost.
 */
export function createRateLimitPlugin(options: RateLimitOptions): ApolloServerPlugin<GraphQLContext> {
  const { counter, logger, limits, stats } = options;
  return {
    async requestDidStart() {
      let report: { requested: number; remaining: number; resetAt: Date } | undefined;
      return {
        async didResolveOperation({ contextValue }) {
          const { clientIp, actor } = contextValue;
          // Read per request: SIGHUP may change the limits and the allowlist (hot reload).
          const allowlist = limits.allowlist;
          if (allowlist.includes(clientIp) || (actor.userId !== null && allowlist.includes(actor.userId))) return;
          const requested = contextValue.operationCost ?? 1;
          // One Redis round trip for the three windows, charged in this order and stopping at the
          // first one over its limit (a refused request is not charged to the later windows).
          const windows = [
            { scope: 'ip' as const, key: `rl:ip:${clientIp}`, amount: 1, windowSeconds: 60, limit: limits.ipPerMinute },
            ...(actor.userId !== null
              ? [
                  {
                    scope: 'user' as const,
                    key: `rl:user:${actor.userId}`,
                    amount: 1,
                    windowSeconds: HOUR,
                    limit: limits.userPerHour,
                  },
                ]
              : []),
            {
              scope: 'cost' as const,
              key: actor.userId !== null ? `rl:cost:user:${actor.userId}` : `rl:cost:ip:${clientIp}`,
              amount: requested,
              windowSeconds: HOUR,
              limit: limits.costPerHour,
            },
          ];
          const counts = await counter.addAll(windows);
          const last = counts.length - 1;
          const over = windows[last]!;
          const counted = counts[last]!;
          if (over.scope === 'cost') {
            report = {
              requested,
              remaining: Math.max(0, limits.costPerHour - counted.count),
              resetAt: new Date(Date.now() + counted.resetInSeconds * 1000),
            };
          }
          if (counted.count <= over.limit) return;
          stats[over.scope] += 1;
          if (over.scope === 'cost') {
            logger.warn('cost budget exceeded', { userId: actor.userId, ip: clientIp, spent: counted.count });
            throw rateLimited('The hourly cost budget is spent.', counted.resetInSeconds);
          }
          logger.warn('rate limit exceeded', {
            scope: over.scope,
            ...(over.scope === 'ip' ? { ip: clientIp } : { userId: actor.userId }),
            count: counted.count,
          });
          throw rateLimited(
            over.scope === 'ip' ? 'Too many requests from this address.' : 'Too many requests for this account.',
            counted.resetInSeconds,
          );
        },
        async willSendResponse({ response }) {
          if (!report) return;
          response.http.headers.set('ratelimit-limit', String(limits.costPerHour));
          response.http.headers.set('ratelimit-remaining', String(report.remaining));
          response.http.headers.set(
            'ratelimit-reset',
            String(Math.max(0, Math.ceil((report.resetAt.getTime() - Date.now()) / 1000))),
          );
          if (response.body.kind === 'single') {
            response.body.singleResult.extensions = {
              ...response.body.singleResult.extensions,
              cost: {
                requested: report.requested,
                actual: report.requested,
                remaining: report.remaining,
                resetAt: report.resetAt.toISOString(),
              },
            };
          }
        },
      };
    },
  };
}

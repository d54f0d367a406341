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
          const ip = await counter.add(`rl:ip:${clientIp}`, 1, 60);
          if (ip.count > limits.ipPerMinute) {
            stats.ip += 1;
            logger.warn('rate limit exceeded', { scope: 'ip', ip: clientIp, count: ip.count });
            throw rateLimited('Too many requests from this address.', ip.resetInSeconds);
          }
          if (actor.userId !== null) {
            const user = await counter.add(`rl:user:${actor.userId}`, 1, HOUR);
            if (user.count > limits.userPerHour) {
              stats.user += 1;
              logger.warn('rate limit exceeded', { scope: 'user', userId: actor.userId, count: user.count });
              throw rateLimited('Too many requests for this account.', user.resetInSeconds);
            }
          }
          const requested = contextValue.operationCost ?? 1;
          const budgetKey = actor.userId !== null ? `rl:cost:user:${actor.userId}` : `rl:cost:ip:${clientIp}`;
          const spent = await counter.add(budgetKey, requested, HOUR);
          report = {
            requested,
            remaining: Math.max(0, limits.costPerHour - spent.count),
            resetAt: new Date(Date.now() + spent.resetInSeconds * 1000),
          };
          if (spent.count > limits.costPerHour) {
            stats.cost += 1;
            logger.warn('cost budget exceeded', { userId: actor.userId, ip: clientIp, spent: spent.count });
            throw rateLimited('The hourly cost budget is spent.', spent.resetInSeconds);
          }
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

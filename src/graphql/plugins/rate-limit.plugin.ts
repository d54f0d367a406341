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

/** What charging one request found: the budget to report, and the refusal when over a limit. */
export interface ChargeOutcome {
  /** The cost budget after this request (absent for allowlisted callers). */
  report?: CostReport;
  refused?: { message: string; retryAfterSeconds: number };
  /** The values of the keys the caller asked to read with the charge (`charge`'s `reads`), when Redis had them read. */
  values?: (string | null)[];
}

export interface CostReport {
  requested: number;
  remaining: number;
  resetAt: Date;
}

/**
 * Charges one request to the windows per client IP (per minute) and per user (per hour), and to
 * the cost budget per caller per hour like GitHub's and Shopify's (003 SEC-002). Shared by the
 * plugin below and the cached-read lane (src/graphql/cached-read-lane.ts), so a request costs the
 * same whichever path serves it. `reads`: Redis keys to read in the same round trip (the lane
 * reads the caller's revocation state with its charge), returned as `values`.
 */
export function createRequestCharger(options: RateLimitOptions) {
  const { counter, logger, limits, stats } = options;
  return async function charge(
    caller: {
      clientIp: string;
      userId: string | null;
      cost: number;
    },
    reads: readonly string[] = [],
  ): Promise<ChargeOutcome> {
    const { clientIp, userId, cost: requested } = caller;
    // Read per request: SIGHUP may change the limits and the allowlist (hot reload).
    const allowlist = limits.allowlist;
    if (allowlist.includes(clientIp) || (userId !== null && allowlist.includes(userId))) return {};
    // One Redis round trip for the three windows, charged in this order and stopping at the
    // first one over its limit (a refused request is not charged to the later windows).
    const windows = [
      { scope: 'ip' as const, key: `rl:ip:${clientIp}`, amount: 1, windowSeconds: 60, limit: limits.ipPerMinute },
      ...(userId !== null
        ? [
            {
              scope: 'user' as const,
              key: `rl:user:${userId}`,
              amount: 1,
              windowSeconds: HOUR,
              limit: limits.userPerHour,
            },
          ]
        : []),
      {
        scope: 'cost' as const,
        key: userId !== null ? `rl:cost:user:${userId}` : `rl:cost:ip:${clientIp}`,
        amount: requested,
        windowSeconds: HOUR,
        limit: limits.costPerHour,
      },
    ];
    const { counts, values } = await counter.addAll(windows, reads);
    const last = counts.length - 1;
    const over = windows[last]!;
    const counted = counts[last]!;
    const report =
      over.scope === 'cost'
        ? {
            requested,
            remaining: Math.max(0, limits.costPerHour - counted.count),
            resetAt: new Date(Date.now() + counted.resetInSeconds * 1000),
          }
        : undefined;
    if (counted.count <= over.limit) return { report, values };
    stats[over.scope] += 1;
    const retryAfterSeconds = Math.max(1, counted.resetInSeconds);
    if (over.scope === 'cost') {
      logger.warn('cost budget exceeded', { userId, ip: clientIp, spent: counted.count });
      return { report, values, refused: { message: 'The hourly cost budget is spent.', retryAfterSeconds } };
    }
    logger.warn('rate limit exceeded', {
      scope: over.scope,
      ...(over.scope === 'ip' ? { ip: clientIp } : { userId }),
      count: counted.count,
    });
    const message =
      over.scope === 'ip' ? 'Too many requests from this address.' : 'Too many requests for this account.';
    return { report, values, refused: { message, retryAfterSeconds } };
  };
}

/** The `RateLimit-*` headers and `extensions.cost` of a response that was charged. */
export function costHeaders(limits: RateLimitOptions['limits'], report: CostReport): [string, string][] {
  return [
    ['ratelimit-limit', String(limits.costPerHour)],
    ['ratelimit-remaining', String(report.remaining)],
    ['ratelimit-reset', String(Math.max(0, Math.ceil((report.resetAt.getTime() - Date.now()) / 1000)))],
  ];
}

export function costExtension(report: CostReport) {
  return {
    requested: report.requested,
    actual: report.requested,
    remaining: report.remaining,
    resetAt: report.resetAt.toISOString(),
  };
}

/**
 * Applies the request charge before execution. Every response reports the budget in
 * `extensions.cost` and `RateLimit-*` headers; over a limit is 429 RATE_LIMITED with
 * Retry-After. Runs after the operation limits, which measure the cost.
 */
export function createRateLimitPlugin(
  options: RateLimitOptions & {
    /** The charger shared with the cached-read lane. @default createRequestCharger(options) */
    charge?: ReturnType<typeof createRequestCharger>;
  },
): ApolloServerPlugin<GraphQLContext> {
  const charge = options.charge ?? createRequestCharger(options);
  return {
    async requestDidStart() {
      let report: CostReport | undefined;
      return {
        async didResolveOperation({ contextValue }) {
          const outcome = await charge({
            clientIp: contextValue.clientIp,
            userId: contextValue.actor.userId,
            cost: contextValue.operationCost ?? 1,
          });
          report = outcome.report;
          if (outcome.refused) throw rateLimited(outcome.refused.message, outcome.refused.retryAfterSeconds);
        },
        async willSendResponse({ response }) {
          if (!report) return;
          for (const [name, value] of costHeaders(options.limits, report)) response.http.headers.set(name, value);
          if (response.body.kind === 'single') {
            response.body.singleResult.extensions = {
              ...response.body.singleResult.extensions,
              cost: costExtension(report),
            };
          }
        },
      };
    },
  };
}

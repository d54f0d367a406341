import { Readable } from 'node:stream';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CATALOG, ErrorCode } from '../errors/index.js';
import { formatGraphQLError } from '../graphql/errors.js';
import type { CacheDependencies, CachedReadLane, CachedRead } from '../graphql/cached-read-lane.js';
import type { GateDecision, PersistedOperation } from '../graphql/persisted-operations.js';
import type { Logger } from '../observability/logger.js';
import { SHED_RETRY_AFTER_SECONDS, type Admission } from './admission.js';

export interface GraphQLHandlerOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  /**
   * Builds the request's context; `controller` aborts its transactions (disconnect, timeout),
   * `cacheDeps` records what a read the lane may keep depends on.
   */
  buildContext(
    request: FastifyRequest,
    reply: FastifyReply,
    controller: AbortController,
    cacheDeps?: CacheDependencies,
  ): Promise<TContext>;
  /** Longest an operation may run before the client gets 504 OPERATION_TIMEOUT. */
  timeoutMs: number;
  logger: Logger;
  /** Persisted-operation safelist/audit: fills in documents named by id or refuses the request. */
  gate?: { admit(request: HTTPGraphQLRequest): GateDecision };
  /** Refuses operations beyond the in-flight limit with 503 (src/http/admission.ts). */
  admission?: Admission;
  /** Public catalog reads answered from memory in front of Apollo (src/graphql/cached-read-lane.ts). */
  cachedReads?: CachedReadLane;
}

/** A coded error answered by the route itself, formatted like every other (formatGraphQLError). */
function sendError(reply: FastifyReply, request: FastifyRequest, error: AppError) {
  return reply
    .code(error.httpStatus)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      JSON.stringify({
        errors: [formatGraphQLError({ message: error.message, extensions: { correlationId: request.id } }, error)],
      }),
    );
}

function toHTTPGraphQLRequest(request: FastifyRequest): HTTPGraphQLRequest {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const query = request.url.indexOf('?');
  return {
    method: request.method.toUpperCase(),
    headers,
    body: request.body,
    search: query === -1 ? '' : request.url.slice(query),
  };
}

/**
 * The /graphql route: Apollo Server's HTTP entry point under a per-operation deadline. Past the
 * deadline the client gets 504 OPERATION_TIMEOUT at once and the request's signal is aborted,
 * which cancels its running statement and rolls its transaction back; whatever the abandoned
 * execution still produces is discarded. A 304 (ETag match) is sent without a body.
 */
export function createGraphQLHandler<TContext extends BaseContext>(options: GraphQLHandlerOptions<TContext>) {
  const { apollo, buildContext, timeoutMs, logger, gate, cachedReads, admission } = options;
  return async function graphqlHandler(request: FastifyRequest, reply: FastifyReply) {
    const arrived = performance.now();
    let httpGraphQLRequest = toHTTPGraphQLRequest(request);
    let operation: PersistedOperation | undefined;
    if (gate) {
      const decision = gate.admit(httpGraphQLRequest);
      if ('error' in decision) {
        logger.log(ERROR_CATALOG[decision.error.code].logLevel, decision.error.message, {
          requestId: request.id,
          code: decision.error.code,
        });
        return sendError(reply, request, decision.error);
      }
      httpGraphQLRequest = decision.request;
      operation = decision.operation;
    }
    // After the gate (only manifest queries qualify), before Apollo: a hit never reaches it.
    const read: CachedRead | undefined = cachedReads?.begin(operation, httpGraphQLRequest);
    if (cachedReads && read) {
      const answer = await cachedReads.serve(read, httpGraphQLRequest, { clientIp: request.ip });
      if (answer?.kind === 'refused') {
        for (const [name, value] of answer.headers) void reply.header(name, value);
        return sendError(reply, request, answer.error);
      }
      if (answer) {
        for (const [name, value] of answer.headers) void reply.header(name, value);
        return answer.status === 304 ? reply.code(304).send() : reply.code(200).send(answer.body);
      }
    }
    try {
      // After the lane: cached reads cost next to nothing and are served even when busy.
      if (admission && !admission.tryEnter()) {
        void reply.header('retry-after', String(SHED_RETRY_AFTER_SECONDS));
        return sendError(
          reply,
          request,
          new AppError(ErrorCode.SERVICE_UNAVAILABLE, {
            message: 'The service is overloaded. Retry later.',
            details: { retryAfterSeconds: SHED_RETRY_AFTER_SECONDS },
          }),
        );
      }
      const controller = new AbortController();
      // The response closing before it was fully written means the client went away.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
      });
      let timer: NodeJS.Timeout | undefined;
      // From the request's arrival: time spent waiting for the same read in the lane counts too.
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs - (performance.now() - arrived)));
      });
      const execution = apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: () => buildContext(request, reply, controller, read?.deps),
      });
      // Counted until the execution really ends: one abandoned at the deadline still holds resources.
      if (admission) void execution.finally(() => admission.leave()).catch(() => undefined);
      const outcome = await Promise.race([execution, deadline]).finally(() => clearTimeout(timer));

      if (outcome === 'timeout') {
        controller.abort(new Error(`operation timed out after ${timeoutMs} ms`));
        execution.catch(() => undefined);
        logger.warn('operation timed out', { requestId: request.id, timeoutMs });
        return sendError(reply, request, new AppError(ErrorCode.OPERATION_TIMEOUT, { details: { timeoutMs } }));
      }

      const { headers, body, status } = outcome;
      if (cachedReads && read) cachedReads.remember(read, outcome);
      for (const [name, value] of headers) void reply.header(name, value);
      void reply.code(status ?? 200);
      if (status === 304) return reply.send();
      if (body.kind === 'complete') return reply.send(body.string);
      return reply.send(Readable.from(body.asyncIterator));
    } finally {
      // A read the lane let through: those waiting for the same read look for its answer now.
      if (cachedReads && read) cachedReads.settle(read);
    }
  };
}

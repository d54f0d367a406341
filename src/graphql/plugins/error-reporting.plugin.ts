import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ApolloServerPlugin } from '@apollo/server';
import { getOperationAST, type GraphQLFormattedError } from 'graphql';
import { ERROR_CATALOG, ErrorCode } from '../../errors/index.js';
import type { GraphQLContext } from '../context.js';
import { resolveAppError } from '../errors.js';

/** Codes that say "not now" rather than "wrong": their HTTP status and Retry-After tell callers to back off. */
const BACK_OFF_CODES = new Set<string>([
  ErrorCode.RATE_LIMITED,
  ErrorCode.ACCOUNT_LOCKED,
  ErrorCode.SERVICE_UNAVAILABLE,
]);
/** Retry-After of a dependency that failed (no pool connection in time, a deadlock that persisted). */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * When nothing of a response succeeded because the caller is throttled (a login limit, a locked
 * account, a field's @rateLimit) or a dependency is unavailable (the database pool, under load),
 * the HTTP status says so as well (429 / 423 / 503 with Retry-After), so proxies, SDKs and load
 * balancers back off without reading the body. Partial successes stay 200 with the error beside
 * the data, as GraphQL over HTTP expects.
 */
function backOffStatus(
  result: { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] },
  http: { status?: number; headers: Map<string, string> },
): void {
  const nothingSucceeded = result.data == null || Object.values(result.data).every((value) => value === null);
  const backOff = result.errors?.find((error) => BACK_OFF_CODES.has(String(error.extensions?.code)));
  if (!nothingSucceeded || !backOff || (http.status !== undefined && http.status !== 200)) return;
  const code = String(backOff.extensions?.code) as ErrorCode;
  http.status = ERROR_CATALOG[code].httpStatus;
  const { retryAfterSeconds, unlockAt } = backOff.extensions ?? {};
  const seconds =
    typeof retryAfterSeconds === 'number'
      ? retryAfterSeconds
      : typeof unlockAt === 'string'
        ? Math.ceil((Date.parse(unlockAt) - Date.now()) / 1000)
        : code === ErrorCode.SERVICE_UNAVAILABLE
          ? UNAVAILABLE_RETRY_AFTER_SECONDS
          : undefined;
  if (seconds !== undefined && Number.isFinite(seconds)) http.headers.set('retry-after', String(Math.max(1, seconds)));
}

/**
 * Logs every error of a request once, with its context (REQ 3.3): 4xx-class at info,
 * security at warn, 5xx-class at error with the full cause chain; and stamps each error in the
 * response with the request's correlation id so support can find the log line (REQ 3.5).
 */
export function createErrorReportingPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName, request, document }) {
          // Validation failures happen before Apollo resolves the operation: read the name off the parsed document.
          const name =
            operationName ?? request.operationName ?? (document ? getOperationAST(document)?.name?.value : undefined);
          // The request's span (when tracing) records each error; 5xx-class ones mark it failed.
          const span = trace.getActiveSpan();
          for (const error of errors) {
            const appError = resolveAppError(error);
            const entry = ERROR_CATALOG[appError.code];
            span?.addEvent('exception', {
              'exception.type': appError.code,
              'exception.message': appError.message,
              'graphql.error.code': appError.code,
              ...(error.path ? { 'graphql.error.path': error.path.join('.') } : {}),
            });
            if (entry.logLevel === 'error') span?.setStatus({ code: SpanStatusCode.ERROR, message: appError.code });
            contextValue.logger.log(entry.logLevel, appError.message, {
              code: appError.code,
              operationName: name ?? null,
              path: error.path?.join('.'),
              details: appError.details,
              ...(entry.logLevel === 'error' ? { error: appError.cause ?? error } : {}),
            });
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          for (const error of response.body.singleResult.errors) {
            (error.extensions as Record<string, unknown> | undefined) ??= {};
            Object.assign(error.extensions as Record<string, unknown>, {
              correlationId: contextValue.requestId,
              ...(contextValue.traceId ? { traceId: contextValue.traceId } : {}),
            });
          }
          backOffStatus(response.body.singleResult, response.http);
        },
      };
    },
  };
}

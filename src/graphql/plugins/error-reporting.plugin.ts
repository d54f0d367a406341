import type { ApolloServerPlugin } from '@apollo/server';
import { getOperationAST } from 'graphql';
import { ERROR_CATALOG } from '../../errors/index.js';
import type { GraphQLContext } from '../context.js';
import { resolveAppError } from '../errors.js';

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
          for (const error of errors) {
            const appError = resolveAppError(error);
            const entry = ERROR_CATALOG[appError.code];
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
            Object.assign(error.extensions as Record<string, unknown>, { correlationId: contextValue.requestId });
          }
        },
      };
    },
  };
}

import { unwrapResolverError } from '@apollo/server/errors';
import type { ValidationError as ClassValidatorError } from 'class-validator';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  AppError,
  ErrorCode,
  InternalError,
  isErrorCode,
  toAppError,
  ValidationError,
  type ErrorCode as Code,
} from '../errors/index.js';
import { classifyDatabaseError } from '../platform/db/index.js';
import { toFieldErrors } from './validation.js';

/**
 * Codes Apollo Server and graphql-js attach to errors they raise themselves (parse,
 * validation, variable coercion), mapped onto our catalog.
 */
const FRAMEWORK_CODES: Readonly<Record<string, Code>> = {
  GRAPHQL_PARSE_FAILED: ErrorCode.GRAPHQL_PARSE_FAILED,
  GRAPHQL_VALIDATION_FAILED: ErrorCode.GRAPHQL_VALIDATION_FAILED,
  BAD_USER_INPUT: ErrorCode.VALIDATION_ERROR,
  BAD_REQUEST: ErrorCode.BAD_REQUEST,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_REQUEST,
  // Apollo's APQ codes are kept as they are: Apollo Client's persisted-queries link acts on them.
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
};

/**
 * graphql-js reports a variable that does not coerce as `Variable "$input" got invalid value …
 * at "input.variants[0].price"; <reason>`: key it by path like our own validation errors.
 */
function coercionFields(message: string): Record<string, string[]> {
  const match = /^Variable "\$([^"]+)" got invalid value .*?(?: at "([^"]+)")?; (.*)$/s.exec(message);
  if (!match) return {};
  const path = (match[2] ?? match[1] ?? 'variables').replace(/\[(\d+)\]/g, '.$1');
  return { [path]: [match[3] ?? message] };
}

/**
 * The AppError behind any error that reaches the client: our own errors as they are, database
 * errors classified, framework errors mapped by their code, everything else INTERNAL_ERROR.
 */
export function resolveAppError(error: unknown): AppError {
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError) {
    // type-graphql's ArgumentValidationError: every violation of the arguments, by path.
    const violations = original.extensions.validationErrors;
    if (Array.isArray(violations)) return new ValidationError(toFieldErrors(violations as ClassValidatorError[]));
    const frameworkCode = FRAMEWORK_CODES[String(original.extensions.code ?? '')];
    if (frameworkCode === ErrorCode.VALIDATION_ERROR) {
      return new ValidationError(coercionFields(original.message), original.message);
    }
    const tokens = /contains more tha[nt] (\d+) tokens/.exec(original.message);
    if (frameworkCode === ErrorCode.GRAPHQL_PARSE_FAILED && tokens) {
      const max = Number(tokens[1]);
      // The parser stops at the limit, so "measured" is a lower bound.
      return new AppError(ErrorCode.OPERATION_LIMIT_EXCEEDED, {
        message: `The operation exceeds the tokens limit: more than ${max}.`,
        details: { limit: 'tokens', max, measured: max + 1 },
      });
    }
    if (frameworkCode) return new AppError(frameworkCode, { message: original.message });
    // Raised with one of our codes outside a resolver (e.g. authentication in the context).
    const ownCode = original.extensions.code;
    if (isErrorCode(ownCode) && !original.originalError) {
      const { code: _code, http: _http, correlationId: _id, ...details } = original.extensions;
      return new AppError(ownCode, { message: original.message, details });
    }
    if (original.originalError) return toAppError(original.originalError, [classifyDatabaseError]);
    return new InternalError(original);
  }
  return toAppError(original, [classifyDatabaseError]);
}

/**
 * Apollo's formatError: a catalog code, a user-safe message and the error's safe details;
 * never a stack, SQL or Prisma message (REQ 3.5, DESIGN.md section 4). The correlation id is
 * added per request by the error-reporting plugin.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const appError = resolveAppError(error);
  return {
    message: appError.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: {
      ...appError.details,
      code: appError.code,
      // Errors raised before the request pipeline (authentication) carry their id already.
      ...(typeof formatted.extensions?.correlationId === 'string'
        ? { correlationId: formatted.extensions.correlationId }
        : {}),
    },
  };
}

/**
 * The one error catalog (DESIGN.md section 4, spec 001 "Error Hierarchy"). Every error a
 * client sees carries one of these codes in `extensions.code`; the GraphQL schema exposes the
 * same list as the `ErrorCode` enum so clients can switch on it.
 */
export const ErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  CONFLICT: 'CONFLICT',
  INVALID_STATE_TRANSITION: 'INVALID_STATE_TRANSITION',
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  SCHEDULE_STALE: 'SCHEDULE_STALE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  ACCOUNT_LOCKED: 'ACCOUNT_LOCKED',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  OPERATION_LIMIT_EXCEEDED: 'OPERATION_LIMIT_EXCEEDED',
  OPERATION_TIMEOUT: 'OPERATION_TIMEOUT',
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  REQUEST_CANCELLED: 'REQUEST_CANCELLED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type LogLevel = 'info' | 'warn' | 'error';

export interface CatalogEntry {
  /** HTTP status a REST-style caller would see; also used for metrics classes. */
  httpStatus: number;
  /** User-safe default message. */
  message: string;
  /** Whether the same request may succeed if simply retried later. */
  retryable: boolean;
  /** 4xx-class at info, security at warn, 5xx-class at error (spec 001 "Error Logging"). */
  logLevel: LogLevel;
  /** One line for the API reference and the ErrorCode enum description. */
  description: string;
}

export const ERROR_CATALOG: Readonly<Record<ErrorCode, CatalogEntry>> = {
  NOT_FOUND: {
    httpStatus: 404,
    message: 'The requested resource does not exist.',
    retryable: false,
    logLevel: 'info',
    description: 'The resource does not exist or is not visible to the caller.',
  },
  VALIDATION_ERROR: {
    httpStatus: 400,
    message: 'The input is invalid.',
    retryable: false,
    logLevel: 'info',
    description: 'One or more inputs are invalid; `extensions.fields` maps each input path to its messages.',
  },
  CONFLICT: {
    httpStatus: 409,
    message: 'The request conflicts with existing data.',
    retryable: false,
    logLevel: 'info',
    description: 'A unique value is already taken; `extensions.field` names it.',
  },
  INVALID_STATE_TRANSITION: {
    httpStatus: 409,
    message: 'The requested status change is not allowed.',
    retryable: false,
    logLevel: 'info',
    description:
      'A status change that the state machine forbids; `extensions.currentState` and `requestedState` say which.',
  },
  INSUFFICIENT_STOCK: {
    httpStatus: 409,
    message: 'Not enough stock.',
    retryable: false,
    logLevel: 'info',
    description:
      'A variant has less stock than requested; `extensions.variantId` and `available` say how much there is.',
  },
  SCHEDULE_STALE: {
    httpStatus: 409,
    message: "The week's shifts or employees changed since this schedule was solved; generate it again.",
    retryable: false,
    logLevel: 'info',
    description:
      'publishSchedule refused: the shifts or employees the solve used changed since; `extensions.jobId` names the stale job.',
  },
  UNAUTHENTICATED: {
    httpStatus: 401,
    message: 'Authentication is required.',
    retryable: false,
    logLevel: 'warn',
    description: 'No valid credentials were presented.',
  },
  FORBIDDEN: {
    httpStatus: 403,
    message: 'You are not allowed to do this.',
    retryable: false,
    logLevel: 'warn',
    description: 'The caller lacks the permission the field requires.',
  },
  RATE_LIMITED: {
    httpStatus: 429,
    message: 'Too many requests.',
    retryable: true,
    logLevel: 'warn',
    description: 'A rate limit or cost budget is exhausted; `extensions.retryAfterSeconds` says when to retry.',
  },
  ACCOUNT_LOCKED: {
    httpStatus: 423,
    message: 'The account is temporarily locked.',
    retryable: true,
    logLevel: 'warn',
    description: 'Too many failed logins; `extensions.unlockAt` says when the lock ends.',
  },
  GRAPHQL_PARSE_FAILED: {
    httpStatus: 400,
    message: 'The GraphQL document could not be parsed.',
    retryable: false,
    logLevel: 'info',
    description: 'The document is not valid GraphQL syntax.',
  },
  GRAPHQL_VALIDATION_FAILED: {
    httpStatus: 400,
    message: 'The GraphQL document is not valid against the schema.',
    retryable: false,
    logLevel: 'info',
    description: 'The document asks for fields, arguments or types the schema does not have.',
  },
  BAD_REQUEST: {
    httpStatus: 400,
    message: 'The request is malformed.',
    retryable: false,
    logLevel: 'info',
    description: 'The HTTP request itself is malformed (body, variables, content type).',
  },
  OPERATION_LIMIT_EXCEEDED: {
    httpStatus: 400,
    message: 'The operation is too large or too expensive.',
    retryable: false,
    logLevel: 'warn',
    description: 'The operation exceeds a limit; `extensions.limit`, `max` and `measured` say which and by how much.',
  },
  OPERATION_TIMEOUT: {
    httpStatus: 504,
    message: 'The operation took too long and was stopped.',
    retryable: true,
    logLevel: 'warn',
    description:
      'The operation ran past the execution timeout (`extensions.timeoutMs`); its transactions were rolled back.',
  },
  PERSISTED_QUERY_NOT_IN_LIST: {
    httpStatus: 400,
    message: 'This operation is not in the list of persisted operations.',
    retryable: false,
    logLevel: 'warn',
    description:
      'Safelist mode runs only operations of the published manifests: send a manifest id or the manifest document.',
  },
  PERSISTED_QUERY_NOT_FOUND: {
    httpStatus: 200,
    message: 'PersistedQueryNotFound',
    retryable: true,
    logLevel: 'info',
    description:
      'The automatic persisted query hash is not registered yet: send the same request again with the full `query`.',
  },
  PERSISTED_QUERY_NOT_SUPPORTED: {
    httpStatus: 200,
    message: 'PersistedQueryNotSupported',
    retryable: false,
    logLevel: 'info',
    description: 'Persisted queries are turned off on this gateway: send the full `query`.',
  },
  REQUEST_CANCELLED: {
    httpStatus: 499,
    message: 'The request was cancelled.',
    retryable: true,
    logLevel: 'info',
    description: 'The client went away or the request was aborted; its transaction was rolled back.',
  },
  SERVICE_UNAVAILABLE: {
    httpStatus: 503,
    message: 'The service is temporarily unavailable. Please retry.',
    retryable: true,
    logLevel: 'error',
    description: 'A dependency is down, timed out or stayed contended after retries; retrying later may succeed.',
  },
  INTERNAL_ERROR: {
    httpStatus: 500,
    message: 'An internal error occurred. Quote the correlation id when contacting support.',
    retryable: false,
    logLevel: 'error',
    description: 'An unexpected failure; details are logged under the correlation id, never returned.',
  },
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);
}

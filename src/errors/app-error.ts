import { ERROR_CATALOG, ErrorCode } from './catalog.js';

export type ErrorDetails = Record<string, unknown>;

export interface AppErrorOptions {
  /** User-safe message; defaults to the catalog's. */
  message?: string;
  /** User-safe structured details, returned in `extensions`. */
  details?: ErrorDetails;
  /** The underlying error: logged in full, never returned (REQ 3.2). */
  cause?: unknown;
}

/**
 * An expected failure with a catalog code (REQ 3.1, PROP 5). Its message and details are safe
 * to return to clients; the cause chain is for logs only.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? ERROR_CATALOG[code].message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  get httpStatus(): number {
    return ERROR_CATALOG[this.code].httpStatus;
  }

  get retryable(): boolean {
    return ERROR_CATALOG[this.code].retryable;
  }
}

export class NotFoundError extends AppError {
  constructor(resource: string, id?: string, cause?: unknown) {
    super(ErrorCode.NOT_FOUND, {
      message: id === undefined ? `${resource} not found.` : `${resource} ${id} not found.`,
      details: { resource, ...(id === undefined ? {} : { id }) },
      cause,
    });
  }
}

/** Field-level problems: input path → messages (REQ 2.3). */
export type FieldErrors = Record<string, string[]>;

export class ValidationError extends AppError {
  readonly fields: FieldErrors;

  constructor(fields: FieldErrors, message = 'The input is invalid.', cause?: unknown) {
    super(ErrorCode.VALIDATION_ERROR, { message, details: { fields }, cause });
    this.fields = fields;
  }

  static forField(path: string, message: string, cause?: unknown): ValidationError {
    return new ValidationError({ [path]: [message] }, message, cause);
  }
}

export class ConflictError extends AppError {
  constructor(field: string, message = `A record with this ${field} already exists.`, cause?: unknown) {
    super(ErrorCode.CONFLICT, { message, details: { field }, cause });
  }
}

export class InvalidStateTransitionError extends AppError {
  constructor(entity: string, currentState: string, requestedState: string) {
    super(ErrorCode.INVALID_STATE_TRANSITION, {
      message: `${entity} cannot move from ${currentState} to ${requestedState}.`,
      details: { entity, currentState, requestedState },
    });
  }
}

export class InsufficientStockError extends AppError {
  constructor(variantId: string, requested: number, available: number) {
    super(ErrorCode.INSUFFICIENT_STOCK, {
      message: `Variant ${variantId} has ${available} in stock; ${requested} requested.`,
      details: { variantId, requested, available },
    });
  }
}

export class ScheduleStaleError extends AppError {
  constructor(jobId: string) {
    super(ErrorCode.SCHEDULE_STALE, { details: { jobId } });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message?: string) {
    super(ErrorCode.UNAUTHENTICATED, { message });
  }
}

export class ForbiddenError extends AppError {
  constructor(message?: string, details?: ErrorDetails) {
    super(ErrorCode.FORBIDDEN, { message, details });
  }
}

export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message?: string,
  ) {
    super(ErrorCode.RATE_LIMITED, { message, details: { retryAfterSeconds } });
  }
}

export class AccountLockedError extends AppError {
  constructor(readonly unlockAt: Date) {
    super(ErrorCode.ACCOUNT_LOCKED, {
      message: `The account is locked until ${unlockAt.toISOString()}.`,
      details: { unlockAt: unlockAt.toISOString() },
    });
  }
}

export class RequestCancelledError extends AppError {
  constructor(cause?: unknown) {
    super(ErrorCode.REQUEST_CANCELLED, { cause });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(dependency: string, cause?: unknown) {
    super(ErrorCode.SERVICE_UNAVAILABLE, { details: { dependency }, cause });
  }
}

export class InternalError extends AppError {
  constructor(cause?: unknown) {
    super(ErrorCode.INTERNAL_ERROR, { cause });
  }
}

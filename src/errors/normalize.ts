import { AppError, InternalError, RequestCancelledError } from './app-error.js';

/** Recognizes a family of foreign errors (database, Redis, HTTP) and maps it into the catalog. */
export type ErrorClassifier = (error: unknown) => AppError | undefined;

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/**
 * Maps any thrown value onto exactly one catalog code (PROP 5, PROP 6): AppErrors pass through,
 * classifiers get a chance, aborts become REQUEST_CANCELLED, and everything else is
 * INTERNAL_ERROR with the original kept as `cause` for the logs.
 */
export function toAppError(error: unknown, classifiers: readonly ErrorClassifier[] = []): AppError {
  if (error instanceof AppError) return error;
  for (const classify of classifiers) {
    const classified = classify(error);
    if (classified) return classified;
  }
  if (isAbortError(error)) return new RequestCancelledError(error);
  return new InternalError(error);
}

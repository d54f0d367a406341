export * from './app-error.js';
export { ERROR_CATALOG, ErrorCode, isErrorCode, type CatalogEntry, type LogLevel } from './catalog.js';
export { toAppError, type ErrorClassifier } from './normalize.js';

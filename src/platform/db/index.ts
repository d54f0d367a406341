export {
  createDatabase,
  type Database,
  type DatabaseOptions,
  type Prisma,
  type PrismaTx,
  type StatementEvent,
} from './client.js';
export {
  classifyDatabaseError,
  constraintColumns,
  describeDbFailure,
  isRetryableTransactionError,
} from './db-errors.js';
export {
  applyMigrations,
  ensureMigrated,
  getMigrationStatus,
  loadMigrations,
  markRolledBack,
  MigrationError,
  parseMigration,
  type Migration,
  type MigrationStatus,
} from './migrator.js';
export {
  backoffDelay,
  createTransactionRunner,
  type IsolationLevel,
  type RunInTransaction,
  type TransactionOptions,
} from './transaction.js';

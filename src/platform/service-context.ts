import type { Logger } from '../observability/logger.js';
import type { Prisma } from './db/client.js';
import type { RunInTransaction } from './db/transaction.js';

/**
 * What a service needs from the request: data access, the transaction runner, cancellation
 * and who is acting. GraphQL's context is a superset, so resolvers pass it straight through.
 */
export interface ServiceContext {
  prisma: Prisma;
  runInTransaction: RunInTransaction;
  /** Aborted when the client goes away; transactions roll back (REQ 4.5). */
  signal: AbortSignal;
  logger: Logger;
  /** The authenticated user acting, or null for anonymous calls. */
  actor: { userId: string | null };
}

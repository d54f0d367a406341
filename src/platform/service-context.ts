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
  /** Who is calling: resolved once per request from the access token. */
  actor: Actor;
}

export interface Actor {
  /** The authenticated user, or null for anonymous calls. */
  userId: string | null;
  /** Set for customer-facing accounts: the customer whose data SELF_SERVICE opens. */
  customerId: string | null;
  /** Effective permissions from the user's roles (through the permission cache). */
  permissions: ReadonlySet<string>;
  /** The refresh-token session the access token belongs to. */
  sessionId: string | null;
  /** The access token's id, for logout. */
  tokenId: string | null;
  /** When the access token expires (seconds since the epoch). */
  tokenExpiresAt: number | null;
}

export const ANONYMOUS: Actor = Object.freeze({
  userId: null,
  customerId: null,
  permissions: new Set<string>(),
  sessionId: null,
  tokenId: null,
  tokenExpiresAt: null,
});

/** True when the caller may only see its own customer's data (SELF_SERVICE without the staff permission). */
export function isSelfServiceOnly(actor: Actor, staffPermission: string): boolean {
  return !actor.permissions.has(staffPermission) && actor.permissions.has('SELF_SERVICE');
}

/**
 * Object-level access (no IDOR): staff with the permission see every customer's records; a
 * self-service caller only its own customer's. Callers turn `false` into NOT_FOUND or null, so
 * a guessed id reveals nothing, not even that it exists.
 */
export function canAccessCustomer(actor: Actor, customerId: string, staffPermission: string): boolean {
  if (actor.permissions.has(staffPermission)) return true;
  return actor.permissions.has('SELF_SERVICE') && actor.customerId !== null && actor.customerId === customerId;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { AppConfig } from '../config/index.js';
import type { Database, Prisma } from '../platform/db/index.js';
import type { RunInTransaction } from '../platform/db/index.js';
import { AppError } from '../errors/index.js';
import type { Identity } from '../modules/identity/index.js';
import type { SchedulingRuntime } from '../modules/scheduling/index.js';
import type { Logger } from '../observability/logger.js';
import type { ServiceContext } from '../platform/service-context.js';
import { activeTraceId } from '../observability/tracing.js';
import type { CacheDependencies } from './cached-read-lane.js';
import { createLoaders, type Loaders } from './loaders.js';

/** Everything a resolver may use, built once per request (DESIGN.md section 2, step 3). */
export interface GraphQLContext extends ServiceContext {
  /** Correlation id: the client's x-request-id when well-formed, else generated. */
  requestId: string;
  /** The request's trace id when it is traced (errors carry it next to the correlation id). */
  traceId: string | undefined;
  /** Client address as resolved through the trusted proxy list only. */
  clientIp: string;
  userAgent: string | undefined;
  /** Child logger carrying requestId (and, once authenticated, userId). */
  logger: Logger;
  prisma: Prisma;
  runInTransaction: RunInTransaction;
  /**
   * Aborted when the client disconnects or the operation times out; passed to transactions so
   * they roll back (REQ 4.5).
   */
  signal: AbortSignal;
  /** Process-wide facts a few resolvers report (version, start time). */
  runtime: RuntimeInfo;
  database: Pick<Database, 'poolStats'>;
  config: Pick<AppConfig, 'env'>;
  /** Fresh per request (REQ 6.3). */
  loaders: Loaders;
  /** The identity services (tokens, passwords, login guard, permission cache, audit). */
  identity: Identity;
  /** The schedule solve queue, solution cache and settings (issue 8). */
  scheduling: SchedulingRuntime;
  /** Sensitive records already audited in this request (one event per record). */
  sensitiveReads: Set<string>;
  /** Static cost of the operation, set by the operation-limits plugin for the budget. */
  operationCost?: number;
  /** What the answer depends on, when the cached-read lane may keep it (src/graphql/cached-read-lane.ts). */
  cacheDeps?: CacheDependencies;
}

export interface RuntimeInfo {
  version: string;
  startedAt: Date;
}

export interface ContextFactoryOptions {
  logger: Logger;
  database: Database;
  runInTransaction: RunInTransaction;
  runtime: RuntimeInfo;
  config: AppConfig;
  identity: Identity;
  scheduling: SchedulingRuntime;
}

/** The one place request context is assembled; fresh per request, nothing shared. */
export function createContextFactory(options: ContextFactoryOptions) {
  const { logger, database, runInTransaction, runtime, config, identity, scheduling } = options;
  return async function buildContext(
    request: FastifyRequest,
    _reply: FastifyReply,
    controller: AbortController,
    cacheDeps?: CacheDependencies,
  ): Promise<GraphQLContext> {
    let actor;
    try {
      actor = await identity.authenticate(request.headers.authorization);
    } catch (error) {
      // A presented credential that does not check out fails the whole request with 401.
      if (error instanceof AppError) {
        throw new GraphQLError(error.message, {
          extensions: { code: error.code, correlationId: request.id, http: { status: error.httpStatus } },
        });
      }
      throw error;
    }
    return {
      requestId: request.id,
      traceId: activeTraceId(),
      clientIp: request.ip,
      userAgent: request.headers['user-agent'],
      logger: logger.child({ requestId: request.id, ...(actor.userId ? { userId: actor.userId } : {}) }),
      prisma: database.prisma,
      runInTransaction,
      signal: controller.signal,
      runtime,
      database,
      config: { env: config.env },
      loaders: createLoaders(database.prisma),
      actor,
      identity,
      scheduling,
      sensitiveReads: new Set(),
      cacheDeps,
    };
  };
}

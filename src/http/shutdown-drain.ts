import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';

export interface DrainOptions {
  /** Longest wait for in-flight requests before their connections are cut (REQ 9.2, 9.4). */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Apollo's drain step: stop accepting, let in-flight requests finish, and after `timeoutMs`
 * close whatever is left, logging the forced terminations (REQ 9.5).
 */
export function createDrainPlugin(server: FastifyInstance, options: DrainOptions): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async drainServer() {
          const force = setTimeout(() => {
            options.logger.warn('shutdown drain timed out: closing remaining connections', {
              timeoutMs: options.timeoutMs,
            });
            server.server.closeAllConnections();
          }, options.timeoutMs);
          // A keep-alive connection whose last request finishes during the drain would otherwise
          // stay open until its keep-alive timeout: close connections as soon as they fall idle.
          const idle = setInterval(() => server.server.closeIdleConnections(), 100);
          try {
            await server.close();
          } finally {
            clearInterval(idle);
            clearTimeout(force);
          }
        },
      };
    },
  };
}

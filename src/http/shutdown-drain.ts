import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';

export interface DrainOptions {
  /** Longest wait for in-flight requests before their connections are cut (REQ 9.2, 9.4). */
  timeoutMs: number;
  /**
   * How long a connection without a request in progress is kept open once the drain has begun:
   * a connection accepted just before the listener closed, or a keep-alive one, may carry a
   * request that is already on its way (a load balancer connects and sends at once).
   */
  idleGraceMs: number;
  logger: Logger;
}

/** How often the drain looks for connections that have stayed idle through the grace. */
const SWEEP_INTERVAL_MS = 100;

interface Connection {
  /** Requests read on this connection whose responses have not finished. */
  active: number;
  /** The response being written, to mark it `Connection: close` when the drain begins. */
  response: ServerResponse | undefined;
  /** When the connection last showed activity: accepted, bytes read, or a response finished. */
  lastActiveAt: number;
  bytesRead: number;
}

/**
 * Apollo's drain step (REQ 9.2-9.5): stop accepting, serve every connection already accepted,
 * and after `timeoutMs` close whatever is left, logging the forced terminations.
 *
 * Node's `http.Server.close()` also destroys every connection without a request in progress,
 * including one accepted a moment ago whose request has not been read yet: behind a load
 * balancer that is a request sent and lost (a 502). So only the listening socket is closed here;
 * responses written during the drain say `Connection: close`, and a connection is closed by the
 * gateway only after it has stayed idle for `idleGraceMs` of the drain.
 */
export function createDrainPlugin(server: FastifyInstance, options: DrainOptions): ApolloServerPlugin {
  const http: Server = server.server;
  const connections = new Map<Socket, Connection>();
  let draining = false;

  http.on('connection', (socket: Socket) => {
    connections.set(socket, { active: 0, response: undefined, lastActiveAt: Date.now(), bytesRead: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  // Ahead of Fastify's own listener, so the header is set before any handler can answer.
  http.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    const connection = connections.get(response.socket as Socket);
    if (draining) response.setHeader('connection', 'close');
    if (!connection) return;
    connection.active += 1;
    connection.response = response;
    response.once('close', () => {
      connection.active -= 1;
      if (connection.response === response) connection.response = undefined;
      connection.lastActiveAt = Date.now();
    });
  });

  /** Closes the connections that have been idle for the whole grace since the drain began. */
  const sweep = (drainStartedAt: number) => {
    const now = Date.now();
    for (const [socket, connection] of connections) {
      // Bytes of a request still arriving (its headers are not complete yet) count as activity.
      if (socket.bytesRead !== connection.bytesRead) {
        connection.bytesRead = socket.bytesRead;
        connection.lastActiveAt = now;
      }
      const idleSince = Math.max(connection.lastActiveAt, drainStartedAt);
      if (connection.active === 0 && now - idleSince >= options.idleGraceMs) socket.destroy();
    }
  };

  return {
    async serverWillStart() {
      return {
        async drainServer() {
          if (!http.listening) return;
          draining = true;
          const startedAt = Date.now();
          for (const { response } of connections.values()) {
            if (response && !response.headersSent) response.setHeader('connection', 'close');
          }
          const closed = new Promise<void>((resolve) => {
            // net.Server's close, not http.Server's: the listening socket only. Its callback runs
            // once the last connection has ended.
            NetServer.prototype.close.call(http, () => resolve());
          });
          const force = setTimeout(() => {
            options.logger.warn('shutdown drain timed out: closing remaining connections', {
              timeoutMs: options.timeoutMs,
              connections: connections.size,
            });
            // Every connection is in `connections` (tracked from its 'connection' event).
            for (const socket of connections.keys()) socket.destroy();
          }, options.timeoutMs);
          const idle = setInterval(() => sweep(startedAt), SWEEP_INTERVAL_MS);
          // At once too: without a grace, the idle connections close now rather than at the first tick.
          sweep(startedAt);
          try {
            await closed;
          } finally {
            clearInterval(idle);
            clearTimeout(force);
          }
        },
      };
    },
  };
}

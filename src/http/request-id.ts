import type { FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A client-supplied id is kept only when it is short and plain, so logs cannot be forged. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Correlation ids (DESIGN.md section 2, step 1; REQ 3.3): accepts the caller's x-request-id or
 * keeps the generated one, echoes it on the response, and logs one line per request.
 */
export function registerRequestId(server: FastifyInstance, logger: Logger): void {
  server.addHook('onRequest', async (request, reply) => {
    const supplied = request.headers[REQUEST_ID_HEADER];
    if (typeof supplied === 'string' && ACCEPTABLE_ID.test(supplied)) request.id = supplied;
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  server.addHook('onResponse', async (request, reply) => {
    logger.http('request completed', {
      requestId: request.id,
      method: request.method,
      path: request.routeOptions.url ?? request.url.split('?')[0],
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      clientIp: request.ip,
    });
  });
}

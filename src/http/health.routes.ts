import type { FastifyInstance } from 'fastify';
import type { Database } from '../platform/db/index.js';

export interface HealthRouteOptions {
  database: Pick<Database, 'prisma'>;
  /** The readiness check answers within this budget (REQ 8.5). @default 1000 */
  timeoutMs?: number;
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness and readiness for orchestrators (REQ 8.1-8.3). */
export function registerHealthRoutes(server: FastifyInstance, options: HealthRouteOptions): void {
  const timeoutMs = options.timeoutMs ?? 1_000;
  server.get('/health/live', async () => ({ status: 'ok' }));
  server.get('/health/ready', async (_request, reply) => {
    const started = performance.now();
    try {
      await withTimeout(options.database.prisma.$queryRaw`SELECT 1`, timeoutMs);
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      return { status: 'ready', checks: { database: { status: 'up', latencyMs } } };
    } catch (error) {
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      return reply.code(503).send({
        status: 'not_ready',
        checks: {
          database: {
            status: 'down',
            latencyMs,
            error: /timed out/.test((error as Error).message) ? 'timeout' : 'unreachable',
          },
        },
      });
    }
  });
}

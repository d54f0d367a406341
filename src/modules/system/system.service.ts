import { ERROR_CATALOG, type ErrorCode } from '../../errors/index.js';
import type { Prisma } from '../../platform/db/index.js';
import type { ErrorCodeInfo, Health } from './system.types.js';

export interface SystemServiceDeps {
  prisma: Prisma;
  version: string;
  startedAt: Date;
}

/** Probes the database with a trivial statement; a failure is reported, never thrown. */
async function probeDatabase(prisma: Prisma): Promise<Health['database']> {
  const started = performance.now();
  try {
    await prisma.$queryRaw`SELECT 1`;
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch {
    return { status: 'down', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  }
}

export async function getHealth(deps: SystemServiceDeps): Promise<Health> {
  const database = await probeDatabase(deps.prisma);
  return {
    status: database.status === 'up' ? 'ok' : 'degraded',
    version: deps.version,
    uptimeSeconds: Math.floor((Date.now() - deps.startedAt.getTime()) / 1000),
    database,
  };
}

export function listErrorCodes(): ErrorCodeInfo[] {
  return (Object.keys(ERROR_CATALOG) as ErrorCode[]).map((code) => ({
    code,
    httpStatus: ERROR_CATALOG[code].httpStatus,
    retryable: ERROR_CATALOG[code].retryable,
    description: ERROR_CATALOG[code].description,
  }));
}

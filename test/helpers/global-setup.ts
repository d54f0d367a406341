import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/observability/logger.js';
import { applyMigrations, loadMigrations } from '../../src/platform/db/migrator.js';
import { createDatabase, dropDatabase, withAdmin } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrated, empty database each worker clones its own from. */
    templateDatabase: string;
    /** Prefix of every database this run creates; teardown drops them all. */
    databasePrefix: string;
  }
}

/** Runs older than this that left databases behind (a killed run) are cleaned up. */
const STALE_AFTER_MS = 2 * 60 * 60 * 1000;

export default async function setup(project: TestProject) {
  const runId = Date.now();
  const prefix = `erp_test_${runId}_`;
  await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'erp_test_%'`,
    );
    for (const { datname } of rows) {
      const started = Number(/^erp_test_(\d+)_/.exec(datname)?.[1]);
      if (Number.isFinite(started) && runId - started > STALE_AFTER_MS) {
        await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    }
  });
  const template = `${prefix}template`;
  const url = await createDatabase(template);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await applyMigrations(pool, loadMigrations(join(import.meta.dirname, '..', '..', 'prisma', 'migrations')), {
      logger: createLogger({ level: 'warn' }),
    });
  } finally {
    await pool.end();
  }
  project.provide('templateDatabase', template);
  project.provide('databasePrefix', prefix);

  return async () => {
    await withAdmin(async (admin) => {
      const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
        `${prefix}%`,
      ]);
      for (const { datname } of rows) await dropDatabase(datname);
    });
  };
}

// npm run restore -- --file <dump>|latest --database <name> [--create]
// Restores a dump of `npm run backup` into the named database of DATABASE_URL's server (same
// credentials): the checksum must match, the target must be empty (--create creates it first).
// A bare file name is looked up in BACKUP_DIR; `latest` is the newest dump there.
// Exit code: 0 restored, 1 refused or failed, 2 could not run (usage, configuration).
// In production: node dist/src/platform/db/restore.cli.js (runbook: docs/runbooks/restore.md)
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../observability/logger.js';
import { findProjectRoot } from '../project-root.js';
import { databaseUrlFor, latestBackup, restoreBackup, RestoreRefusedError } from './backup.js';

const USAGE = 'usage: restore --file <dump>|latest --database <name> [--create]';
let values: { file?: string; database?: string; create?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      file: { type: 'string' },
      database: { type: 'string' },
      create: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  }));
  if (!values.file || !values.database) throw new Error('--file and --database are required');
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

const config = loadConfig({ rootDir: findProjectRoot() });
const logger = createLogger({ level: 'info', format: config.log.format, secretValues: config.secretValues });

/** The dump to restore: `latest`, a path, or a name in BACKUP_DIR. */
async function resolveDump(file: string): Promise<string | undefined> {
  if (file === 'latest') return latestBackup(config.backup.dir);
  if (isAbsolute(file) || existsSync(file)) return resolve(file);
  const inBackupDir = join(config.backup.dir, file);
  return existsSync(inBackupDir) ? inBackupDir : resolve(file);
}

if (config.database.url === undefined) {
  logger.error('restore needs DATABASE_URL: the target database is named on its server');
  process.exitCode = 2;
} else {
  try {
    const file = await resolveDump(values.file!);
    if (file === undefined) throw new RestoreRefusedError(`no backup in ${config.backup.dir}`);
    const outcome = await restoreBackup({
      file,
      targetUrl: databaseUrlFor(config.database.url, values.database!),
      create: values.create,
      maintenanceUrl: config.database.url,
      logger,
    });
    logger.info('restore complete', {
      file,
      database: outcome.database,
      created: outcome.created,
      sha256: outcome.sha256,
      durationMs: outcome.durationMs,
      tableCount: outcome.tables.length,
      totalRows: outcome.tables.reduce((sum, t) => sum + t.rows, 0),
      rows: Object.fromEntries(outcome.tables.map((t) => [t.table, t.rows])),
    });
  } catch (error) {
    if (error instanceof RestoreRefusedError) logger.error(`restore refused: ${error.message}`);
    else logger.error('restore failed', { error });
    process.exitCode = 1;
  }
}

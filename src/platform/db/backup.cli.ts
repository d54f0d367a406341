// npm run backup — pg_dump (custom format) of DATABASE_URL into BACKUP_DIR: verified with
// pg_restore --list and a sha256, retried once, then old dumps pruned (BACKUP_KEEP_*).
// Every run writes BACKUP_DIR/backup-status.json, which /metrics turns into the backup alerts.
// Exit code: 0 backed up, 1 failed after its retry (the status file says why), 2 could not run.
// In production: node dist/src/platform/db/backup.cli.js (every 6 hours: deploy/backup/crontab.example)
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../observability/logger.js';
import { findProjectRoot } from '../project-root.js';
import { runBackup } from './backup.js';

try {
  parseArgs({ options: {}, allowPositionals: false });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\nusage: backup\n`);
  process.exit(2);
}

// Like openCliDatabase, but without its embedded fallback: PGlite is not a server pg_dump can
// dump (another major version), and a development database needs no backups.
const config = loadConfig({ rootDir: findProjectRoot() });
const logger = createLogger({ level: 'info', format: config.log.format, secretValues: config.secretValues });
if (config.database.url === undefined) {
  logger.error('backup needs DATABASE_URL (the embedded development database is not backed up)');
  process.exitCode = 2;
} else {
  try {
    const outcome = await runBackup({
      url: config.database.url,
      dir: config.backup.dir,
      keep: config.backup.keep,
      logger,
    });
    if (outcome.status.ok) {
      logger.info('backup complete', { file: outcome.file, sha256: outcome.sha256, removed: outcome.removed });
    } else {
      process.exitCode = 1;
    }
  } catch (error) {
    logger.error('backup command failed', { error });
    process.exitCode = 1;
  }
}

// npm run db:migrate [-- --allow-destructive=all|<name>,…] [-- --status] [-- --mark-rolled-back <name>]
// Applies pending migrations (REQ 19). In production: node dist/src/platform/db/migrate.cli.js
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openCliDatabase } from './cli-support.js';
import { applyMigrations, getMigrationStatus, loadMigrations, markRolledBack, MigrationError } from './migrator.js';

const USAGE = 'usage: db:migrate [--status] [--allow-destructive=all|<name>,…] [--mark-rolled-back <name>]';
let values: { 'allow-destructive'?: string; status?: boolean; 'mark-rolled-back'?: string };
try {
  ({ values } = parseArgs({
    options: {
      'allow-destructive': { type: 'string' },
      status: { type: 'boolean', default: false },
      'mark-rolled-back': { type: 'string' },
    },
    allowPositionals: false,
  }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
// `--allow-destructive=all` confirms every destructive migration; `=a,b` confirms those names.
const rawAllow = values['allow-destructive'];
const allowDestructive =
  rawAllow === undefined ? false : rawAllow === '' || rawAllow === 'all' ? true : rawAllow.split(',');

const cli = await openCliDatabase();
const pool = new pg.Pool({ connectionString: cli.url, max: 1 });
try {
  const migrations = loadMigrations(join(cli.rootDir, 'prisma', 'migrations'));
  if (values['mark-rolled-back']) {
    await markRolledBack(pool, values['mark-rolled-back']);
    cli.logger.info('migration marked as rolled back', { migration: values['mark-rolled-back'] });
  } else if (values.status) {
    const client = await pool.connect();
    try {
      const status = await getMigrationStatus(client, migrations);
      cli.logger.info('migration status', {
        applied: status.applied.map((m) => m.name),
        pending: status.pending.map((m) => m.name),
        problems: status.problems,
        unknown: status.unknown,
      });
      if (status.pending.length > 0 || status.problems.length > 0) process.exitCode = 1;
    } finally {
      client.release();
    }
  } else {
    const applied = await applyMigrations(pool, migrations, {
      logger: cli.logger,
      allowDestructive: allowDestructive || cli.config.database.allowDestructiveMigrations,
    });
    cli.logger.info(applied.length > 0 ? 'migrations applied' : 'database is up to date', { applied });
  }
} catch (error) {
  if (error instanceof MigrationError)
    cli.logger.error(error.message, { kind: error.kind, migrations: error.migrations });
  else cli.logger.error('migration command failed', { error });
  process.exitCode = 1;
} finally {
  await pool.end();
  await cli.stop();
}

import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from '../../observability/logger.js';
import { destructiveReason, splitSqlStatements, type SqlStatement } from './sql-statements.js';

/** A migration declares itself non-transactional (CREATE INDEX CONCURRENTLY) with this first line. */
export const NO_TRANSACTION_MARKER = '-- migrate:no-transaction';

/** Prisma Migrate's advisory lock key, so our runner and Prisma's never migrate at once. */
const MIGRATION_LOCK_KEY = 72707369;

/**
 * Prisma Migrate's history table, column for column, so `prisma migrate status` and other
 * Prisma tooling read our history as their own (REQ 19.5).
 */
const HISTORY_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  /** Folder name, e.g. 20261124000000_init; the sort order is the apply order. */
  name: string;
  sql: string;
  /** SHA-256 of migration.sql, as Prisma computes it. */
  checksum: string;
  transactional: boolean;
  statements: SqlStatement[];
  /** Statements that destroy data, with the reason (REQ 19.4). */
  destructive: { statement: string; reason: string }[];
}

export interface AppliedMigration {
  name: string;
  checksum: string;
  finishedAt: Date | null;
  rolledBackAt: Date | null;
  startedAt: Date;
}

export interface MigrationStatus {
  applied: AppliedMigration[];
  pending: Migration[];
  /** Problems that make the database unsafe to serve or migrate (checksum mismatch, half-applied). */
  problems: string[];
  /** Applied migrations that are not on disk (e.g. after rolling back the app version). */
  unknown: string[];
}

export type MigrationErrorKind = 'pending' | 'destructive' | 'failed' | 'checksum' | 'half-applied';

/** A refusal or failure of the migration runner; the message names the migrations concerned. */
export class MigrationError extends Error {
  constructor(
    readonly kind: MigrationErrorKind,
    message: string,
    readonly migrations: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Reads prisma/migrations/<name>/migration.sql folders in name order. */
export function loadMigrations(dir: string): Migration[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => parseMigration(name, readFileSync(join(dir, name, 'migration.sql'), 'utf8')));
}

export function parseMigration(name: string, sql: string): Migration {
  const statements = splitSqlStatements(sql);
  const destructive = statements.flatMap((s) => {
    const reason = destructiveReason(s.text);
    return reason ? [{ statement: s.text, reason }] : [];
  });
  return {
    name,
    sql,
    checksum: checksumOf(sql),
    transactional: !sql.trimStart().toLowerCase().startsWith(NO_TRANSACTION_MARKER),
    statements,
    destructive,
  };
}

type Queryable = Pick<pg.PoolClient, 'query'>;

async function readHistory(db: Queryable): Promise<AppliedMigration[]> {
  const exists = await db.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const { rows } = await db.query<{
    migration_name: string;
    checksum: string;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    started_at: Date;
  }>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, started_at
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return rows.map((r) => ({
    name: r.migration_name,
    checksum: r.checksum,
    finishedAt: r.finished_at,
    rolledBackAt: r.rolled_back_at,
    startedAt: r.started_at,
  }));
}

/** Compares the migrations on disk with the database's history (REQ 19.3, 19.5). */
export async function getMigrationStatus(db: Queryable, migrations: Migration[]): Promise<MigrationStatus> {
  const history = (await readHistory(db)).filter((m) => m.rolledBackAt === null);
  const finished = new Map(history.filter((m) => m.finishedAt !== null).map((m) => [m.name, m]));
  const problems: string[] = [];
  for (const m of history) {
    if (m.finishedAt === null) {
      problems.push(
        `migration ${m.name} started at ${m.startedAt.toISOString()} and never finished; repair the database, then mark it with \`npm run db:migrate -- --mark-rolled-back ${m.name}\``,
      );
    }
  }
  for (const migration of migrations) {
    const applied = finished.get(migration.name);
    if (applied && applied.checksum !== migration.checksum) {
      problems.push(`migration ${migration.name} was modified after it was applied (checksum mismatch)`);
    }
  }
  const onDisk = new Set(migrations.map((m) => m.name));
  return {
    applied: [...finished.values()],
    pending: migrations.filter((m) => !finished.has(m.name) && !history.some((h) => h.name === m.name)),
    problems,
    unknown: [...finished.keys()].filter((name) => !onDisk.has(name)),
  };
}

export interface ApplyOptions {
  logger: Logger;
  /** true confirms every destructive migration; a list confirms those names only. @default false */
  allowDestructive?: boolean | readonly string[];
}

async function applyOne(client: pg.PoolClient, migration: Migration, logger: Logger): Promise<void> {
  const started = Date.now();
  if (migration.transactional) {
    // REQ 19.1, 19.2, PROP 17: the script and its history row commit together or not at all.
    // Statement by statement, so a failure names its statement: Postgres reports no position
    // for run-time errors (constraint violations, RAISE), and counts characters, not UTF-16 units.
    let current: string | undefined;
    try {
      await client.query('BEGIN');
      for (const statement of migration.statements) {
        current = statement.text;
        await client.query(statement.text);
      }
      current = undefined;
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, now(), 1)`,
        [randomUUID(), migration.checksum, migration.name, new Date(started)],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const statement = current;
      logger.error('migration failed and was rolled back', {
        migration: migration.name,
        statement: statement ?? '(recording the migration in _prisma_migrations)',
        error,
      });
      throw new MigrationError(
        'failed',
        `Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`,
        [migration.name],
        {
          cause: error,
        },
      );
    }
  } else {
    // Non-transactional: each statement stands alone; a failure leaves a half-applied record
    // that blocks further migrations until an operator repairs and marks it.
    const id = randomUUID();
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`,
      [id, migration.checksum, migration.name],
    );
    let done = 0;
    try {
      for (const statement of migration.statements) {
        await client.query(statement.text);
        done += 1;
      }
      await client.query(
        `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = $2 WHERE id = $1`,
        [id, done],
      );
    } catch (error) {
      const statement = migration.statements[done]?.text;
      await client.query(`UPDATE "_prisma_migrations" SET logs = $2, applied_steps_count = $3 WHERE id = $1`, [
        id,
        `failed at statement ${done + 1}: ${(error as Error).message}`,
        done,
      ]);
      logger.error('non-transactional migration failed part-way', {
        migration: migration.name,
        statement,
        applied: done,
        error,
      });
      throw new MigrationError(
        'half-applied',
        `Migration ${migration.name} (non-transactional) failed at statement ${done + 1} of ${migration.statements.length}`,
        [migration.name],
        { cause: error },
      );
    }
  }
  logger.info('migration applied', { migration: migration.name, durationMs: Date.now() - started });
}

function isConfirmed(allow: ApplyOptions['allowDestructive'], name: string): boolean {
  return allow === true || (Array.isArray(allow) && allow.includes(name));
}

/**
 * Applies every pending migration in order under Prisma's advisory lock, so concurrent
 * instances never migrate twice. Refuses destructive migrations that are not confirmed,
 * before applying anything.
 */
export async function applyMigrations(
  pool: pg.Pool,
  migrations: Migration[],
  options: ApplyOptions,
): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(HISTORY_TABLE_DDL);
      const status = await getMigrationStatus(client, migrations);
      if (status.problems.length > 0) {
        throw new MigrationError('checksum', `Refusing to migrate:\n  - ${status.problems.join('\n  - ')}`, []);
      }
      const unconfirmed = status.pending.filter(
        (m) => m.destructive.length > 0 && !isConfirmed(options.allowDestructive, m.name),
      );
      if (unconfirmed.length > 0) {
        const lines = unconfirmed.flatMap((m) =>
          m.destructive.map((d) => `${m.name}: ${d.reason}: ${d.statement.split('\n')[0]?.slice(0, 120)}`),
        );
        throw new MigrationError(
          'destructive',
          `Refusing destructive migrations without confirmation (run db:migrate with --allow-destructive=<name>):\n  - ${lines.join('\n  - ')}`,
          unconfirmed.map((m) => m.name),
        );
      }
      const applied: string[] = [];
      for (const migration of status.pending) {
        await applyOne(client, migration, options.logger);
        applied.push(migration.name);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

/** Marks a half-applied migration as rolled back after an operator repaired the database. */
export async function markRolledBack(pool: pg.Pool, name: string): Promise<void> {
  const { rowCount } = await pool.query(
    `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
    [name],
  );
  if (!rowCount) throw new MigrationError('failed', `No unfinished migration named ${name}`, [name]);
}

/**
 * The startup gate (REQ 19.3): applies pending migrations when allowed, otherwise refuses to
 * serve and names them.
 */
export async function ensureMigrated(
  pool: pg.Pool,
  migrations: Migration[],
  options: ApplyOptions & { migrateOnStart: boolean },
): Promise<string[]> {
  if (options.migrateOnStart) return applyMigrations(pool, migrations, options);
  const client = await pool.connect();
  try {
    const status = await getMigrationStatus(client, migrations);
    if (status.problems.length > 0) {
      throw new MigrationError('checksum', `Refusing to start:\n  - ${status.problems.join('\n  - ')}`, []);
    }
    if (status.pending.length > 0) {
      const names = status.pending.map((m) => m.name);
      throw new MigrationError(
        'pending',
        `Refusing to start: ${names.length} pending migration(s): ${names.join(', ')}. Run \`npm run db:migrate\` (in the container image: \`node dist/src/platform/db/migrate.cli.js\`) first.`,
        names,
      );
    }
    if (status.unknown.length > 0) {
      options.logger.warn('database has migrations this version does not know (newer deployment?)', {
        migrations: status.unknown,
      });
    }
    return [];
  } finally {
    client.release();
  }
}

// Keeps prisma/migrations and prisma/schema.prisma in step, without Prisma's native engine.
//
//   npx tsx scripts/db-drift.ts check          (npm run db:check)
//   npx tsx scripts/db-drift.ts create <name>  (npm run db:migration:create -- <name>)
//   --prisma-dir <dir> works on another copy of prisma/ (the tests use it)
//
// check: (1) the schema has no change that no migration holds (snapshot → schema diff is
// empty); (2) the migrations applied to one scratch database give exactly the schema that
// `empty → schema.prisma` plus prisma/schema.extra.sql gives on another (pg_dump compared).
// create: writes the next migration as diff(snapshot → schema.prisma) and moves the snapshot.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createLogger } from '../src/observability/logger.js';
import { applyMigrations, loadMigrations, parseMigration } from '../src/platform/db/migrator.js';
import { diffDatamodels } from './lib/schema-diff.js';

const { values: options, positionals } = parseArgs({
  options: { 'prisma-dir': { type: 'string' } },
  allowPositionals: true,
});
const PRISMA_DIR = resolve(options['prisma-dir'] ?? join(import.meta.dirname, '..', 'prisma'));
const SCHEMA = join(PRISMA_DIR, 'schema.prisma');
const EXTRA = join(PRISMA_DIR, 'schema.extra.sql');
const MIGRATIONS = join(PRISMA_DIR, 'migrations');
const SNAPSHOT = join(MIGRATIONS, 'schema.snapshot.prisma');
const EMPTY_MIGRATION = /^\s*(-- This is an empty migration\.)?\s*$/;
const adminUrl =
  process.env.DRIFT_DATABASE_URL ??
  process.env.TEST_DATABASE_ADMIN_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const logger = createLogger({ level: 'warn', format: 'pretty' });

function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** pg_dump --schema-only, normalised: comments and SET lines dropped, table columns sorted. */
function dumpSchema(url: string): string[] {
  const dump = execFileSync(
    'pg_dump',
    ['--schema-only', '--no-owner', '--no-privileges', '--exclude-table=_prisma_migrations', `--dbname=${url}`],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const statements = dump
    .split('\n')
    .filter((line) => !line.startsWith('--') && !/^(SET |SELECT pg_catalog\.set_config|\\(un)?restrict )/.test(line))
    .join('\n')
    .split(/;\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  return statements
    .map((statement) => {
      const table = /^CREATE TABLE ([^\s]+) \(\n([\s\S]*)\n\)$/.exec(statement);
      if (!table) return statement;
      // Column order differs when a later migration adds a column; Prisma ignores it too.
      const columns = (table[2] ?? '')
        .split('\n')
        .map((line) => line.trim().replace(/,$/, ''))
        .sort();
      return `CREATE TABLE ${table[1]} (${columns.join(', ')})`;
    })
    .sort();
}

async function withScratchDatabases<T>(work: (urls: [string, string]) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const names: [string, string] = [`drift_${process.pid}_migrations`, `drift_${process.pid}_schema`];
  try {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.query(`CREATE DATABASE "${name}"`);
    }
    return await work([databaseUrl(names[0]), databaseUrl(names[1])]);
  } finally {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

async function check(): Promise<number> {
  const schema = readFileSync(SCHEMA, 'utf8');
  const unmigrated = await diffDatamodels(readFileSync(SNAPSHOT, 'utf8'), schema);
  if (!EMPTY_MIGRATION.test(unmigrated)) {
    console.error('schema.prisma has changes that no migration holds. Run `npm run db:migration:create -- <name>`:');
    console.error(unmigrated);
    return 1;
  }
  const fromSchemaSql = `${await diffDatamodels(null, schema)}\n${readFileSync(EXTRA, 'utf8')}`;
  const [viaMigrations, viaSchema] = await withScratchDatabases(async ([migrationsUrl, schemaUrl]) => {
    const pool = new pg.Pool({ connectionString: migrationsUrl, max: 1 });
    try {
      await applyMigrations(pool, loadMigrations(MIGRATIONS), { logger, allowDestructive: true });
    } finally {
      await pool.end();
    }
    const client = new pg.Client({ connectionString: schemaUrl });
    await client.connect();
    try {
      await client.query(fromSchemaSql);
    } finally {
      await client.end();
    }
    return [dumpSchema(migrationsUrl), dumpSchema(schemaUrl)];
  });
  const onlyMigrations = viaMigrations.filter((s) => !viaSchema.includes(s));
  const onlySchema = viaSchema.filter((s) => !viaMigrations.includes(s));
  if (onlyMigrations.length === 0 && onlySchema.length === 0) {
    console.log(
      `db:check: ${loadMigrations(MIGRATIONS).length} migration(s) match schema.prisma + schema.extra.sql exactly`,
    );
    return 0;
  }
  console.error('db:check: drift between the migrations and schema.prisma + schema.extra.sql');
  for (const s of onlyMigrations) console.error(`  only in migrations: ${s.replace(/\s+/g, ' ').slice(0, 300)}`);
  for (const s of onlySchema) console.error(`  only in schema:     ${s.replace(/\s+/g, ' ').slice(0, 300)}`);
  return 1;
}

async function create(name: string | undefined): Promise<number> {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error('usage: npm run db:migration:create -- <snake_case_name>');
    return 2;
  }
  const schema = readFileSync(SCHEMA, 'utf8');
  const sql = await diffDatamodels(readFileSync(SNAPSHOT, 'utf8'), schema);
  if (EMPTY_MIGRATION.test(sql)) {
    console.log('schema.prisma has no changes since the last migration; nothing to create.');
    return 0;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = join(MIGRATIONS, `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'migration.sql'), sql);
  copyFileSync(SCHEMA, SNAPSHOT);
  console.log(`created ${dir}/migration.sql`);
  for (const d of parseMigration(name, sql).destructive) {
    console.warn(
      `  destructive (${d.reason}): ${d.statement.split('\n')[0]} — needs --allow-destructive=${stamp}_${name}`,
    );
  }
  console.log('If schema.extra.sql objects changed, add their SQL to this migration too.');
  return 0;
}

const [command, arg] = positionals;
const run = command === 'check' ? check() : command === 'create' ? create(arg) : Promise.resolve(2);
if (command !== 'check' && command !== 'create') console.error('usage: db-drift.ts check | create <name>');
process.exitCode = await run;

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyMigrations,
  ensureMigrated,
  getMigrationStatus,
  loadMigrations,
  markRolledBack,
  type Migration,
  MigrationError,
  NO_TRANSACTION_MARKER,
  parseMigration,
} from '../../src/platform/db/migrator.js';
import { destructiveReason, splitSqlStatements } from '../../src/platform/db/sql-statements.js';
import { dropDatabase } from '../helpers/databases.js';
import { captureLogger, scratchDatabase } from '../helpers/kit.js';

const RUNS = { numRuns: 100 };

// ---------------------------------------------------------------------------------------------
// Shared fixtures: one scratch database reused by every test (its public schema is reset
// between runs, which also drops the "_prisma_migrations" history), and temp migration folders.
// ---------------------------------------------------------------------------------------------

const databases: string[] = [];
const pools: pg.Pool[] = [];
const tempDirs: string[] = [];
let pool: pg.Pool;

function openPool(url: string): pg.Pool {
  const created = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(created);
  return created;
}

beforeAll(async () => {
  const db = await scratchDatabase('migrations');
  databases.push(db.name);
  pool = openPool(db.url);
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  for (const name of databases) await dropDatabase(name);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function resetSchema(db: pg.Pool = pool): Promise<void> {
  await db.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
}

/** A logger nobody reads (failures are asserted through the returned errors). */
function quietLogger() {
  return captureLogger('error').logger;
}

/** Writes <dir>/<name>/migration.sql for every entry and returns the folder. */
function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'erp-migrations-'));
  tempDirs.push(dir);
  writeMigrations(dir, files);
  return dir;
}

function writeMigrations(dir: string, files: Record<string, string>): void {
  for (const [name, sql] of Object.entries(files)) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'migration.sql'), sql, 'utf8');
  }
}

/** The MigrationError a call rejects with; fails the test when it resolves or throws anything else. */
async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (error instanceof MigrationError) return error;
    throw error;
  }
  throw new Error(`expected a MigrationError, but the call resolved with ${JSON.stringify(outcome)}`);
}

interface HistoryRow {
  name: string;
  checksum: string;
  finished: boolean;
  rolledBack: boolean;
  steps: number;
  logs: string | null;
}

async function historyOf(db: pg.Pool = pool): Promise<HistoryRow[]> {
  const present = await db.query<{ present: boolean }>(
    `SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present`,
  );
  if (!present.rows[0]?.present) return [];
  const { rows } = await db.query<{
    migration_name: string;
    checksum: string;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    applied_steps_count: number;
    logs: string | null;
  }>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs
       FROM public."_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return rows.map((r) => ({
    name: r.migration_name,
    checksum: r.checksum,
    finished: r.finished_at !== null,
    rolledBack: r.rolled_back_at !== null,
    steps: r.applied_steps_count,
    logs: r.logs,
  }));
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Everything a migration can change in the public schema, read from the catalogs: relations
 * (with comments), columns, types and enum labels, indexes, constraints, functions, views, and
 * the rows of every table (count + digest). The migration history is left out: tests assert it
 * on its own.
 */
async function snapshot(db: pg.Pool = pool): Promise<Record<string, unknown>> {
  const rows = async (sql: string) => (await db.query(sql)).rows as Record<string, unknown>[];
  const relations = await rows(
    `SELECT c.relname AS name, c.relkind AS kind, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' ORDER BY 1`,
  );
  const contents: Record<string, unknown> = {};
  for (const relation of relations) {
    const name = String(relation.name);
    if (relation.kind !== 'r' || name === '_prisma_migrations') continue;
    const { rows: digest } = await db.query(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS digest
         FROM public.${quoteIdent(name)} x`,
    );
    contents[name] = digest[0];
  }
  return {
    relations,
    columns: await rows(
      `SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 3`,
    ),
    types: await rows(
      `SELECT t.typname, t.typtype,
              (SELECT string_agg(e.enumlabel, E'\\n' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' ORDER BY 1`,
    ),
    indexes: await rows(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`),
    constraints: await rows(
      `SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
    ),
    functions: await rows(
      `SELECT proname, pg_get_function_identity_arguments(oid) AS args, md5(prosrc) AS body
         FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2`,
    ),
    views: await rows(`SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`),
    contents,
  };
}

async function relationExists(name: string, db: pg.Pool = pool): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
    `public.${quoteIdent(name)}`,
  ]);
  return rows[0]?.present ?? false;
}

/** Parsed JSON log lines, after letting the logger's stream drain. */
async function logEntries(lines: () => string[]): Promise<Record<string, unknown>[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return lines().map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A statement as the splitter reports it may carry the comments that preceded it. */
function withoutLeadingComments(text: string): string {
  return text.replace(/^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))*\s*/, '').trim();
}

// ---------------------------------------------------------------------------------------------
// Generators of SQL text: literals and identifiers full of the characters that trip up naive
// handling (semicolons, quotes, dollar signs, comment markers, non-BMP characters).
// ---------------------------------------------------------------------------------------------

interface IdentName {
  word: string;
  quoted: boolean;
}

const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

const LITERAL_UNITS = [
  'a',
  'Z',
  ' ',
  ';',
  "'",
  '"',
  '$$',
  '--',
  '/*',
  '*/',
  '\\',
  '\n',
  'é',
  '😀😀😀😀',
  'DROP TABLE x;',
];
const literalText = (minLength = 0) =>
  fc.array(fc.constantFrom(...LITERAL_UNITS), { minLength, maxLength: 8 }).map((units) => units.join(''));
/** Short enough for an enum label (63 bytes) once prefixed. */
const labelText = fc
  .array(fc.constantFrom('a', 'Z', ' ', ';', "'", '"', '$', '-', 'é', '😀'), { maxLength: 6 })
  .map((units) => units.join(''));

const identName: fc.Arbitrary<IdentName> = fc.record({
  word: fc
    .array(fc.constantFrom('a', 'b', 'z', '0', '_', 'é', 'Q', ' ', ';', '"', '$', '-', "'", '😀'), {
      minLength: 1,
      maxLength: 6,
    })
    .map((units) => units.join('')),
  quoted: fc.boolean(),
});

/** A safe identifier, unique per (prefix, index): plain snake_case or a quoted name with anything in it. */
function ident(prefix: string, index: string, name: IdentName): string {
  if (!name.quoted) return `${prefix}_${name.word.replace(/[^a-z0-9_]/g, '')}_${index}`;
  return quoteIdent(`${prefix} ${name.word} ${index}`);
}

const columnType = fc.constantFrom(
  'integer',
  'bigint',
  'text',
  'boolean',
  'numeric(10,2)',
  'timestamptz',
  'jsonb',
  'uuid',
  'base_mood',
);

// ---------------------------------------------------------------------------------------------
// PROP 17
// ---------------------------------------------------------------------------------------------

const BASE_NAME = '20260101000000_base';
const CHANGE_NAME = '20260102000000_change';

/** The valid first migration's SQL: an enum, two tables with constraints, an index and some rows. */
const baseMigration = fc
  .tuple(fc.array(literalText(), { minLength: 1, maxLength: 4 }), fc.array(literalText(), { maxLength: 3 }))
  .map(
    ([items, notes]) =>
      [
        `CREATE TYPE base_mood AS ENUM ('calm', 'busy; very', 'it''s ok')`,
        `CREATE TABLE base_items (id integer PRIMARY KEY, name text NOT NULL, qty integer NOT NULL CHECK (qty >= 0), mood base_mood)`,
        `CREATE INDEX base_items_name_idx ON base_items (name)`,
        `CREATE TABLE base_notes (id integer PRIMARY KEY, body text)`,
        `INSERT INTO base_items (id, name, qty, mood) VALUES ${items
          .map((text, j) => `(${j + 1}, ${sqlLiteral(text)}, ${j}, 'calm')`)
          .join(', ')}`,
        ...(notes.length > 0
          ? [
              `INSERT INTO base_notes (id, body) VALUES ${notes.map((t, j) => `(${j + 1}, ${sqlLiteral(t)})`).join(', ')}`,
            ]
          : []),
      ].join(';\n') + ';\n',
  );

/** Stands for the statement's position in the migration, which keeps names and ids unique. */
const AT = '@@I@@';

/** A valid statement of the second migration; `visible` says whether committing it always changes the snapshot. */
interface ValidStatement {
  sql: string;
  visible: boolean;
}

const validStatement: fc.Arbitrary<ValidStatement> = fc.oneof(
  fc
    .tuple(
      identName,
      fc.array(fc.tuple(identName, columnType, fc.option(literalText(), { nil: undefined })), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([table, columns]) => ({
      sql: `CREATE TABLE ${ident('tbl', AT, table)} (${columns
        .map(
          ([column, type, fallback], j) =>
            `${ident('col', String(j), column)} ${type}${type === 'text' && fallback !== undefined ? ` DEFAULT ${sqlLiteral(fallback)}` : ''}`,
        )
        .join(', ')})`,
      visible: true,
    })),
  fc.tuple(identName, fc.constantFrom('name', 'qty', 'name, qty', 'lower(name)', 'mood')).map(([index, columns]) => ({
    sql: `CREATE INDEX ${ident('idx', AT, index)} ON base_items (${columns})`,
    visible: true,
  })),
  fc.tuple(literalText(), fc.nat(1000), fc.integer({ min: 1, max: 3 })).map(([text, qty, count]) => ({
    sql: `INSERT INTO base_items (id, name, qty) VALUES ${Array.from(
      { length: count },
      (_, r) => `(1${AT}0${r}, ${sqlLiteral(text)}, ${qty})`,
    ).join(', ')}`,
    visible: true,
  })),
  fc.tuple(identName, fc.array(labelText, { minLength: 1, maxLength: 4 })).map(([type, labels]) => ({
    sql: `CREATE TYPE ${ident('enum', AT, type)} AS ENUM (${labels.map((l, j) => sqlLiteral(`${j} ${l}`)).join(', ')})`,
    visible: true,
  })),
  fc.tuple(identName, columnType, fc.option(literalText(), { nil: undefined })).map(([column, type, fallback]) => ({
    sql: `ALTER TABLE base_items ADD COLUMN ${ident('col', AT, column)} ${type}${
      type === 'text' && fallback !== undefined ? ` DEFAULT ${sqlLiteral(fallback)}` : ''
    }`,
    visible: true,
  })),
  fc.tuple(literalText(1), fc.integer({ min: 1, max: 9 })).map(([text, n]) => ({
    sql: `UPDATE base_items SET name = name || ${sqlLiteral(text)}, qty = qty + ${n}`,
    visible: true,
  })),
  fc.tuple(identName, literalText()).map(([view, text]) => ({
    sql: `CREATE VIEW ${ident('view', AT, view)} AS SELECT id, name FROM base_items WHERE name <> ${sqlLiteral(text)}`,
    visible: true,
  })),
  fc.tuple(identName, fc.integer(), literalText()).map(([fn, n, text]) => ({
    sql: `CREATE FUNCTION ${ident('fn', AT, fn)}() RETURNS integer LANGUAGE plpgsql AS $fn$\nDECLARE\n  note text := ${sqlLiteral(text)};\nBEGIN\n  PERFORM 1;\n  RETURN ${n};\nEND;\n$fn$`,
    visible: true,
  })),
  labelText.map((label) => ({ sql: `ALTER TYPE base_mood ADD VALUE ${sqlLiteral(`v${AT} ${label}`)}`, visible: true })),
  literalText(1).map((text) => ({ sql: `COMMENT ON TABLE base_items IS ${sqlLiteral(text)}`, visible: true })),
  fc.tuple(identName, fc.integer({ min: 1, max: 1_000_000 })).map(([seq, start]) => ({
    sql: `CREATE SEQUENCE ${ident('seq', AT, seq)} START ${start}`,
    visible: true,
  })),
  // Destructive but repeatable statements (the run confirms them); they may change nothing.
  fc.integer({ min: 1, max: 4 }).map((id) => ({ sql: `DELETE FROM base_notes WHERE id = ${id}`, visible: false })),
  fc.constant({ sql: 'TRUNCATE base_notes', visible: false }),
  fc.constant({ sql: 'ALTER TABLE base_notes DROP COLUMN IF EXISTS body', visible: false }),
  fc.constant({ sql: 'ALTER TABLE base_items ALTER COLUMN qty TYPE bigint', visible: false }),
);

/** A statement that fails whatever valid statements ran before it (parse, plan or execution errors). */
const failingStatement: fc.Arbitrary<string> = fc.oneof(
  identName.map((table) => `INSERT INTO ${ident('missing', '0', table)} VALUES (1)`),
  fc.constant('CREATE TABLE base_items (id integer)'),
  fc.constant('CREATE INDEX base_items_name_idx ON base_items (qty)'),
  fc.constant('ALTER TABLE base_items ADD COLUMN id integer'),
  fc
    .tuple(fc.nat(999), literalText())
    .map(([n, text]) => `INSERT INTO base_items (id, name, qty) VALUES (${5000 + n}, ${sqlLiteral(text)}, ${-1 - n})`),
  fc
    .tuple(fc.nat(999), literalText())
    .map(([n, text]) => `INSERT INTO base_items (id, name, qty) SELECT ${5000 + n}, ${sqlLiteral(text)}, ${n} / 0`),
  literalText().map((text) => `INSERT INTO base_items (id, name, qty) VALUES (1, ${sqlLiteral(text)}, 0)`),
  fc.nat(999).map((n) => `INSERT INTO base_items (id, name, qty) VALUES (${5000 + n}, NULL, 0)`),
  identName.map((column) => `SELECT ${ident('nocol', '0', column)} FROM base_items`),
  identName.map((table) => `CREATE TABEL ${ident('tbl', '99', table)} (id integer)`),
  literalText().map(
    (text) => `INSERT INTO base_items (id, name, qty) VALUES (5999, 'x', ${sqlLiteral(`not a number ${text}`)})`,
  ),
  literalText().map((text) => `SELECT ${sqlLiteral(`nope; ${text}`)}::base_mood`),
  fc
    .tuple(literalText(), fc.integer())
    .map(([text, n]) => `DO $do$ BEGIN RAISE EXCEPTION 'boom; % %', ${sqlLiteral(text)}, ${n}; END $do$`),
);

const separator = fc.constantFrom(';\n', ';\n-- next step; really\n', ';\n\n/* between; statements */\n', ' ;  \n\n');

describe('PROP 17 migration transaction rollback', () => {
  it('a failing migration leaves schema, rows and history exactly as before, and the log names the failing statement', async () => {
    await fc.assert(
      fc.asyncProperty(
        baseMigration,
        fc.array(validStatement, { minLength: 1, maxLength: 6 }),
        failingStatement,
        fc.nat(),
        fc.array(separator, { minLength: 7, maxLength: 7 }),
        async (baseSql, validStatements, failing, position, separators) => {
          const base = parseMigration(BASE_NAME, baseSql);
          const valid = validStatements.map((s, i) => ({ ...s, sql: s.sql.replaceAll(AT, String(i)) }));
          const at = position % (valid.length + 1);
          const statements = [...valid.slice(0, at).map((s) => s.sql), failing, ...valid.slice(at).map((s) => s.sql)];
          const script = (parts: string[]) =>
            parts.map((sql, i) => `${sql}${separators[i] ?? ';\n'}`).join('') + '-- end of migration\n';
          const change = parseMigration(CHANGE_NAME, script(statements));

          await resetSchema();
          expect(await applyMigrations(pool, [base], { logger: quietLogger() })).toEqual([BASE_NAME]);
          const before = await snapshot();
          const historyBefore = await historyOf();

          const { logger, lines } = captureLogger('info');
          const error = await rejection(applyMigrations(pool, [base, change], { logger, allowDestructive: true }));
          expect(error.kind).toBe('failed');
          expect(error.migrations).toEqual([CHANGE_NAME]);
          expect(error.message).toContain(CHANGE_NAME);

          expect(await snapshot()).toEqual(before);
          expect(await historyOf()).toEqual(historyBefore);
          expect((await historyOf()).map((h) => h.name)).toEqual([BASE_NAME]);

          const logged = (await logEntries(lines))
            .filter((entry) => entry.level === 'error' && entry.migration === CHANGE_NAME)
            .map((entry) => (typeof entry.statement === 'string' ? withoutLeadingComments(entry.statement) : ''));
          expect(logged, 'an error log line names the failing statement').toContain(failing);

          // The same migration without the failing statement applies: the generated statements are
          // valid, so the failure above was the injected statement's, and it did change things.
          const repaired = parseMigration(CHANGE_NAME, script(valid.map((s) => s.sql)));
          expect(
            await applyMigrations(pool, [base, repaired], { logger: quietLogger(), allowDestructive: true }),
          ).toEqual([CHANGE_NAME]);
          if (valid.some((s) => s.visible)) expect(await snapshot()).not.toEqual(before);
        },
      ),
      RUNS,
    );
  }, 180_000);

  it('names the failing statement when earlier statements hold characters outside the BMP', async () => {
    // Postgres reports error positions in characters; JavaScript offsets count UTF-16 units.
    await resetSchema();
    const failing = 'SELECT * FROM missing_table';
    const migration = parseMigration(
      CHANGE_NAME,
      `CREATE TABLE notes (body text);\nINSERT INTO notes VALUES ('${'😀'.repeat(30)}');\n${failing};\n`,
    );
    const { logger, lines } = captureLogger('info');
    const error = await rejection(applyMigrations(pool, [migration], { logger }));
    expect(error.kind).toBe('failed');
    expect(await relationExists('notes')).toBe(false);
    const logged = (await logEntries(lines)).filter((e) => e.level === 'error' && e.migration === CHANGE_NAME);
    expect(logged.map((e) => e.statement)).toEqual([failing]);
  });
});

// ---------------------------------------------------------------------------------------------
// REQ 19.5 checksums
// ---------------------------------------------------------------------------------------------

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describe('REQ 19.5 migration history and checksums', () => {
  it('records each applied migration with its SHA-256 checksum and a finish time', async () => {
    await resetSchema();
    const files = {
      '20260101000000_one': 'CREATE TABLE one (id integer PRIMARY KEY);\n',
      '20260102000000_two': "INSERT INTO one VALUES (1);\nCOMMENT ON TABLE one IS 'two; was here';\n",
    };
    const migrations = loadMigrations(migrationsDir(files));
    expect(migrations.map((m) => m.name)).toEqual(Object.keys(files));
    expect(await applyMigrations(pool, migrations, { logger: quietLogger() })).toEqual(Object.keys(files));
    const history = await historyOf();
    expect(history.map((h) => [h.name, h.checksum, h.finished, h.rolledBack])).toEqual(
      Object.entries(files).map(([name, sql]) => [name, sha256(sql), true, false]),
    );
    const status = await getMigrationStatus(pool, migrations);
    expect(status.problems).toEqual([]);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((a) => a.name)).toEqual(Object.keys(files));
  });

  it('any edit to an applied migration is reported and blocks applyMigrations and ensureMigrated', async () => {
    const original =
      'CREATE TABLE edited (id integer PRIMARY KEY, note text);\nINSERT INTO edited VALUES (1, $$a;b$$);\n';
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.constantFrom(' ', '\n', '-- reviewed\n', 'x', ';', '\t'),
        fc.boolean(),
        async (where, insertion, withLaterMigration) => {
          const at = where % (original.length + 1);
          const edited = original.slice(0, at) + insertion + original.slice(at);
          await resetSchema();
          const dir = migrationsDir({ '20260101000000_edited': original });
          expect(await applyMigrations(pool, loadMigrations(dir), { logger: quietLogger() })).toEqual([
            '20260101000000_edited',
          ]);
          expect((await getMigrationStatus(pool, loadMigrations(dir))).problems).toEqual([]);

          writeMigrations(dir, {
            '20260101000000_edited': edited,
            ...(withLaterMigration ? { '20260102000000_later': 'CREATE TABLE later (id integer);\n' } : {}),
          });
          const migrations = loadMigrations(dir);
          const status = await getMigrationStatus(pool, migrations);
          expect(status.problems).toHaveLength(1);
          expect(status.problems[0]).toContain('20260101000000_edited');
          expect(status.problems[0]).toContain('checksum');

          const calls = [
            () => applyMigrations(pool, migrations, { logger: quietLogger(), allowDestructive: true }),
            () => ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: false }),
            () => ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: true }),
          ];
          for (const call of calls) {
            const error = await rejection(call());
            expect(error.kind).toBe('checksum');
            expect(error.message).toContain('20260101000000_edited');
          }
          // Nothing else ran: the later migration stays unapplied.
          expect(await relationExists('later')).toBe(false);
          expect((await historyOf()).map((h) => h.name)).toEqual(['20260101000000_edited']);
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// REQ 19.3 pending gate
// ---------------------------------------------------------------------------------------------

describe('REQ 19.3 startup gate on pending migrations', () => {
  it('refuses to start naming every pending migration, applies them with migrateOnStart, then is a no-op', async () => {
    await resetSchema();
    const dir = migrationsDir({
      '20260101000000_first': 'CREATE TABLE gate_a (id integer PRIMARY KEY);\n',
      '20260102000000_second': 'CREATE TABLE gate_b (id integer PRIMARY KEY, a integer REFERENCES gate_a);\n',
      '20260103000000_third': 'INSERT INTO gate_a VALUES (1), (2);\nINSERT INTO gate_b VALUES (10, 1);\n',
    });
    const migrations = loadMigrations(dir);
    const names = migrations.map((m) => m.name);
    expect(names).toEqual(['20260101000000_first', '20260102000000_second', '20260103000000_third']);

    // A fresh database: no history table at all.
    const fresh = await rejection(ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: false }));
    expect(fresh.kind).toBe('pending');
    expect(fresh.migrations).toEqual(names);
    for (const name of names) expect(fresh.message).toContain(name);
    expect(await relationExists('gate_a')).toBe(false);

    // Partly migrated: only the remaining ones are named.
    expect(await applyMigrations(pool, migrations.slice(0, 1), { logger: quietLogger() })).toEqual(names.slice(0, 1));
    const partly = await rejection(ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: false }));
    expect(partly.kind).toBe('pending');
    expect(partly.migrations).toEqual(names.slice(1));
    for (const name of names.slice(1)) expect(partly.message).toContain(name);
    expect(partly.message).not.toContain(names[0]);
    expect(await relationExists('gate_b')).toBe(false);

    expect(await ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: true })).toEqual(
      names.slice(1),
    );
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM gate_b');
    expect(rows[0]?.n).toBe(1);

    const history = await historyOf();
    const schema = await snapshot();
    expect(await ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: true })).toEqual([]);
    expect(await ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: false })).toEqual([]);
    expect(await applyMigrations(pool, migrations, { logger: quietLogger() })).toEqual([]);
    expect(await historyOf()).toEqual(history);
    expect(await snapshot()).toEqual(schema);

    // An older deployment (fewer migrations on disk) still starts, warning about the unknown ones.
    const { logger, lines } = captureLogger('info');
    expect(await ensureMigrated(pool, migrations.slice(0, 1), { logger, migrateOnStart: false })).toEqual([]);
    const warned = (await logEntries(lines)).filter((entry) => entry.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]?.migrations).toEqual(names.slice(1));
  });
});

// ---------------------------------------------------------------------------------------------
// REQ 19.4 destructive migrations
// ---------------------------------------------------------------------------------------------

const DESTRUCTIVE_BASE = parseMigration(
  '20260101000000_base',
  `CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL DEFAULT 'n/a', qty integer CHECK (qty >= 0));
CREATE INDEX items_name_idx ON items (name);
CREATE TABLE notes (id serial PRIMARY KEY, body text);
CREATE VIEW items_view AS SELECT id, name FROM items;
INSERT INTO items VALUES (1, 'a', 0), (2, 'b', 5), (3, 'c', 9);
`,
);

const DESTRUCTIVE_CASES: { sql: string; reason: string }[] = [
  { sql: 'DROP TABLE items CASCADE', reason: 'drops an object' },
  { sql: 'drop   table if exists notes', reason: 'drops an object' },
  { sql: '/* no longer used */ DROP TYPE mood', reason: 'drops an object' },
  { sql: '-- replaced by items\nDROP VIEW items_view', reason: 'drops an object' },
  { sql: 'ALTER TABLE items DROP COLUMN qty', reason: 'drops a column' },
  { sql: 'ALTER TABLE items DROP qty', reason: 'drops a column' },
  { sql: 'ALTER TABLE items ADD COLUMN note text, DROP COLUMN IF EXISTS qty', reason: 'drops a column' },
  { sql: 'TRUNCATE items CASCADE', reason: 'truncates a table' },
  { sql: 'DELETE FROM items WHERE qty > 1', reason: 'deletes rows' },
  {
    sql: 'WITH empty AS (SELECT id FROM items WHERE qty = 0) DELETE FROM items WHERE id IN (SELECT id FROM empty)',
    reason: 'deletes rows',
  },
  { sql: 'ALTER TABLE items ALTER COLUMN qty TYPE bigint', reason: 'changes a column type' },
  { sql: 'ALTER TABLE items ALTER qty SET DATA TYPE numeric(12,2)', reason: 'changes a column type' },
];

describe('REQ 19.4 destructive migrations need confirmation', () => {
  it.each(DESTRUCTIVE_CASES)(
    'refuses $sql before applying anything, applies it once confirmed',
    async ({ sql, reason }) => {
      expect(destructiveReason(sql)).toBe(reason);
      const safe = parseMigration(
        '20260102000000_safe',
        'CREATE TABLE extra (id integer);\nINSERT INTO extra VALUES (1);\n',
      );
      const destructive = parseMigration('20260103000000_destructive', `${sql};\n`);
      expect(destructive.destructive).toEqual([{ statement: sql, reason }]);
      const migrations = [DESTRUCTIVE_BASE, safe, destructive];

      for (const confirmation of [['20260103000000_destructive'], true] as const) {
        await resetSchema();
        await applyMigrations(pool, [DESTRUCTIVE_BASE], { logger: quietLogger() });
        const before = await snapshot();

        for (const allowDestructive of [undefined, false, [], ['20260102000000_safe'], ['20260103000000_other']]) {
          const error = await rejection(applyMigrations(pool, migrations, { logger: quietLogger(), allowDestructive }));
          expect(error.kind).toBe('destructive');
          expect(error.migrations).toEqual(['20260103000000_destructive']);
          expect(error.message).toContain('20260103000000_destructive');
          expect(error.message).toContain(reason);
          expect(error.message).not.toContain('20260102000000_safe');
          // Nothing was applied, not even the earlier, harmless migration.
          expect(await snapshot()).toEqual(before);
          expect((await historyOf()).map((h) => h.name)).toEqual(['20260101000000_base']);
        }
        const gate = await rejection(ensureMigrated(pool, migrations, { logger: quietLogger(), migrateOnStart: true }));
        expect(gate.kind).toBe('destructive');
        expect(await relationExists('extra')).toBe(false);

        expect(
          await applyMigrations(pool, migrations, { logger: quietLogger(), allowDestructive: confirmation }),
        ).toEqual(['20260102000000_safe', '20260103000000_destructive']);
        expect(await relationExists('extra')).toBe(true);
        const after = await snapshot();
        expect(after).not.toEqual(before);
        expect((await historyOf()).map((h) => h.name)).toEqual(migrations.map((m) => m.name));
      }
    },
  );

  it('only the named migrations are confirmed', async () => {
    await resetSchema();
    await applyMigrations(pool, [DESTRUCTIVE_BASE], { logger: quietLogger() });
    const first = parseMigration('20260102000000_drop_view', 'DROP VIEW items_view;\n');
    const second = parseMigration('20260103000000_truncate', 'TRUNCATE notes;\n');
    const error = await rejection(
      applyMigrations(pool, [DESTRUCTIVE_BASE, first, second], {
        logger: quietLogger(),
        allowDestructive: ['20260102000000_drop_view'],
      }),
    );
    expect(error.kind).toBe('destructive');
    expect(error.migrations).toEqual(['20260103000000_truncate']);
    expect(await relationExists('items_view')).toBe(true);
    expect(
      await applyMigrations(pool, [DESTRUCTIVE_BASE, first, second], {
        logger: quietLogger(),
        allowDestructive: ['20260102000000_drop_view', '20260103000000_truncate'],
      }),
    ).toEqual(['20260102000000_drop_view', '20260103000000_truncate']);
  });

  const NOT_DESTRUCTIVE = [
    'DROP INDEX items_name_idx',
    'ALTER TABLE items DROP CONSTRAINT items_qty_check',
    'ALTER TABLE items ALTER COLUMN name DROP DEFAULT',
    'ALTER TABLE items ALTER COLUMN name DROP NOT NULL',
    "INSERT INTO notes (body) VALUES ('DROP TABLE items; DELETE FROM items')",
    "UPDATE notes SET body = 'TRUNCATE items'",
    "COMMENT ON TABLE items IS 'we will DROP COLUMN qty later'",
    "ALTER TABLE items ADD COLUMN label text DEFAULT 'DROP COLUMN qty'",
    'ALTER TABLE items ADD COLUMN flag boolean -- DROP COLUMN qty next release\n',
    '-- DROP TABLE items\nCREATE TABLE replacement (id integer)',
    '/* DROP TABLE items; TRUNCATE items; */ CREATE INDEX items_qty_idx ON items (qty)',
  ];

  it('schema-only removals and DROP inside literals or comments are not destructive, and apply unconfirmed', async () => {
    for (const sql of [...NOT_DESTRUCTIVE, 'DROP INDEX CONCURRENTLY IF EXISTS items_name_idx']) {
      expect(destructiveReason(sql), sql).toBeUndefined();
    }
    await resetSchema();
    await applyMigrations(pool, [DESTRUCTIVE_BASE], { logger: quietLogger() });
    const harmless = parseMigration('20260102000000_harmless', NOT_DESTRUCTIVE.map((sql) => `${sql};\n`).join(''));
    expect(harmless.destructive).toEqual([]);
    expect(await applyMigrations(pool, [DESTRUCTIVE_BASE, harmless], { logger: quietLogger() })).toEqual([
      '20260102000000_harmless',
    ]);
    expect(await relationExists('items')).toBe(true);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM items');
    expect(rows[0]?.n).toBe(3);
  });

  it('DROP, TRUNCATE or DELETE words in literals and comments never change the verdict', () => {
    const phrase = fc.constantFrom(
      'DROP TABLE items',
      'drop column qty',
      'TRUNCATE items',
      'DELETE FROM items',
      'ALTER COLUMN qty TYPE text',
      'DROP SCHEMA public CASCADE',
    );
    const words = fc.array(fc.constantFrom('a', ' ', ';', "'", 'é', '"'), { maxLength: 6 }).map((u) => u.join(''));
    const safeTemplates = [
      (lit: string) => `INSERT INTO notes (body) VALUES (${lit})`,
      (lit: string) => `UPDATE notes SET body = ${lit} WHERE id = 1`,
      (lit: string) => `COMMENT ON COLUMN items.qty IS ${lit}`,
      (lit: string) => `ALTER TABLE items ADD COLUMN remark text DEFAULT ${lit}`,
      (lit: string) => `ALTER TABLE items ALTER COLUMN name SET DEFAULT ${lit}`,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...safeTemplates),
        fc.constantFrom(...DESTRUCTIVE_CASES),
        phrase,
        words,
        words,
        (template, destructive, inside, pre, post) => {
          const literal = sqlLiteral(`${pre}${inside}${post}`);
          const safe = template(literal);
          expect(destructiveReason(safe)).toBeUndefined();
          expect(destructiveReason(`-- ${inside}\n${safe}`)).toBeUndefined();
          expect(destructiveReason(`/* ${inside}; */ ${safe}`)).toBeUndefined();
          expect(destructiveReason(`${safe} -- ${inside}`)).toBeUndefined();
          // …and commentary around a destructive statement never hides it.
          expect(destructiveReason(`-- ${pre.replace(/\n/g, ' ')}\n${destructive.sql}`)).toBe(destructive.reason);
          expect(destructiveReason(`/* ${inside} */\n${destructive.sql} -- ${post}`)).toBe(destructive.reason);
        },
      ),
      RUNS,
    );
  });

  it('a string literal holding -- or /* does not hide a destructive clause later in the statement', () => {
    expect(destructiveReason("ALTER TABLE items ADD COLUMN sep text DEFAULT '--', DROP COLUMN qty")).toBe(
      'drops a column',
    );
    expect(destructiveReason("ALTER TABLE items ALTER COLUMN name SET DEFAULT '/*', ALTER COLUMN qty TYPE text")).toBe(
      'changes a column type',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Non-transactional migrations
// ---------------------------------------------------------------------------------------------

describe('non-transactional migrations (-- migrate:no-transaction)', () => {
  it('CREATE INDEX CONCURRENTLY applies; a part-way failure leaves a half-applied record until markRolledBack', async () => {
    await resetSchema();
    const base = parseMigration(
      '20260101000000_base',
      "CREATE TABLE items (id integer PRIMARY KEY, name text);\nINSERT INTO items VALUES (1, 'a'), (2, 'a'), (3, 'b');\n",
    );
    const concurrent = parseMigration(
      '20260102000000_concurrent',
      `${NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n`,
    );
    expect(base.transactional).toBe(true);
    expect(concurrent.transactional).toBe(false);
    expect(await applyMigrations(pool, [base, concurrent], { logger: quietLogger() })).toEqual([
      base.name,
      concurrent.name,
    ]);
    const valid = await pool.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.items_name_idx'::regclass`,
    );
    expect(valid.rows[0]?.valid).toBe(true);
    expect((await historyOf()).find((h) => h.name === concurrent.name)).toMatchObject({ finished: true, steps: 1 });

    const failingStatementText = 'CREATE UNIQUE INDEX CONCURRENTLY items_name_key ON items (name)';
    const halfSql = `${NO_TRANSACTION_MARKER}
CREATE TABLE audit (id integer);
CREATE INDEX CONCURRENTLY items_id_name_idx ON items (id, name);
${failingStatementText};
CREATE TABLE never_created (id integer);
`;
    const half = parseMigration('20260103000000_half', halfSql);
    const later = parseMigration('20260104000000_later', 'CREATE TABLE later (id integer);\n');
    expect(half.statements).toHaveLength(4);

    const { logger, lines } = captureLogger('info');
    const error = await rejection(applyMigrations(pool, [base, concurrent, half, later], { logger }));
    expect(error.kind).toBe('half-applied');
    expect(error.migrations).toEqual([half.name]);
    expect(error.message).toContain(half.name);
    expect(error.message).toContain('statement 3 of 4');
    // The statements before the failure stay applied; the ones after it, and later migrations, do not.
    expect(await relationExists('audit')).toBe(true);
    expect(await relationExists('items_id_name_idx')).toBe(true);
    expect(await relationExists('never_created')).toBe(false);
    expect(await relationExists('later')).toBe(false);
    const record = (await historyOf()).find((h) => h.name === half.name);
    expect(record).toMatchObject({ finished: false, rolledBack: false, steps: 2 });
    expect(record?.logs).toContain('failed at statement 3');
    const logged = (await logEntries(lines)).filter((e) => e.level === 'error' && e.migration === half.name);
    expect(logged.map((e) => e.statement)).toContain(failingStatementText);

    const status = await getMigrationStatus(pool, [base, concurrent, half, later]);
    expect(status.problems).toHaveLength(1);
    expect(status.problems[0]).toContain(half.name);
    expect(status.pending.map((m) => m.name)).toEqual([later.name]);
    for (const call of [
      () => applyMigrations(pool, [base, concurrent, half, later], { logger: quietLogger() }),
      () => ensureMigrated(pool, [base, concurrent, half, later], { logger: quietLogger(), migrateOnStart: false }),
    ]) {
      const refusal = await rejection(call());
      expect(refusal.message).toContain(half.name);
    }
    expect(await relationExists('later')).toBe(false);

    const unknown = await rejection(markRolledBack(pool, '20260199000000_nope'));
    expect(unknown.kind).toBe('failed');
    const finished = await rejection(markRolledBack(pool, concurrent.name));
    expect(finished.kind).toBe('failed');

    // The operator repairs the database by hand, then marks the migration rolled back.
    await pool.query('DROP INDEX items_name_key; DROP INDEX items_id_name_idx; DROP TABLE audit');
    await markRolledBack(pool, half.name);
    const repairedStatus = await getMigrationStatus(pool, [base, concurrent, half, later]);
    expect(repairedStatus.problems).toEqual([]);
    expect(repairedStatus.pending.map((m) => m.name)).toEqual([half.name, later.name]);
    expect((await rejection(markRolledBack(pool, half.name))).kind).toBe('failed');

    const fixed = parseMigration(half.name, halfSql.replace('CREATE UNIQUE INDEX', 'CREATE INDEX'));
    expect(await applyMigrations(pool, [base, concurrent, fixed, later], { logger: quietLogger() })).toEqual([
      half.name,
      later.name,
    ]);
    expect(await relationExists('never_created')).toBe(true);
    expect((await getMigrationStatus(pool, [base, concurrent, fixed, later])).problems).toEqual([]);
    expect((await historyOf()).filter((h) => h.name === half.name).map((h) => [h.finished, h.rolledBack])).toEqual([
      [false, true],
      [true, false],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Statement splitting
// ---------------------------------------------------------------------------------------------

const fragment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('x', 'foo_bar', '1', '+', '(', ')', ',', '=', 'FROM', 't', 'AS', '$1', 'a$b'),
  // 'string' with '' escapes
  fc
    .array(fc.constantFrom('a', ';', "''", '"', '$$', '--', '/*', '\n', 'é', '😀', '\\'), { maxLength: 8 })
    .map((u) => `'${u.join('')}'`),
  // E'string' with backslash escapes
  fc
    .array(fc.constantFrom('a', ';', "\\'", '\\\\', "''", '"', '--', '\\n', '$$'), { maxLength: 8 })
    .map((u) => `E'${u.join('')}'`),
  // "identifier" with "" escapes
  fc.array(fc.constantFrom('a', ';', '""', "'", '$$', '--', ' ', '/*'), { maxLength: 8 }).map((u) => `"${u.join('')}"`),
  // $$ and $tag$ bodies
  fc
    .tuple(
      fc.constantFrom('', 'fn', 'body_1', 'x'),
      fc.array(fc.constantFrom('a', ';', "'", '"', '--', '/*', '\n', '$', 'BEGIN', 'END;', '$$'), { maxLength: 10 }),
    )
    .map(([tag, units]) => ({ open: `$${tag}$`, body: units.join('') }))
    .filter(({ open, body }) => (body + open).indexOf(open) === body.length)
    .map(({ open, body }) => `${open}${body}${open}`),
  // -- line comments
  fc.array(fc.constantFrom('a', ';', "'", '"', '$$', '/*', ' '), { maxLength: 6 }).map((u) => `-- ${u.join('')}\n`),
  // /* block comments */, possibly nested
  fc
    .array(fc.constantFrom('a', ';', "'", '"', '$$', '--', ' ', '\n', '/* nested; */'), { maxLength: 6 })
    .map((u) => `/* ${u.join('')} */`),
);

const statementText = fc
  .tuple(fc.constantFrom('SELECT', 'INSERT', 'CREATE', 'DO', 'UPDATE', 'COMMENT'), fc.array(fragment, { maxLength: 8 }))
  .map(([keyword, fragments]) => [keyword, ...fragments].join(' '));

describe('splitting migration scripts into statements', () => {
  it('joining statements with ";\\n" and splitting gives them back, whatever their quotes and comments hold', () => {
    fc.assert(
      fc.property(
        fc.array(statementText, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('', ';', ';\n', ';\n-- end; of file\n', ';\n/* end; */\n'),
        (statements, tail) => {
          const script = statements.join(';\n') + tail;
          const split = splitSqlStatements(script);
          expect(split.map((s) => s.text)).toEqual(statements.map((s) => s.trim()));
          for (const s of split) expect(script.slice(s.offset, s.offset + s.text.length)).toBe(s.text);
        },
      ),
      RUNS,
    );
  });

  const FUNCTION_SQL = `CREATE FUNCTION bump(n integer) RETURNS integer LANGUAGE plpgsql AS $body$
DECLARE
  result integer := 0; -- a comment; with a semicolon
BEGIN
  /* block; comment */
  INSERT INTO calls (note) VALUES ('called; with ' || n);
  result := n + 1;
  RETURN result;
END;
$body$`;
  const SCRIPT = `-- a header; with semicolons
CREATE TABLE calls (id serial PRIMARY KEY, note text);
${FUNCTION_SQL};
DO $$ BEGIN PERFORM bump(1); PERFORM bump(2); END $$;
INSERT INTO calls (note) VALUES ('plain; text'), (E'it\\'s; escaped'), ($q$dollar; 'quoted'$q$);
`;

  it('keeps a plpgsql function body with semicolons as one statement that Postgres accepts, in either mode', async () => {
    const parsed = parseMigration('20260101000000_functions', SCRIPT);
    expect(parsed.statements).toHaveLength(4);
    expect(parsed.statements[1]?.text).toBe(FUNCTION_SQL);
    expect(parsed.statements[2]?.text).toBe('DO $$ BEGIN PERFORM bump(1); PERFORM bump(2); END $$');

    // The non-transactional runner sends the split statements one by one, so Postgres itself
    // checks that every statement is whole.
    for (const migration of [parsed, parseMigration(parsed.name, `${NO_TRANSACTION_MARKER}\n${SCRIPT}`)]) {
      await resetSchema();
      expect(await applyMigrations(pool, [migration], { logger: quietLogger() })).toEqual([migration.name]);
      const { rows } = await pool.query<{ note: string }>('SELECT note FROM calls ORDER BY id');
      expect(rows.map((r) => r.note)).toEqual([
        'called; with 1',
        'called; with 2',
        'plain; text',
        "it's; escaped",
        "dollar; 'quoted'",
      ]);
      const bumped = await pool.query<{ n: number }>('SELECT bump(41) AS n');
      expect(bumped.rows[0]?.n).toBe(42);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

describe('concurrent migration runs', () => {
  it('two instances racing on a fresh database both resolve and each migration is applied exactly once', async () => {
    const db = await scratchDatabase('migrations_race');
    databases.push(db.name);
    const [first, second, monitor] = [openPool(db.url), openPool(db.url), openPool(db.url)];
    const migrations: Migration[] = [
      parseMigration(
        '20260101000000_race_one',
        "CREATE TABLE race_log (step text NOT NULL);\nINSERT INTO race_log VALUES ('one');\nSELECT pg_sleep(0.4);\n",
      ),
      parseMigration('20260102000000_race_two', "INSERT INTO race_log VALUES ('two');\nSELECT pg_sleep(0.1);\n"),
    ];
    const names = migrations.map((m) => m.name);

    let sawWaiter = false;
    let done = false;
    const watch = (async () => {
      while (!done) {
        const { rows } = await monitor.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        if ((rows[0]?.waiting ?? 0) > 0) sawWaiter = true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const results = await Promise.all([
      applyMigrations(first, migrations, { logger: quietLogger() }),
      applyMigrations(second, migrations, { logger: quietLogger() }),
    ]).finally(() => {
      done = true;
    });
    await watch;

    expect(sawWaiter, 'one run waited for the other on the advisory lock').toBe(true);
    expect(results.filter((r) => r.length === 0)).toHaveLength(1);
    expect(results.find((r) => r.length > 0)).toEqual(names);
    const { rows } = await monitor.query<{ step: string }>('SELECT step FROM race_log ORDER BY step');
    expect(rows.map((r) => r.step)).toEqual(['one', 'two']);
    expect((await historyOf(monitor)).map((h) => [h.name, h.finished])).toEqual(names.map((n) => [n, true]));
    expect((await getMigrationStatus(monitor, migrations)).pending).toEqual([]);
  });
});

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../../observability/logger.js';
import { readBackupStatus, type BackupStatus } from '../../observability/metrics.js';

/** The status file /metrics reads (backup_last_success_timestamp_seconds, backup_last_attempt_success). */
export const BACKUP_STATUS_FILE = 'backup-status.json';

/** `erp-<UTC yyyymmddThhmmssZ>.dump`: the name carries the date, so retention never trusts mtimes. */
const BACKUP_NAME = /^erp-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;
/** A dump being written or verified; renamed to its final name only once verified. */
const PARTIAL_SUFFIX = '.partial';
/** Partial files this old are leftovers of a killed run (a running pg_dump is never this old). */
const STALE_PARTIAL_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  /** The newest backup of each of this many most recent days (UTC) that have backups. */
  daily: number;
  /** The newest backup of each of this many most recent ISO weeks that have backups. */
  weekly: number;
  /** The newest backup of each of this many most recent months (UTC) that have backups. */
  monthly: number;
}

export interface DatedBackup {
  name: string;
  date: Date;
}

/** `erp-20261124T031457Z.dump` for 2026-11-24 03:14:57 UTC. */
export function backupFileName(date: Date): string {
  const stamp = date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `erp-${stamp}.dump`;
}

/** The date in a backup's file name, or undefined when the name is not one of ours. */
export function parseBackupFileName(name: string): Date | undefined {
  const match = BACKUP_NAME.exec(name);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return backupFileName(date) === name ? date : undefined;
}

function dayKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function monthKey(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday), in UTC. */
export function isoWeekKey(date: Date): string {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const mondayBased = (date.getUTCDay() + 6) % 7;
  const thursday = new Date(day + (3 - mondayBased) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/**
 * Which backups retention keeps: for each rule, the newest backup of each of the N most recent
 * days / ISO weeks / months that have a backup (the semantics of restic's and borg's
 * `--keep-daily`); a backup kept by any rule survives, and the newest backup always does.
 *
 * Buckets are counted among the backups that exist, not back from the clock: when backups stop
 * for a while (or the clock jumps ahead), retention deletes nothing new, instead of letting the
 * history expire while no fresh backup replaces it.
 */
export function selectForRetention<T extends DatedBackup>(
  files: readonly T[],
  keep: RetentionPolicy,
): { keep: T[]; remove: T[] } {
  const newestFirst = [...files].sort((a, b) => b.date.getTime() - a.date.getTime() || (a.name < b.name ? 1 : -1));
  const kept = new Set<T>(newestFirst.slice(0, 1));
  const rules: [number, (date: Date) => string][] = [
    [keep.daily, dayKey],
    [keep.weekly, isoWeekKey],
    [keep.monthly, monthKey],
  ];
  for (const [count, bucketOf] of rules) {
    const buckets = new Set<string>();
    for (const file of newestFirst) {
      const bucket = bucketOf(file.date);
      if (buckets.has(bucket)) continue;
      if (buckets.size >= count) break;
      // The first file seen of a bucket is its newest: the list runs newest first.
      buckets.add(bucket);
      kept.add(file);
    }
  }
  return { keep: newestFirst.filter((f) => kept.has(f)), remove: newestFirst.filter((f) => !kept.has(f)) };
}

/** The database name in a postgres:// URL. */
export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

const DATABASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;

/** `baseUrl` (DATABASE_URL) pointing at another database of the same server, same credentials. */
export function databaseUrlFor(baseUrl: string, database: string): string {
  if (!DATABASE_NAME.test(database)) {
    throw new RestoreRefusedError(
      `database name "${database}" is not allowed: use 1-63 letters, digits, "_" or "-" (not starting with "-")`,
    );
  }
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A restore the tool will not do (bad checksum, non-empty target, missing database). */
export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

/** A failed pg_dump/pg_restore, described without its command line (which names the database URL). */
class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

function removeSecrets(text: string, url: string): string {
  const parsed = new URL(url);
  const secrets = [url, parsed.password, decodeURIComponent(parsed.password)].filter((s) => s.length >= 4);
  return secrets.reduce((out, secret) => out.split(secret).join('[REDACTED]'), text);
}

/**
 * Runs a PostgreSQL client tool. The error names the tool, its exit code and the end of its
 * stderr, never its arguments: execFile's own message repeats the command line.
 */
function runTool(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, killSignal: 'SIGTERM', maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const { code, signal, killed } = error as NodeJS.ErrnoException & { signal?: string; killed?: boolean };
        if (code === 'ENOENT') {
          return reject(
            new ToolError(
              `${command} not found on PATH: install the PostgreSQL client tools (same major as the server)`,
            ),
          );
        }
        const tail = stderr.trim().split('\n').slice(-3).join(' ').replace(/\s+/g, ' ');
        const how = killed ? `was killed after ${timeoutMs} ms` : signal ? `was killed by ${signal}` : `exited ${code}`;
        reject(new ToolError(`${command} ${how}${tail ? `: ${tail}` : ''}`));
      },
    );
  });
}

/**
 * Calls `work` with a libpq connection string without the password, which instead sits in a
 * private passfile for the call: arguments are visible to every local user (`ps`), and the
 * environment cannot be extended here (only src/config reads process.env).
 */
async function withPasswordFile<T>(url: string, work: (connection: string) => Promise<T>): Promise<T> {
  const parsed = new URL(url);
  if (parsed.password === '') return work(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  const dir = await mkdtemp(join(tmpdir(), 'erp-pgpass-'));
  const passfile = join(dir, 'pgpass');
  try {
    // libpq ignores a passfile that group or others can read.
    await writeFile(passfile, `*:*:*:*:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`, { mode: 0o600 });
    parsed.searchParams.set('passfile', passfile);
    return await work(parsed.toString());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** sha256 of a file, hex, streamed (dumps can be large). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes through a temporary name and a rename, so readers see the old or the new content. */
async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

export interface BackupOptions {
  /** postgres:// URL of the database to back up (its password never reaches a log or argv). */
  url: string;
  /** Folder of the dumps, their .sha256 files and backup-status.json; created when missing. */
  dir: string;
  keep: RetentionPolicy;
  logger: Logger;
  /** Pause before the one retry. @default 30_000 */
  retryDelayMs?: number;
  /**
   * Longest a pg_dump (and its verification) may run before it is killed; two attempts and the
   * pause fit the backup CronJob's 3 h activeDeadlineSeconds, so a hung run still writes its status.
   * @default 4_800_000 (80 min)
   */
  timeoutMs?: number;
  /** Dump names and status times come from it. @default () => new Date() */
  now?: () => Date;
}

export interface BackupOutcome {
  /** What was written to backup-status.json. */
  status: BackupStatus;
  /** Absolute path of the verified dump (on success). */
  file?: string;
  sha256?: string;
  /** Dumps deleted by retention. */
  removed: string[];
}

interface VerifiedDump {
  file: string;
  sha256: string;
  bytes: number;
  tables: number;
}

/**
 * One attempt: pg_dump to a partial file, `pg_restore --list` must read it and list table data,
 * then its checksum is written and the dump takes its final name, so a `.dump` on disk has
 * always been verified and always has its `.sha256`.
 */
async function dumpAndVerify(url: string, dir: string, date: Date, timeoutMs: number): Promise<VerifiedDump> {
  const name = backupFileName(date);
  const file = join(dir, name);
  const partial = `${file}${PARTIAL_SUFFIX}`;
  if (await stat(file).catch(() => undefined)) throw new Error(`${name} already exists`);
  try {
    await withPasswordFile(url, (connection) =>
      runTool(
        'pg_dump',
        [
          '--format=custom',
          '--no-owner',
          // A migration holding an exclusive lock fails the attempt instead of stalling it for hours.
          '--lock-wait-timeout=5min',
          '--file',
          partial,
          `--dbname=${connection}`,
        ],
        timeoutMs,
      ),
    );
    const listing = await runTool('pg_restore', ['--list', partial], timeoutMs);
    const tables = listing.split('\n').filter((line) => / TABLE DATA /.test(line)).length;
    if (tables === 0) throw new Error('verification failed: pg_restore --list shows no TABLE DATA entries');
    const sha256 = await sha256File(partial);
    await writeFileAtomic(`${file}.sha256`, `${sha256}  ${name}\n`);
    await rename(partial, file);
    const { size } = await stat(file);
    return { file, sha256, bytes: size, tables };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Deletes the dumps (and their .sha256) that retention does not keep, and partial files left by
 * killed runs. Only names of the form `erp-<UTC stamp>.dump` are ever considered.
 */
export async function pruneBackups(
  dir: string,
  keep: RetentionPolicy,
  logger: Logger,
  now: Date = new Date(),
): Promise<string[]> {
  const names = await readdir(dir);
  const dumps: DatedBackup[] = [];
  for (const name of names) {
    const date = parseBackupFileName(name);
    if (date) dumps.push({ name, date });
    else if (name.endsWith(`.dump${PARTIAL_SUFFIX}`) && parseBackupFileName(name.slice(0, -PARTIAL_SUFFIX.length))) {
      const { mtimeMs } = await stat(join(dir, name));
      if (now.getTime() - mtimeMs > STALE_PARTIAL_MS) await rm(join(dir, name), { force: true });
    }
  }
  const { remove } = selectForRetention(dumps, keep);
  for (const { name } of remove) {
    await rm(join(dir, `${name}.sha256`), { force: true });
    await rm(join(dir, name), { force: true });
  }
  if (remove.length > 0) logger.info('old backups deleted by retention', { removed: remove.map((f) => f.name), keep });
  return remove.map((f) => f.name);
}

/**
 * `npm run backup`: pg_dump (custom format) of `url` into `dir`, verified and checksummed, one
 * retry after `retryDelayMs`, then retention. Every run ends by writing backup-status.json
 * (`lastAttemptAt` is when the run started, `lastSuccessAt` when the last verified dump was
 * finished; a failure keeps the previous `lastSuccessAt`). Resolves with `status.ok` false
 * when both attempts failed; throws only when the status file itself cannot be written.
 */
export async function runBackup(options: BackupOptions): Promise<BackupOutcome> {
  const { url, dir, keep, logger } = options;
  const now = options.now ?? (() => new Date());
  const retryDelayMs = options.retryDelayMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 4_800_000;
  const statusPath = join(dir, BACKUP_STATUS_FILE);
  const startedAt = now();
  await mkdir(dir, { recursive: true });
  const previous = readBackupStatus(statusPath);

  const attempts = 2;
  let dump: VerifiedDump | undefined;
  let failure = '';
  for (let attempt = 1; attempt <= attempts && !dump; attempt += 1) {
    const attemptStarted = Date.now();
    logger.info('backup attempt started', { attempt, database: databaseNameOf(url), dir });
    try {
      dump = await dumpAndVerify(url, dir, now(), timeoutMs);
      logger.info('backup verified', {
        attempt,
        file: dump.file,
        sha256: dump.sha256,
        bytes: dump.bytes,
        tables: dump.tables,
        durationMs: Date.now() - attemptStarted,
      });
    } catch (error) {
      failure = removeSecrets(error instanceof Error ? error.message : String(error), url);
      if (attempt < attempts) {
        logger.warn('backup attempt failed, retrying once', { attempt, error: failure, retryInMs: retryDelayMs });
        await sleep(retryDelayMs);
      } else {
        logger.error('backup failed', { attempts, error: failure });
      }
    }
  }

  const status: BackupStatus = dump
    ? {
        lastAttemptAt: startedAt.toISOString(),
        lastSuccessAt: now().toISOString(),
        ok: true,
        file: basename(dump.file),
      }
    : {
        lastAttemptAt: startedAt.toISOString(),
        lastSuccessAt: previous?.lastSuccessAt ?? null,
        ok: false,
        error: failure,
      };
  await writeFileAtomic(statusPath, `${JSON.stringify(status, null, 2)}\n`);
  if (!dump) return { status, removed: [] };

  let removed: string[] = [];
  try {
    removed = await pruneBackups(dir, keep, logger, now());
  } catch (error) {
    // The new backup is good; a retention problem shows as a filling disk, not a failed backup.
    logger.error('retention failed; old backups were not deleted', { error });
  }
  return { status, file: dump.file, sha256: dump.sha256, removed };
}

/**
 * Compares a dump with its `<file>.sha256` (`<hex>  <basename>`, as `sha256sum -c` reads it).
 * Throws RestoreRefusedError when the checksum file is missing, malformed or does not match.
 */
export async function verifyBackupChecksum(file: string): Promise<string> {
  let line: string;
  try {
    line = await readFile(`${file}.sha256`, 'utf8');
  } catch {
    throw new RestoreRefusedError(`${basename(file)}.sha256 is missing: the dump cannot be verified`);
  }
  const expected = /^([0-9a-f]{64}) {2}(\S.*)$/m.exec(line.trim());
  if (!expected) throw new RestoreRefusedError(`${basename(file)}.sha256 is not a "<sha256>  <name>" line`);
  const actual = await sha256File(file);
  if (actual !== expected[1]) {
    throw new RestoreRefusedError(
      `checksum mismatch for ${basename(file)}: expected ${expected[1]}, found ${actual}; the dump is damaged or was changed`,
    );
  }
  return actual;
}

/** The newest `erp-*.dump` in `dir` (for `--file latest`). */
export async function latestBackup(dir: string): Promise<string | undefined> {
  const dumps = (await readdir(dir).catch(() => [] as string[]))
    .map((name) => ({ name, date: parseBackupFileName(name) }))
    .filter((f): f is DatedBackup => f.date !== undefined);
  const newest = selectForRetention(dumps, { daily: 0, weekly: 0, monthly: 0 }).keep[0];
  return newest ? join(dir, newest.name) : undefined;
}

export interface RestoreOptions {
  /** The dump; `<file>.sha256` must sit next to it and match. */
  file: string;
  /** URL of the database to restore into (see databaseUrlFor); it must be empty. */
  targetUrl: string;
  /** Create the target database first when it does not exist. @default false */
  create?: boolean;
  /**
   * A database of the same server to run CREATE DATABASE from (its user needs CREATEDB).
   * @default the target URL with the database `postgres`
   */
  maintenanceUrl?: string;
  logger: Logger;
  /** Longest pg_restore may run. @default 14_400_000 (4 h, the RTO) */
  timeoutMs?: number;
}

export interface RestoreOutcome {
  database: string;
  created: boolean;
  sha256: string;
  /** Every table of the restored database (schema-qualified) with its exact row count. */
  tables: { table: string; rows: number }[];
  durationMs: number;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** User relations (tables, sequences, views, …) outside the system schemas. */
async function countUserRelations(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`,
  );
  return rows[0]?.n ?? 0;
}

/** Every user table with its exact row count, schema-qualified, sorted. */
export async function describeTables(client: pg.Client): Promise<{ table: string; rows: number }[]> {
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
      ORDER BY table_schema, table_name`,
  );
  const out: { table: string; rows: number }[] = [];
  for (const { schema, name } of tables) {
    const qualified = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`;
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`);
    out.push({ table: `${schema}.${name}`, rows: Number(rows[0]?.n ?? 0) });
  }
  return out;
}

/**
 * `npm run restore`: checks the dump's checksum (refuses on mismatch), optionally creates the
 * target database, refuses a target that holds any relation, then restores with
 * `pg_restore --no-owner --exit-on-error --single-transaction` (a failed restore leaves the
 * target as empty as it was, so it can simply be run again).
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreOutcome> {
  const { file, targetUrl, logger } = options;
  const started = Date.now();
  const database = databaseNameOf(targetUrl);
  const sha256 = await verifyBackupChecksum(file);
  logger.info('dump checksum verified', { file, sha256 });

  let created = false;
  if (options.create) {
    const maintenanceUrl = options.maintenanceUrl ?? databaseUrlFor(targetUrl, 'postgres');
    created = await withClient(maintenanceUrl, async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (rowCount) return false;
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      return true;
    });
    logger.info(created ? 'database created' : 'database already exists', { database });
  }

  let target: pg.Client;
  try {
    target = new pg.Client({ connectionString: targetUrl });
    await target.connect();
  } catch (error) {
    if ((error as { code?: string }).code === '3D000') {
      throw new RestoreRefusedError(`database "${database}" does not exist; pass --create to create it`);
    }
    throw error;
  }
  try {
    const relations = await countUserRelations(target);
    if (relations > 0) {
      throw new RestoreRefusedError(
        `database "${database}" is not empty (${relations} relations); restore only into an empty database`,
      );
    }
  } finally {
    await target.end().catch(() => undefined);
  }

  logger.info('restore started', { database, file });
  // The password travels in a passfile and runTool's errors leave the arguments out, so nothing
  // here can carry it.
  await withPasswordFile(targetUrl, (connection) =>
    runTool(
      'pg_restore',
      ['--no-owner', '--exit-on-error', '--single-transaction', `--dbname=${connection}`, file],
      options.timeoutMs ?? 14_400_000,
    ),
  );
  const tables = await withClient(targetUrl, describeTables);
  return { database, created, sha256, tables, durationMs: Date.now() - started };
}

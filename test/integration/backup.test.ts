import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupStatus } from '../../src/observability/metrics.js';
import {
  BACKUP_STATUS_FILE,
  backupFileName,
  databaseUrlFor,
  isoWeekKey,
  parseBackupFileName,
  pruneBackups,
  restoreBackup,
  RestoreRefusedError,
  runBackup,
  selectForRetention,
  type DatedBackup,
  type RetentionPolicy,
} from '../../src/platform/db/backup.js';
import { seedDatabase } from '../../src/platform/db/seed.js';
import { dropDatabase } from '../helpers/databases.js';
import { captureLogger, scratchDatabase } from '../helpers/kit.js';

const KEEP: RetentionPolicy = { daily: 7, weekly: 4, monthly: 12 };
/** Trust auth ignores it, but it sends the passfile path through pg_dump/pg_restore. */
const PASSWORD = 'not-a-real-pass:word\\42';

const databases: string[] = [];
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'erp-backup-test-'));
  tempDirs.push(dir);
  return dir;
}

function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(PASSWORD);
  return parsed.toString();
}

function readStatus(dir: string): BackupStatus {
  return JSON.parse(readFileSync(join(dir, BACKUP_STATUS_FILE), 'utf8')) as BackupStatus;
}

/** Row count and a checksum of the contents of every table in the public schema. */
async function fingerprint(url: string): Promise<Record<string, { rows: number; md5: string | null }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const out: Record<string, { rows: number; md5: string | null }> = {};
    for (const { name } of tables) {
      const table = client.escapeIdentifier(name);
      const { rows } = await client.query<{ n: string; md5: string | null }>(
        `SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS md5 FROM public.${table} t`,
      );
      out[name] = { rows: Number(rows[0]!.n), md5: rows[0]!.md5 };
    }
    return out;
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm run backup / npm run restore', () => {
  let source: { url: string; name: string };
  let dir: string;
  let dump: string;

  beforeAll(async () => {
    source = await scratchDatabase('backup', { migrated: true });
    databases.push(source.name);
    const pool = new pg.Pool({ connectionString: source.url, max: 2 });
    try {
      await seedDatabase(pool, { products: 25, orders: 60, customers: 10 }, captureLogger('warn').logger);
    } finally {
      await pool.end();
    }
    dir = tempDir();
  });

  it('backs up into a verified, checksummed dump and reports ok in the status file', async () => {
    const { logger, lines } = captureLogger('info');
    const outcome = await runBackup({ url: withPassword(source.url), dir, keep: KEEP, logger, retryDelayMs: 10 });
    expect(outcome.status.ok).toBe(true);
    dump = outcome.file!;
    expect(basename(dump)).toMatch(/^erp-\d{8}T\d{6}Z\.dump$/);
    expect(existsSync(dump)).toBe(true);
    expect(readFileSync(`${dump}.sha256`, 'utf8')).toBe(`${outcome.sha256}  ${basename(dump)}\n`);
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);

    const status = readStatus(dir);
    expect(status).toEqual({
      lastAttemptAt: expect.any(String),
      lastSuccessAt: expect.any(String),
      ok: true,
      file: basename(dump),
    });
    expect(Date.parse(status.lastSuccessAt!)).toBeGreaterThanOrEqual(Date.parse(status.lastAttemptAt));
    // The password never reaches a log line (nor the arguments: it travels in a passfile).
    expect(lines().join('\n')).not.toContain('not-a-real-pass');
    expect(lines().filter((line) => line.includes('backup attempt started'))).toHaveLength(1);
  });

  it('restores into a fresh database with the same rows in every table', async () => {
    const target = await scratchDatabase('restore');
    databases.push(target.name);
    const { logger } = captureLogger('warn');
    const outcome = await restoreBackup({ file: dump, targetUrl: withPassword(target.url), logger });
    expect(outcome.database).toBe(target.name);

    const before = await fingerprint(source.url);
    const after = await fingerprint(target.url);
    expect(Object.keys(before).length).toBeGreaterThan(10);
    expect(before.products!.rows).toBe(25);
    expect(before.orders!.rows).toBe(60);
    expect(after).toEqual(before);
    // What the CLI prints: every table with its row count.
    expect(outcome.tables.find((t) => t.table === 'public.orders')?.rows).toBe(60);
  });

  it('creates the target database with create: true', async () => {
    const name = `${source.name}_created`;
    databases.push(name);
    const { logger } = captureLogger('warn');
    const outcome = await restoreBackup({
      file: dump,
      targetUrl: databaseUrlFor(source.url, name),
      create: true,
      maintenanceUrl: source.url,
      logger,
    });
    expect(outcome.created).toBe(true);
    expect(await fingerprint(databaseUrlFor(source.url, name))).toEqual(await fingerprint(source.url));
  });

  it('refuses a target that is not empty, and one that does not exist without create', async () => {
    const { logger } = captureLogger('warn');
    await expect(restoreBackup({ file: dump, targetUrl: source.url, logger })).rejects.toThrow(/is not empty/);
    await expect(
      restoreBackup({ file: dump, targetUrl: databaseUrlFor(source.url, `${source.name}_missing`), logger }),
    ).rejects.toThrow(/does not exist; pass --create/);
  });

  it('refuses a dump whose checksum does not match, before touching the target', async () => {
    const target = await scratchDatabase('restore_bad');
    databases.push(target.name);
    const damaged = join(tempDir(), basename(dump));
    copyFileSync(dump, damaged);
    copyFileSync(`${dump}.sha256`, `${damaged}.sha256`);
    const bytes = readFileSync(damaged);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const { logger } = captureLogger('warn');

    const refused = restoreBackup({ file: damaged, targetUrl: target.url, logger });
    await expect(refused).rejects.toBeInstanceOf(RestoreRefusedError);
    await expect(refused).rejects.toThrow(/checksum mismatch/);
    rmSync(`${damaged}.sha256`);
    await expect(restoreBackup({ file: damaged, targetUrl: target.url, logger })).rejects.toThrow(/sha256 is missing/);
    expect(await fingerprint(target.url)).toEqual({});
  });

  it('a failing backup retries once, then writes ok: false and keeps the last success', async () => {
    const previous = readStatus(dir);
    const bad = new URL(source.url);
    bad.port = '1';
    const { logger, lines } = captureLogger('info');
    const outcome = await runBackup({ url: bad.toString(), dir, keep: KEEP, logger, retryDelayMs: 10 });

    expect(outcome.status.ok).toBe(false);
    const status = readStatus(dir);
    expect(status).toEqual({
      lastAttemptAt: expect.any(String),
      lastSuccessAt: previous.lastSuccessAt,
      ok: false,
      error: expect.stringMatching(/^pg_dump exited 1: .*port 1 failed/),
    });
    expect(Date.parse(status.lastAttemptAt)).toBeGreaterThanOrEqual(Date.parse(previous.lastAttemptAt));
    const logged = lines().map((line) => JSON.parse(line) as { message: string; level: string; attempt?: number });
    expect(logged.filter((l) => l.message === 'backup attempt started').map((l) => l.attempt)).toEqual([1, 2]);
    expect(logged.filter((l) => l.message === 'backup attempt failed, retrying once')).toHaveLength(1);
    expect(logged.filter((l) => l.message === 'backup failed' && l.level === 'error')).toHaveLength(1);
    // The verified dump of the earlier run is untouched; no partial file is left behind.
    expect(readdirSync(dir).sort()).toEqual([BACKUP_STATUS_FILE, basename(dump), `${basename(dump)}.sha256`].sort());
  });

  it('a first failure with no earlier status reports lastSuccessAt: null', async () => {
    const empty = tempDir();
    const bad = new URL(source.url);
    bad.port = '1';
    const outcome = await runBackup({
      url: bad.toString(),
      dir: empty,
      keep: KEEP,
      logger: captureLogger('error').logger,
      retryDelayMs: 10,
    });
    expect(outcome.status).toMatchObject({ ok: false, lastSuccessAt: null });
    expect(readStatus(empty)).toEqual(outcome.status);
  });
});

describe('retention on disk', () => {
  it('deletes the dumps (and their checksums) retention does not keep, and only ours', async () => {
    const dir = tempDir();
    const day = 86_400_000;
    const start = Date.UTC(2026, 0, 1, 3, 0, 0);
    // Four backups a day for 20 days.
    const names = Array.from({ length: 80 }, (_, i) => backupFileName(new Date(start + i * (day / 4))));
    for (const name of names) {
      writeFileSync(join(dir, name), 'dump');
      writeFileSync(join(dir, `${name}.sha256`), 'sum');
    }
    writeFileSync(join(dir, 'notes.txt'), 'not a backup');
    const removed = await pruneBackups(dir, { daily: 3, weekly: 3, monthly: 0 }, captureLogger('warn').logger);

    const left = readdirSync(dir).filter((name) => name.endsWith('.dump'));
    // Days: Jan 20, 19, 18. ISO weeks: W04 and W03 are already kept by those days (Jan 20, Sunday
    // Jan 18); W02 adds its newest, Sunday Jan 11.
    expect(left.sort()).toEqual([
      'erp-20260111T210000Z.dump',
      'erp-20260118T210000Z.dump',
      'erp-20260119T210000Z.dump',
      'erp-20260120T210000Z.dump',
    ]);
    expect(removed).toHaveLength(76);
    for (const name of left) expect(existsSync(join(dir, `${name}.sha256`))).toBe(true);
    for (const name of removed) expect(existsSync(join(dir, `${name}.sha256`))).toBe(false);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });
});

describe('PROP retention (selectForRetention)', () => {
  const DAY = 86_400_000;
  const keepArb = fc.record({ daily: fc.nat(10), weekly: fc.nat(6), monthly: fc.nat(14) });
  // Up to 200 backups over ~3 years, whole seconds (as in the file names), unique dates.
  const filesArb = fc
    .uniqueArray(
      fc.integer({ min: 0, max: 3 * 366 * DAY }).map((ms) => Math.floor(ms / 1000) * 1000),
      {
        maxLength: 200,
      },
    )
    .map((offsets) =>
      offsets.map((offset): DatedBackup => {
        const date = new Date(Date.UTC(2025, 0, 1) + offset);
        return { name: backupFileName(date), date };
      }),
    );
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const month = (d: Date) => d.toISOString().slice(0, 7);

  it('never deletes the newest backup, keeps at most daily+weekly+monthly, keeps only bucket newests', () => {
    fc.assert(
      fc.property(filesArb, keepArb, (files, keep) => {
        const { keep: kept, remove } = selectForRetention(files, keep);
        // A partition of the input.
        expect(kept.length + remove.length).toBe(files.length);
        expect(new Set([...kept, ...remove]).size).toBe(files.length);
        if (files.length === 0) return;
        const newest = files.reduce((a, b) => (b.date > a.date ? b : a));
        expect(kept).toContain(newest);
        expect(kept.length).toBeLessThanOrEqual(Math.max(1, keep.daily + keep.weekly + keep.monthly));
        for (const file of kept) {
          const newestOf = (key: (d: Date) => string) =>
            files.every((other) => key(other.date) !== key(file.date) || other.date <= file.date);
          expect(newestOf(day) || newestOf(isoWeekKey) || newestOf(month)).toBe(true);
        }
        // Each rule is honoured: the newest backups of the N most recent days (weeks, months) survive.
        for (const [count, key] of [
          [keep.daily, day],
          [keep.weekly, isoWeekKey],
          [keep.monthly, month],
        ] as const) {
          const buckets = [...new Set(files.map((f) => key(f.date)))].sort().reverse().slice(0, count);
          for (const bucket of buckets) {
            const inBucket = files.filter((f) => key(f.date) === bucket);
            const newestInBucket = inBucket.reduce((a, b) => (b.date > a.date ? b : a));
            expect(kept).toContain(newestInBucket);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('file names round-trip through their dates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 * 366 * DAY }), (offset) => {
        const date = new Date(Math.floor((Date.UTC(2000, 0, 1) + offset) / 1000) * 1000);
        expect(parseBackupFileName(backupFileName(date))).toEqual(date);
      }),
      { numRuns: 100 },
    );
    expect(parseBackupFileName('erp-20261324T000000Z.dump')).toBeUndefined();
    expect(parseBackupFileName('erp-20261124T031457Z.dump.partial')).toBeUndefined();
  });

  it('ISO weeks match known dates', () => {
    expect(isoWeekKey(new Date('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(isoWeekKey(new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeekKey(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
    expect(isoWeekKey(new Date('2026-01-11T23:59:59Z'))).toBe('2026-W02');
    expect(isoWeekKey(new Date('2026-01-12T00:00:00Z'))).toBe('2026-W03');
  });
});

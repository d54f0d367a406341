import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ADMIN_URL } from '../helpers/databases.js';
import { ROOT } from '../helpers/kit.js';

const run = promisify(execFile);

async function drift(prismaDir: string, ...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts', 'db-drift.ts'), ...args, '--prisma-dir', prismaDir],
      {
        cwd: ROOT,
        env: { ...process.env, DRIFT_DATABASE_URL: ADMIN_URL },
      },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('db:check and db:migration:create (offline schema engine)', () => {
  it('detects an unmigrated schema change, creates its migration, then passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-prisma-'));
    cpSync(join(ROOT, 'prisma'), dir, { recursive: true });
    expect((await drift(dir, 'check')).code).toBe(0);

    const schemaPath = join(dir, 'schema.prisma');
    writeFileSync(
      schemaPath,
      readFileSync(schemaPath, 'utf8').replace(
        '  phone     String?  @db.VarChar(40)',
        '  phone     String?  @db.VarChar(40)\n  fax       String?  @db.VarChar(40)',
      ),
    );
    const stale = await drift(dir, 'check');
    expect(stale.code).toBe(1);
    expect(stale.output).toContain('ALTER TABLE "customers" ADD COLUMN');

    const created = await drift(dir, 'create', 'add_customer_fax');
    expect(created.code).toBe(0);
    const migration = readdirSync(join(dir, 'migrations')).find((name) => name.endsWith('_add_customer_fax'));
    expect(migration).toBeDefined();
    expect(readFileSync(join(dir, 'migrations', migration!, 'migration.sql'), 'utf8')).toMatch(
      /ADD COLUMN\s+"fax" VARCHAR\(40\)/,
    );
    expect(await drift(dir, 'check')).toMatchObject({ code: 0 });
  });

  it('detects a database-only object that the migrations lack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-prisma-'));
    cpSync(join(ROOT, 'prisma'), dir, { recursive: true });
    const extra = join(dir, 'schema.extra.sql');
    writeFileSync(
      extra,
      `${readFileSync(extra, 'utf8')}\nALTER TABLE "customers" ADD CONSTRAINT "customers_name_not_blank" CHECK (name <> '');\n`,
    );
    const result = await drift(dir, 'check');
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/only in schema: .*customers_name_not_blank/);
  });
});

// npm run audit:verify — recomputes the audit log's hash chain (REQ 18.4) and reports every
// changed row (hash-mismatch) and every broken link (chain-break, e.g. a deleted row).
// Exit code: 0 intact, 1 problems found, 2 the check could not run.
// In production: node dist/src/modules/audit/audit-verify.cli.js
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openCliDatabase } from '../../platform/db/cli-support.js';
import { verifyAuditChain } from './audit.verify.js';

try {
  parseArgs({ options: {}, allowPositionals: false });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\nusage: audit:verify\n`);
  process.exit(2);
}

const cli = await openCliDatabase();
const pool = new pg.Pool({ connectionString: cli.url, max: 1 });
try {
  const report = await verifyAuditChain(pool);
  if (report.ok) {
    cli.logger.info('audit chain intact', { rows: report.rows, head: report.head });
  } else {
    cli.logger.error('audit chain broken', {
      rows: report.rows,
      problemCount: report.problemCount,
      problems: report.problems,
      head: report.head,
    });
    process.exitCode = 1;
  }
} catch (error) {
  cli.logger.error('audit chain verification failed', { error });
  process.exitCode = 2;
} finally {
  await pool.end();
  await cli.stop();
}

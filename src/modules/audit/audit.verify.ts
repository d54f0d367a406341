import type pg from 'pg';
import type { Prisma } from '../../platform/db/index.js';
import { computeAuditHash, GENESIS_HASH, parseJsonText } from './audit.hash.js';

/** Where verification reads from: the Prisma client or a pg pool/client (the CLI). */
export type AuditChainSource = Pick<Prisma, '$queryRawUnsafe'> | pg.Pool | pg.PoolClient | pg.Client;

export interface AuditChainProblem {
  /** The row the problem shows at, as a decimal string. */
  sequence: string;
  /**
   * `hash-mismatch`: the row's content no longer matches its hash (the row was changed).
   * `chain-break`: the row's prevHash is not the previous row's hash (a row before it was
   * deleted, inserted or re-hashed).
   */
  kind: 'hash-mismatch' | 'chain-break';
  detail: string;
}

export interface AuditChainReport {
  /** Rows read. */
  rows: number;
  ok: boolean;
  /** The first `maxProblems` problems, in sequence order. */
  problems: AuditChainProblem[];
  /** Every problem found, including those beyond `maxProblems`. */
  problemCount: number;
  /**
   * The last row read. The chain cannot show that rows were cut off its end: keep this
   * somewhere else (a log, a ticket) and compare it with a later run.
   */
  head: { sequence: string; hash: string } | null;
}

export interface VerifyAuditChainOptions {
  /** Rows read per query. @default 5000 */
  pageSize?: number;
  /** Problems kept in the report. @default 1000 */
  maxProblems?: number;
}

interface ChainRow {
  id: string;
  sequence: string;
  epoch_ms: string;
  event_type: string;
  user_id: string | null;
  resource_id: string | null;
  action: string;
  ip_address: string | null;
  user_agent: string | null;
  success: boolean;
  details: string | null;
  prev_hash: string;
  hash: string;
}

// Everything as text except the boolean, so Prisma and pg hand over identical values; the
// timestamp as epoch milliseconds (the column keeps 3 fractional digits) to avoid any
// time-zone or date-style parsing. ORDER BY names the table column: a bare "sequence" would
// be the text output column and sort 10 before 2.
const PAGE_SQL = `
  SELECT "id"::text AS id, "sequence"::text AS sequence,
         round(extract(epoch FROM "timestamp") * 1000)::bigint::text AS epoch_ms,
         "event_type" AS event_type, "user_id"::text AS user_id, "resource_id" AS resource_id,
         "action" AS action, "ip_address" AS ip_address, "user_agent" AS user_agent, "success" AS success,
         "details"::text AS details, "prev_hash" AS prev_hash, "hash" AS hash
  FROM "audit_logs" AS a
  WHERE a."sequence" > $1::bigint
  ORDER BY a."sequence"
  LIMIT $2::int`;

async function readPage(source: AuditChainSource, after: string, limit: number): Promise<ChainRow[]> {
  if ('$queryRawUnsafe' in source) return source.$queryRawUnsafe<ChainRow[]>(PAGE_SQL, after, limit);
  const result = await source.query<ChainRow>(PAGE_SQL, [after, limit]);
  return result.rows;
}

/**
 * Recomputes the hash chain of the whole audit log in sequence order, a page at a time
 * (REQ 18.4): a changed row shows as `hash-mismatch`, a deleted or inserted one as a
 * `chain-break` at the row after it. Gaps in the sequence are not problems: a rolled-back
 * transaction uses up the numbers it drew.
 */
export async function verifyAuditChain(
  source: AuditChainSource,
  options: VerifyAuditChainOptions = {},
): Promise<AuditChainReport> {
  const pageSize = options.pageSize ?? 5_000;
  const maxProblems = options.maxProblems ?? 1_000;
  const problems: AuditChainProblem[] = [];
  let problemCount = 0;
  const report = (problem: AuditChainProblem) => {
    problemCount += 1;
    if (problems.length < maxProblems) problems.push(problem);
  };

  let rows = 0;
  let previous: { sequence: string; hash: string } | null = null;
  let after = '-9223372036854775808';
  for (;;) {
    const page = await readPage(source, after, pageSize);
    for (const row of page) {
      rows += 1;
      const expectedPrev: string = previous?.hash ?? GENESIS_HASH;
      if (row.prev_hash !== expectedPrev) {
        report({
          sequence: row.sequence,
          kind: 'chain-break',
          detail: previous
            ? `prevHash ${row.prev_hash} is not the hash ${previous.hash} of the previous row (sequence ${previous.sequence})`
            : `prevHash ${row.prev_hash} of the first row is not the genesis hash`,
        });
      }
      let details: unknown = null;
      let parsed = true;
      try {
        details = row.details === null ? null : parseJsonText(row.details);
      } catch {
        parsed = false;
      }
      const recomputed: string = parsed
        ? computeAuditHash({
            id: row.id,
            sequence: row.sequence,
            timestamp: new Date(Number(row.epoch_ms)),
            eventType: row.event_type,
            userId: row.user_id,
            resourceId: row.resource_id,
            action: row.action,
            ipAddress: row.ip_address,
            userAgent: row.user_agent,
            success: row.success,
            details,
            prevHash: row.prev_hash,
          })
        : 'unparseable details';
      if (recomputed !== row.hash) {
        report({
          sequence: row.sequence,
          kind: 'hash-mismatch',
          detail: `stored hash ${row.hash}, content hashes to ${recomputed}`,
        });
      }
      previous = { sequence: row.sequence, hash: row.hash };
    }
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.sequence;
  }
  return { rows, ok: problemCount === 0, problems, problemCount, head: previous };
}

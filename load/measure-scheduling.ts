// The scheduling solver on random weeks (issue 8): every instance through solveSchedule (worker thread,
// HiGHS, fallback, checks), one at a time, as the job queue runs them.
//
//   npm run bench:scheduling [-- --from 1 --to 200 --employees 50 --shifts 200 --budget 10000 --memory 2048]
//
// Instances come from generateProblem(seed) (seeds --from to --to). A result counts as a success when
// checkSchedule finds no hard-constraint violation. Prints solve times (median, p95, mean, max), the
// success rate, how each schedule was produced, and the mean unfilled slots and gap; writes the same
// numbers, with every instance's row, to load/results/scheduling-<timestamp>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { checkSchedule, generateProblem, solveSchedule } from '../src/modules/scheduling/solver/index.js';
import { findProjectRoot } from '../src/platform/project-root.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: '1' },
    to: { type: 'string', default: '200' },
    employees: { type: 'string', default: '50' },
    shifts: { type: 'string', default: '200' },
    budget: { type: 'string', default: '10000' },
    memory: { type: 'string', default: '2048' },
  },
});
const wholeNumber = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
  return value;
};
const FROM = wholeNumber('from');
const TO = wholeNumber('to');
const EMPLOYEES = wholeNumber('employees');
const SHIFTS = wholeNumber('shifts');
const BUDGET_MS = wholeNumber('budget');
const MEMORY_MB = wholeNumber('memory');
if (TO < FROM) throw new Error('--to must not be below --from');

interface Row {
  seed: number;
  method: string;
  fallbackReason: string | null;
  durationMs: number;
  valid: boolean;
  unfilledSlots: number;
  slots: number;
  hourSpreadMinutes: number;
  preferencesHonoured: number;
  gap: number | null;
}

const rows: Row[] = [];
console.log(`${TO - FROM + 1} instances of ${EMPLOYEES} employees × ${SHIFTS} shifts, budget ${BUDGET_MS} ms`);
for (let seed = FROM; seed <= TO; seed++) {
  const problem = generateProblem(seed, { employees: EMPLOYEES, shifts: SHIFTS });
  const result = await solveSchedule(problem, { timeBudgetMs: BUDGET_MS, memoryLimitMb: MEMORY_MB });
  const row: Row = {
    seed,
    method: result.method,
    fallbackReason: result.fallbackReason,
    durationMs: Math.round(result.durationMs),
    valid: checkSchedule(problem, result.assignments).length === 0,
    unfilledSlots: result.quality.unfilledSlots,
    slots: problem.shifts.reduce((sum, s) => sum + s.headcount, 0),
    hourSpreadMinutes: result.quality.hourSpreadMinutes,
    preferencesHonoured: result.quality.preferencesHonoured,
    gap: result.gap,
  };
  rows.push(row);
  const reason = row.fallbackReason ? ` (${row.fallbackReason})` : '';
  console.log(
    `seed ${String(seed).padStart(4)}  ${row.method.padEnd(9)}${reason}  ${String(row.durationMs).padStart(6)} ms  unfilled ${row.unfilledSlots}/${row.slots}${row.valid ? '' : '  INVALID'}`,
  );
}

const times = rows.map((r) => r.durationMs).sort((a, b) => a - b);
const quantile = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
const mean = (list: readonly number[]) => (list.length ? list.reduce((a, b) => a + b, 0) / list.length : null);
const count = (predicate: (row: Row) => boolean) => rows.filter(predicate).length;
const gaps = rows.flatMap((r) => (r.gap === null ? [] : [r.gap]));
const fallbackReasons: Record<string, number> = {};
for (const r of rows)
  if (r.fallbackReason) fallbackReasons[r.fallbackReason] = (fallbackReasons[r.fallbackReason] ?? 0) + 1;
const summary = {
  instances: rows.length,
  employees: EMPLOYEES,
  shifts: SHIFTS,
  budgetMs: BUDGET_MS,
  memoryLimitMb: MEMORY_MB,
  seeds: [FROM, TO],
  medianMs: quantile(0.5),
  p95Ms: quantile(0.95),
  meanMs: mean(times)!,
  maxMs: times[times.length - 1]!,
  successRate: count((r) => r.valid) / rows.length,
  methods: {
    optimal: count((r) => r.method === 'optimal'),
    feasible: count((r) => r.method === 'feasible'),
    heuristic: count((r) => r.method === 'heuristic'),
  },
  fallbackReasons,
  meanUnfilledSlots: mean(rows.map((r) => r.unfilledSlots))!,
  meanSlots: mean(rows.map((r) => r.slots))!,
  meanGap: mean(gaps),
  maxGap: gaps.length ? Math.max(...gaps) : null,
  node: process.version,
};

console.log('');
console.log(
  `solve time     median ${summary.medianMs} ms, p95 ${summary.p95Ms} ms, mean ${summary.meanMs.toFixed(0)} ms, max ${summary.maxMs} ms`,
);
console.log(`success rate   ${(summary.successRate * 100).toFixed(1)} % (no hard-constraint violation)`);
console.log(
  `methods        optimal ${summary.methods.optimal}, feasible ${summary.methods.feasible}, heuristic ${summary.methods.heuristic}` +
    (Object.keys(fallbackReasons).length ? ` (${JSON.stringify(fallbackReasons)})` : ''),
);
console.log(`unfilled slots mean ${summary.meanUnfilledSlots.toFixed(1)} of ${summary.meanSlots.toFixed(1)}`);
console.log(
  `gap            mean ${summary.meanGap ?? 'n/a'}, max ${summary.maxGap ?? 'n/a'} (over ${gaps.length} results with a gap)`,
);

const resultsDir = join(findProjectRoot(), 'load', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `scheduling-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ summary, rows }, null, 2)}\n`);
console.log(`\nwritten to ${relative(process.cwd(), file)}`);

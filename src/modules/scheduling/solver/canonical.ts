/**
 * The identity of a scheduling problem: the Redis cache key of its result (issue 8). Two problems that
 * differ only in the order of their lists (employees, shifts, skills, windows, preferences) are the
 * same problem and hash the same; any change to a value that the solvers read changes the hash.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_MIN_REST_MINUTES } from './constraints.js';
import type { SchedulingProblem, TimeWindow } from './problem.js';

/**
 * Bumped whenever the canonical form or the meaning of a problem changes, so that results cached under
 * the old form are never read back for a problem that now means something else.
 */
const CANONICAL_VERSION = 'scheduling-problem/1';

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byWindow = (a: TimeWindow, b: TimeWindow) => a.startMs - b.startMs || a.endMs - b.endMs;

/**
 * The problem as JSON with every list sorted and every object's keys in one fixed order. Employees and
 * shifts are sorted by their own canonical JSON (id first), so even an invalid problem with duplicate ids
 * has exactly one canonical form. Only the fields of the contract are kept (extra properties do not reach
 * the solvers either); a missing `minRestMinutes` is written as its default, which is what the solvers use.
 */
export function canonicalProblemJson(problem: SchedulingProblem): string {
  const employees = problem.employees
    .map((e) =>
      JSON.stringify({
        id: e.id,
        skills: [...e.skills].sort(byString),
        weeklyLimitMinutes: e.weeklyLimitMinutes,
        availability: [...e.availability].sort(byWindow).map((w) => ({ startMs: w.startMs, endMs: w.endMs })),
        preferredShiftIds: [...e.preferredShiftIds].sort(byString),
      }),
    )
    .sort(byString);
  const shifts = problem.shifts
    .map((s) =>
      JSON.stringify({
        id: s.id,
        startMs: s.startMs,
        endMs: s.endMs,
        requiredSkill: s.requiredSkill,
        headcount: s.headcount,
      }),
    )
    .sort(byString);
  const head = JSON.stringify({
    version: CANONICAL_VERSION,
    minRestMinutes: problem.minRestMinutes ?? DEFAULT_MIN_REST_MINUTES,
  });
  return `${head.slice(0, -1)},"employees":[${employees.join(',')}],"shifts":[${shifts.join(',')}]}`;
}

/** sha256 (hex) of `canonicalProblemJson`. */
export function hashProblem(problem: SchedulingProblem): string {
  return createHash('sha256').update(canonicalProblemJson(problem)).digest('hex');
}

/**
 * The greedy fallback (issue 8): a schedule that satisfies every hard constraint, always, in a few
 * milliseconds. Used when HiGHS cannot answer in time or fails, and as HiGHS's starting incumbent.
 *
 * Shifts are filled scarcest first (fewest eligible employees per needed person, then earliest), each
 * slot by the eligible employee with the least assigned time who can still take the shift (no overlap,
 * enough rest, within the weekly limit); ties go to an employee who prefers the shift, then to the one
 * with fewer eligible shifts (the less flexible), then to problem order. A pair is only ever added when
 * it keeps every constraint, so stopping at the deadline still leaves a valid (partial) schedule.
 */
import { eligibleEmployeesByShift, minRestMs, MS_PER_MINUTE, shiftDurationMs } from './constraints.js';
import type { Assignment, SchedulingProblem } from './problem.js';

export interface GreedyOptions {
  /**
   * `performance.now()` value after which no further shift is filled; the schedule so far is returned.
   * @default Infinity
   */
  deadline?: number;
}

export interface GreedyResult {
  assignments: Assignment[];
  /** False when the deadline stopped the greedy before it had considered every shift. */
  complete: boolean;
}

export function solveGreedy(problem: SchedulingProblem, options: GreedyOptions = {}): GreedyResult {
  const deadline = options.deadline ?? Infinity;
  const { employees, shifts } = problem;
  const restMs = minRestMs(problem);
  const eligible = eligibleEmployeesByShift(problem);
  const eligibleCount = new Array<number>(employees.length).fill(0);
  for (const list of eligible) for (const e of list) eligibleCount[e]! += 1;
  const prefers = employees.map((employee) => new Set(employee.preferredShiftIds));

  const order = shifts
    .map((_, s) => s)
    .filter((s) => eligible[s]!.length > 0)
    .sort((a, b) => {
      const scarcityA = eligible[a]!.length / shifts[a]!.headcount;
      const scarcityB = eligible[b]!.length / shifts[b]!.headcount;
      return scarcityA - scarcityB || shifts[a]!.startMs - shifts[b]!.startMs || a - b;
    });

  const loadMs = new Array<number>(employees.length).fill(0);
  const assigned: number[][] = employees.map(() => []);
  const assignments: Assignment[] = [];
  const canTake = (e: number, s: number) => {
    const shift = shifts[s]!;
    if (loadMs[e]! + shiftDurationMs(shift) > employees[e]!.weeklyLimitMinutes * MS_PER_MINUTE) return false;
    for (const other of assigned[e]!) {
      const o = shifts[other]!;
      if (shift.startMs < o.endMs + restMs && o.startMs < shift.endMs + restMs) return false;
    }
    return true;
  };

  for (const s of order) {
    if (performance.now() > deadline) return { assignments, complete: false };
    const shift = shifts[s]!;
    const shiftId = shift.id;
    const candidates = eligible[s]!.filter((e) => canTake(e, s));
    candidates.sort(
      (a, b) =>
        loadMs[a]! - loadMs[b]! ||
        Number(prefers[b]!.has(shiftId)) - Number(prefers[a]!.has(shiftId)) ||
        eligibleCount[a]! - eligibleCount[b]! ||
        a - b,
    );
    // Candidates only conflict with each other through this shift's headcount: taking one does not
    // change whether another can take the same shift.
    for (const e of candidates.slice(0, shift.headcount)) {
      assigned[e]!.push(s);
      loadMs[e]! += shiftDurationMs(shift);
      assignments.push({ shiftId, employeeId: employees[e]!.id });
    }
  }
  return { assignments, complete: true };
}

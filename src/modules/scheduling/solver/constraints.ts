/**
 * The hard constraints of a schedule (issue 8), written once: the checker every returned schedule goes
 * through, and the eligibility and conflict rules the MILP model and the greedy heuristic are built from,
 * so that the three can never disagree about what "allowed" means.
 */
import type { Assignment, ProblemEmployee, ProblemShift, ScheduleQuality, SchedulingProblem } from './problem.js';

export const MS_PER_MINUTE = 60_000;
/** The rest rule used when a problem does not say (`SchedulingProblem.minRestMinutes`). */
export const DEFAULT_MIN_REST_MINUTES = 660;

/** Least rest between two shifts of one employee, in milliseconds. */
export function minRestMs(problem: SchedulingProblem): number {
  const minutes = Number.isFinite(problem.minRestMinutes) ? problem.minRestMinutes : DEFAULT_MIN_REST_MINUTES;
  return minutes * MS_PER_MINUTE;
}

export function shiftDurationMs(shift: ProblemShift): number {
  return shift.endMs - shift.startMs;
}

/** Whether the shift lies entirely inside one of the employee's availability windows. */
export function isAvailable(employee: ProblemEmployee, shift: ProblemShift): boolean {
  return employee.availability.some((w) => w.startMs <= shift.startMs && shift.endMs <= w.endMs);
}

export function hasSkill(employee: ProblemEmployee, shift: ProblemShift): boolean {
  return shift.requiredSkill === null || employee.skills.includes(shift.requiredSkill);
}

/**
 * Whether the employee may be put on the shift at all, looking at that pair alone: skill, availability,
 * and the shift fitting in the weekly limit. Shifts that need nobody are left out, so "can work at all"
 * (the balance objective and `hourSpreadMinutes`) only counts employees with real work to be had.
 */
export function isEligible(employee: ProblemEmployee, shift: ProblemShift): boolean {
  return (
    shift.headcount > 0 &&
    hasSkill(employee, shift) &&
    isAvailable(employee, shift) &&
    shiftDurationMs(shift) <= employee.weeklyLimitMinutes * MS_PER_MINUTE
  );
}

/**
 * Whether one employee cannot work both shifts: they overlap, or the rest between the end of the earlier
 * one and the start of the later one is shorter than `restMs`. Equivalently, the intervals
 * [start, end + rest) intersect, which makes the conflicts of one employee an interval graph (the MILP
 * model relies on this for its clique constraints).
 */
export function shiftsConflict(a: ProblemShift, b: ProblemShift, restMs: number): boolean {
  return a.startMs < b.endMs + restMs && b.startMs < a.endMs + restMs;
}

/** Eligible employee indexes of every shift, in problem order (shift index → employee indexes). */
export function eligibleEmployeesByShift(problem: SchedulingProblem): number[][] {
  return problem.shifts.map((shift) => {
    const eligible: number[] = [];
    problem.employees.forEach((employee, e) => {
      if (isEligible(employee, shift)) eligible.push(e);
    });
    return eligible;
  });
}

/**
 * What is wrong with the problem itself (not with a schedule): duplicate ids, times that are not whole
 * finite milliseconds, empty shifts, negative or fractional headcounts, negative limits or rest. The
 * solvers assume a valid problem; `solveSchedule` refuses an invalid one.
 */
export function validateProblem(problem: SchedulingProblem): string[] {
  const errors: string[] = [];
  const isTime = (value: unknown) => Number.isSafeInteger(value);
  const seenEmployees = new Set<string>();
  for (const employee of problem.employees) {
    if (seenEmployees.has(employee.id)) errors.push(`duplicate employee id ${JSON.stringify(employee.id)}`);
    seenEmployees.add(employee.id);
    if (!(Number.isFinite(employee.weeklyLimitMinutes) && employee.weeklyLimitMinutes >= 0)) {
      errors.push(`employee ${JSON.stringify(employee.id)}: weeklyLimitMinutes must be a finite number >= 0`);
    }
    for (const window of employee.availability) {
      if (!isTime(window.startMs) || !isTime(window.endMs) || window.endMs < window.startMs) {
        errors.push(`employee ${JSON.stringify(employee.id)}: availability window must be whole ms with start <= end`);
      }
    }
  }
  const seenShifts = new Set<string>();
  for (const shift of problem.shifts) {
    if (seenShifts.has(shift.id)) errors.push(`duplicate shift id ${JSON.stringify(shift.id)}`);
    seenShifts.add(shift.id);
    if (!isTime(shift.startMs) || !isTime(shift.endMs) || shift.endMs <= shift.startMs) {
      errors.push(`shift ${JSON.stringify(shift.id)}: times must be whole ms with start < end`);
    }
    if (!(Number.isSafeInteger(shift.headcount) && shift.headcount >= 0)) {
      errors.push(`shift ${JSON.stringify(shift.id)}: headcount must be a whole number >= 0`);
    }
  }
  if (
    problem.minRestMinutes !== undefined &&
    !(Number.isFinite(problem.minRestMinutes) && problem.minRestMinutes >= 0)
  ) {
    errors.push('minRestMinutes must be a finite number >= 0');
  }
  return errors;
}

interface ResolvedAssignment {
  employee: ProblemEmployee;
  shift: ProblemShift;
}

/** Known, distinct assignments (the rest is reported by `checkSchedule`, ignored by `measureQuality`). */
function resolveAssignments(
  problem: SchedulingProblem,
  assignments: readonly Assignment[],
  errors?: string[],
): ResolvedAssignment[] {
  const employees = new Map(problem.employees.map((e) => [e.id, e]));
  const shifts = new Map(problem.shifts.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const resolved: ResolvedAssignment[] = [];
  for (const a of assignments) {
    const employee = employees.get(a.employeeId);
    const shift = shifts.get(a.shiftId);
    if (!employee) errors?.push(`unknown employee ${JSON.stringify(a.employeeId)}`);
    if (!shift) errors?.push(`unknown shift ${JSON.stringify(a.shiftId)}`);
    if (!employee || !shift) continue;
    const key = JSON.stringify([a.employeeId, a.shiftId]);
    if (seen.has(key)) {
      errors?.push(`employee ${JSON.stringify(employee.id)} is assigned to shift ${JSON.stringify(shift.id)} twice`);
      continue;
    }
    seen.add(key);
    resolved.push({ employee, shift });
  }
  return resolved;
}

function groupByEmployee(resolved: readonly ResolvedAssignment[]): Map<ProblemEmployee, ProblemShift[]> {
  const byEmployee = new Map<ProblemEmployee, ProblemShift[]>();
  for (const { employee, shift } of resolved) {
    const list = byEmployee.get(employee);
    if (list) list.push(shift);
    else byEmployee.set(employee, [shift]);
  }
  return byEmployee;
}

/**
 * Every hard-constraint violation of a schedule, as sentences for logs and test failures; `[]` means the
 * schedule is valid. Checks: unknown ids, duplicate assignments, skill, availability, overlapping shifts,
 * minimum rest, weekly limit, headcount.
 */
export function checkSchedule(problem: SchedulingProblem, assignments: readonly Assignment[]): string[] {
  const errors: string[] = [];
  const resolved = resolveAssignments(problem, assignments, errors);
  const restMs = minRestMs(problem);
  const perShift = new Map<ProblemShift, number>();
  for (const { employee, shift } of resolved) {
    const who = `employee ${JSON.stringify(employee.id)}`;
    const what = `shift ${JSON.stringify(shift.id)}`;
    if (!hasSkill(employee, shift))
      errors.push(`${who} lacks skill ${JSON.stringify(shift.requiredSkill)} for ${what}`);
    if (!isAvailable(employee, shift)) errors.push(`${who} is not available for the whole of ${what}`);
    perShift.set(shift, (perShift.get(shift) ?? 0) + 1);
  }
  for (const [shift, count] of perShift) {
    if (count > shift.headcount) {
      errors.push(`shift ${JSON.stringify(shift.id)} has ${count} people for a headcount of ${shift.headcount}`);
    }
  }
  for (const [employee, shifts] of groupByEmployee(resolved)) {
    const who = `employee ${JSON.stringify(employee.id)}`;
    shifts.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
    // Sorted by start, a shift conflicts with the ones after it that start before its end plus the rest,
    // and with no later one.
    for (let i = 0; i < shifts.length; i++) {
      const earlier = shifts[i]!;
      for (let j = i + 1; j < shifts.length && shifts[j]!.startMs < earlier.endMs + restMs; j++) {
        const later = shifts[j]!;
        const pair = `shifts ${JSON.stringify(earlier.id)} and ${JSON.stringify(later.id)}`;
        if (later.startMs < earlier.endMs) errors.push(`${who} works overlapping ${pair}`);
        else {
          const restMinutes = (later.startMs - earlier.endMs) / MS_PER_MINUTE;
          errors.push(`${who} rests ${restMinutes} min between ${pair} (minimum ${restMs / MS_PER_MINUTE})`);
        }
      }
    }
    const minutes = shifts.reduce((sum, s) => sum + shiftDurationMs(s), 0) / MS_PER_MINUTE;
    if (minutes > employee.weeklyLimitMinutes) {
      errors.push(`${who} works ${minutes} min, over the weekly limit of ${employee.weeklyLimitMinutes}`);
    }
  }
  return errors;
}

/**
 * The three objectives of a schedule, in their order of priority. Unknown and duplicate assignments are
 * ignored (they are `checkSchedule`'s business); over-full shifts count as full.
 */
export function measureQuality(problem: SchedulingProblem, assignments: readonly Assignment[]): ScheduleQuality {
  const resolved = resolveAssignments(problem, assignments);
  const perShift = new Map<ProblemShift, number>();
  const loadMs = new Map<ProblemEmployee, number>();
  let preferencesHonoured = 0;
  for (const { employee, shift } of resolved) {
    perShift.set(shift, (perShift.get(shift) ?? 0) + 1);
    loadMs.set(employee, (loadMs.get(employee) ?? 0) + shiftDurationMs(shift));
    if (employee.preferredShiftIds.includes(shift.id)) preferencesHonoured += 1;
  }
  let unfilledSlots = 0;
  for (const shift of problem.shifts) unfilledSlots += Math.max(0, shift.headcount - (perShift.get(shift) ?? 0));

  let minLoad = Infinity;
  let maxLoad = -Infinity;
  for (const employee of problem.employees) {
    // Only employees who can work at all take part in the balance (ScheduleQuality.hourSpreadMinutes).
    if (!loadMs.has(employee) && !problem.shifts.some((s) => isEligible(employee, s))) continue;
    const load = loadMs.get(employee) ?? 0;
    minLoad = Math.min(minLoad, load);
    maxLoad = Math.max(maxLoad, load);
  }
  const hourSpreadMinutes = maxLoad >= minLoad ? (maxLoad - minLoad) / MS_PER_MINUTE : 0;
  return { unfilledSlots, hourSpreadMinutes, preferencesHonoured };
}

// Properties of the scheduling solver (issue 8). Random small problems with odd shapes (overlapping
// shifts of 1 to 10 hours, partial availability, tight limits, rest from 0 to 12 hours, ids with quotes
// and spaces); the brute force and the validity predicate below are written here, independently of the
// solver's own code, so that they check it rather than repeat it.
import fc from 'fast-check';
import type { Highs } from 'highs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkSchedule,
  generateProblem,
  hashProblem,
  solveGreedy,
  solveSchedule,
  type Assignment,
  type ProblemEmployee,
  type ProblemShift,
  type SchedulingProblem,
} from '../../src/modules/scheduling/solver/index.js';
import { loadHighsRuntime, solveMilp } from '../../src/modules/scheduling/solver/milp.js';

const RUNS = { numRuns: 100 };
const HOUR = 3_600_000;
const WEEK_START = Date.UTC(2025, 0, 6);

let highs: Highs;
beforeAll(async () => {
  highs = await loadHighsRuntime();
});

/**
 * A random problem of at most the given size, times on whole hours in the first four days of a week.
 * Half are "dense" (everyone available, few skills, short shifts, short rest), where who works what is a
 * real choice and balance and preferences decide; the other half are anything goes.
 */
function problems(maxEmployees: number, maxShifts: number, maxHeadcount = 3): fc.Arbitrary<SchedulingProblem> {
  return fc.oneof(
    sparseProblems(maxEmployees, maxShifts, maxHeadcount),
    denseProblems(maxEmployees, maxShifts, maxHeadcount),
  );
}

interface RawProblem {
  shifts: { startHour: number; hours: number; skill: string | null; headcount: number }[];
  employees: {
    skills: string[];
    limitMinutes: number;
    windows: { startHour: number; hours: number }[] | 'always';
    preferred: number[];
  }[];
  minRestHours: number;
}

function sparseProblems(
  maxEmployees: number,
  maxShifts: number,
  maxHeadcount: number,
): fc.Arbitrary<SchedulingProblem> {
  const shift = fc.record({
    startHour: fc.integer({ min: 0, max: 72 }),
    hours: fc.integer({ min: 1, max: 10 }),
    skill: fc.option(fc.constantFrom('forklift', 'first-aid'), { nil: null, freq: 2 }),
    headcount: fc.oneof(
      { weight: 3, arbitrary: fc.constant(1) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: maxHeadcount }) },
    ),
  });
  const window = fc.record({ startHour: fc.integer({ min: 0, max: 60 }), hours: fc.integer({ min: 4, max: 48 }) });
  const employee = fc.record({
    skills: fc.subarray(['forklift', 'first-aid']),
    limitMinutes: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 4, max: 40 }).map((h) => h * 60) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2_400 }) },
    ),
    windows: fc.oneof(fc.constant('always' as const), fc.array(window, { maxLength: 3 })),
    preferred: fc.array(fc.nat(maxShifts - 1), { maxLength: 3 }),
  });
  return fc
    .record({
      shifts: fc.array(shift, { minLength: 1, maxLength: maxShifts }),
      employees: fc.array(employee, { minLength: 1, maxLength: maxEmployees }),
      minRestHours: fc.constantFrom(0, 1, 8, 11, 12),
    })
    .map(toProblem);
}

function denseProblems(maxEmployees: number, maxShifts: number, maxHeadcount: number): fc.Arbitrary<SchedulingProblem> {
  const shift = fc.record({
    startHour: fc.integer({ min: 0, max: 24 }),
    hours: fc.integer({ min: 1, max: 3 }),
    skill: fc.option(fc.constant('forklift'), { nil: null, freq: 5 }),
    headcount: fc.integer({ min: 1, max: Math.min(2, maxHeadcount) }),
  });
  const employee = fc.record({
    skills: fc.subarray(['forklift']),
    limitMinutes: fc.integer({ min: 2, max: 8 }).map((h) => h * 60),
    windows: fc.constant('always' as const),
    preferred: fc.array(fc.nat(maxShifts - 1), { maxLength: maxShifts }),
  });
  return fc
    .record({
      shifts: fc.array(shift, { minLength: 2, maxLength: maxShifts }),
      employees: fc.array(employee, { minLength: 2, maxLength: maxEmployees }),
      minRestHours: fc.constantFrom(0, 1),
    })
    .map(toProblem);
}

function toProblem({ shifts, employees, minRestHours }: RawProblem): SchedulingProblem {
  const shiftId = (i: number) => `shift "${i}" of the week`;
  return {
    shifts: shifts.map((s, i) => ({
      id: shiftId(i),
      startMs: WEEK_START + s.startHour * HOUR,
      endMs: WEEK_START + (s.startHour + s.hours) * HOUR,
      requiredSkill: s.skill,
      headcount: s.headcount,
    })),
    employees: employees.map((e, i) => ({
      id: `employee ${i} 'x'`,
      skills: e.skills,
      weeklyLimitMinutes: e.limitMinutes,
      availability:
        e.windows === 'always'
          ? [{ startMs: WEEK_START, endMs: WEEK_START + 7 * 24 * HOUR }]
          : e.windows.map((w) => ({
              startMs: WEEK_START + w.startHour * HOUR,
              endMs: WEEK_START + (w.startHour + w.hours) * HOUR,
            })),
      preferredShiftIds: e.preferred.filter((p) => p < shifts.length).map(shiftId),
    })),
    minRestMinutes: minRestHours * 60,
  };
}

// ---------------------------------------------------------------- the rules, written independently

function canWork(employee: ProblemEmployee, shift: ProblemShift): boolean {
  return (
    shift.headcount > 0 &&
    (shift.requiredSkill === null || employee.skills.includes(shift.requiredSkill)) &&
    employee.availability.some((w) => w.startMs <= shift.startMs && shift.endMs <= w.endMs) &&
    shift.endMs - shift.startMs <= employee.weeklyLimitMinutes * 60_000
  );
}

/** Whether one employee may work both shifts: no overlap and at least the minimum rest in between. */
function compatible(a: ProblemShift, b: ProblemShift, restMs: number): boolean {
  const [first, second] = a.startMs <= b.startMs ? [a, b] : [b, a];
  return second.startMs - first.endMs >= restMs;
}

/** The hard constraints, checked pair by pair from scratch. */
function isValid(problem: SchedulingProblem, assignments: readonly Assignment[]): boolean {
  const restMs = problem.minRestMinutes * 60_000;
  const seen = new Set<string>();
  const byEmployee = new Map<ProblemEmployee, ProblemShift[]>();
  const perShift = new Map<ProblemShift, number>();
  for (const a of assignments) {
    const employee = problem.employees.find((e) => e.id === a.employeeId);
    const shift = problem.shifts.find((s) => s.id === a.shiftId);
    if (!employee || !shift) return false;
    const key = `${a.employeeId}\u0000${a.shiftId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    if (shift.requiredSkill !== null && !employee.skills.includes(shift.requiredSkill)) return false;
    if (!employee.availability.some((w) => w.startMs <= shift.startMs && shift.endMs <= w.endMs)) return false;
    byEmployee.set(employee, [...(byEmployee.get(employee) ?? []), shift]);
    perShift.set(shift, (perShift.get(shift) ?? 0) + 1);
  }
  for (const [shift, count] of perShift) if (count > shift.headcount) return false;
  for (const [employee, shifts] of byEmployee) {
    const minutes = shifts.reduce((sum, s) => sum + (s.endMs - s.startMs) / 60_000, 0);
    if (minutes > employee.weeklyLimitMinutes) return false;
    for (let i = 0; i < shifts.length; i++) {
      for (let j = i + 1; j < shifts.length; j++) if (!compatible(shifts[i]!, shifts[j]!, restMs)) return false;
    }
  }
  return true;
}

type Objective = { filled: number; balance: number; preferences: number };

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * What the balance term of the model's objective (milp.ts) counts: the employees who can work at all and
 * the load unit, the gcd of the durations of the shifts they can work.
 */
function balanceBasis(problem: SchedulingProblem): { active: boolean[]; unitMs: number } {
  const workable = problem.employees.map((e) => problem.shifts.filter((s) => canWork(e, s)));
  const unitMs = workable.flat().reduce((g, s) => gcd(g, s.endMs - s.startMs), 0) || 1;
  const active = workable.map((list) => list.length > 0);
  return { active: active.filter(Boolean).length >= 2 ? active : active.map(() => false), unitMs };
}

/** Σ L(L+1)/2 over the employees who count (loads in units). */
function balanceOf(loadsMs: readonly number[], basis: { active: boolean[]; unitMs: number }): number {
  return loadsMs.reduce(
    (sum, ms, e) => (basis.active[e] ? sum + ((ms / basis.unitMs) * (ms / basis.unitMs + 1)) / 2 : sum),
    0,
  );
}

/**
 * The model's lexicographic objective (milp.ts): slots filled (more is better), then the balance term
 * (less is better; none when fewer than two employees can work), then preferences honoured.
 */
function objective(problem: SchedulingProblem, assignments: readonly Assignment[]): Objective {
  const loadsMs = problem.employees.map((e) =>
    assignments
      .filter((a) => a.employeeId === e.id)
      .reduce((sum, a) => {
        const shift = problem.shifts.find((s) => s.id === a.shiftId)!;
        return sum + shift.endMs - shift.startMs;
      }, 0),
  );
  const preferences = assignments.filter((a) =>
    problem.employees.find((e) => e.id === a.employeeId)!.preferredShiftIds.includes(a.shiftId),
  ).length;
  return { filled: assignments.length, balance: balanceOf(loadsMs, balanceBasis(problem)), preferences };
}

function better(a: Objective, b: Objective): boolean {
  if (a.filled !== b.filled) return a.filled > b.filled;
  if (a.balance !== b.balance) return a.balance < b.balance;
  return a.preferences > b.preferences;
}

/** The best objective over every valid schedule, by backtracking shift by shift over subsets of people. */
function bruteForceOptimum(problem: SchedulingProblem): Objective {
  const restMs = problem.minRestMinutes * 60_000;
  const basis = balanceBasis(problem);
  const { employees, shifts } = problem;
  const options = shifts.map((shift) => {
    const people = employees.map((_, e) => e).filter((e) => canWork(employees[e]!, shift));
    const subsets: number[][] = [[]];
    for (const person of people) {
      for (const subset of [...subsets]) if (subset.length < shift.headcount) subsets.push([...subset, person]);
    }
    return subsets;
  });
  const taken: ProblemShift[][] = employees.map(() => []);
  const loadsMs = employees.map(() => 0);
  let filled = 0;
  let preferences = 0;
  let best: Objective | null = null;
  const visit = (s: number) => {
    if (s === shifts.length) {
      const value = { filled, balance: balanceOf(loadsMs, basis), preferences };
      if (!best || better(value, best)) best = value;
      return;
    }
    const shift = shifts[s]!;
    const duration = shift.endMs - shift.startMs;
    for (const subset of options[s]!) {
      const fits = subset.every(
        (e) =>
          loadsMs[e]! + duration <= employees[e]!.weeklyLimitMinutes * 60_000 &&
          taken[e]!.every((other) => compatible(other, shift, restMs)),
      );
      if (!fits) continue;
      for (const e of subset) {
        taken[e]!.push(shift);
        loadsMs[e]! += duration;
        filled += 1;
        if (employees[e]!.preferredShiftIds.includes(shift.id)) preferences += 1;
      }
      visit(s + 1);
      for (const e of subset) {
        taken[e]!.pop();
        loadsMs[e]! -= duration;
        filled -= 1;
        if (employees[e]!.preferredShiftIds.includes(shift.id)) preferences -= 1;
      }
    }
  };
  visit(0);
  return best!;
}

function solveInProcess(problem: SchedulingProblem): Assignment[] {
  const outcome = solveMilp(highs, problem, {
    deadlineEpochMs: Date.now() + 20_000,
    mipRelGap: 0,
    memoryCapBytes: 2 ** 30,
    warmStart: solveGreedy(problem).assignments,
  });
  if (outcome.kind !== 'solved') throw new Error(`HiGHS failed: ${outcome.reason} (${outcome.detail})`);
  expect(outcome.optimal).toBe(true);
  return outcome.assignments;
}

/** Assignments that may break anything: random pairs, sometimes repeated, sometimes unknown ids. */
function assignmentsFor(problem: SchedulingProblem): fc.Arbitrary<Assignment[]> {
  const pair = fc.record({
    shiftId: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom(...problem.shifts.map((s) => s.id)) },
      { weight: 1, arbitrary: fc.constant('no such shift') },
    ),
    employeeId: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom(...problem.employees.map((e) => e.id)) },
      { weight: 1, arbitrary: fc.constant('no such employee') },
    ),
  });
  return fc.array(pair, { maxLength: 8 });
}

describe('scheduling solver (issue 8)', () => {
  it('issue 8: checkSchedule reports a violation exactly when a hard constraint is broken', () => {
    fc.assert(
      fc.property(
        problems(4, 6).chain((problem) => fc.tuple(fc.constant(problem), assignmentsFor(problem))),
        ([problem, assignments]) => {
          expect(checkSchedule(problem, assignments).length === 0).toBe(isValid(problem, assignments));
        },
      ),
      RUNS,
    );
  });

  it('issue 8: every returned schedule satisfies every hard constraint (heuristic and HiGHS, in-process)', () => {
    fc.assert(
      fc.property(problems(6, 10), (problem) => {
        const greedy = solveGreedy(problem).assignments;
        expect(checkSchedule(problem, greedy)).toEqual([]);
        expect(isValid(problem, greedy)).toBe(true);
        const milp = solveInProcess(problem);
        expect(checkSchedule(problem, milp)).toEqual([]);
        expect(isValid(problem, milp)).toBe(true);
      }),
      RUNS,
    );
  });

  it('issue 8: every schedule solveSchedule returns satisfies every hard constraint (through the worker)', async () => {
    await fc.assert(
      fc.asyncProperty(problems(6, 10), async (problem) => {
        const result = await solveSchedule(problem, { timeBudgetMs: 10_000 });
        expect(checkSchedule(problem, result.assignments)).toEqual([]);
        expect(isValid(problem, result.assignments)).toBe(true);
      }),
      { numRuns: 12 },
    );
  });

  it("issue 8: on small instances the solver's objective equals the brute-force optimum", () => {
    fc.assert(
      fc.property(problems(4, 5, 2), (problem) => {
        expect(objective(problem, solveInProcess(problem))).toEqual(bruteForceOptimum(problem));
      }),
      RUNS,
    );
  });

  it('issue 8: the heuristic never breaks a hard constraint, even when the problem is over-constrained', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 10, max: 80 }),
        (seed, employees, shifts) => {
          // Far more work than people: most slots stay empty, and that is allowed.
          const problem = generateProblem(seed, { employees, shifts, maxHeadcount: 4, skills: 2 });
          const { assignments, complete } = solveGreedy(problem);
          expect(complete).toBe(true);
          expect(checkSchedule(problem, assignments)).toEqual([]);
          expect(isValid(problem, assignments)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('issue 8: the same problem in any order hashes the same; a changed shift changes the hash', () => {
    fc.assert(
      fc.property(
        problems(5, 8).chain((problem) =>
          fc.tuple(
            fc.constant(problem),
            fc.shuffledSubarray(problem.employees, { minLength: problem.employees.length }),
            fc.shuffledSubarray(problem.shifts, { minLength: problem.shifts.length }),
            fc.nat(problem.shifts.length - 1),
            fc.constantFrom('startMs', 'endMs', 'headcount', 'requiredSkill', 'id'),
          ),
        ),
        ([problem, employees, shifts, changed, field]) => {
          const shuffle = <T>(list: readonly T[]) => [...list].reverse();
          const permuted: SchedulingProblem = {
            minRestMinutes: problem.minRestMinutes,
            shifts,
            employees: employees.map((e) => ({
              preferredShiftIds: shuffle(e.preferredShiftIds),
              availability: shuffle(e.availability),
              weeklyLimitMinutes: e.weeklyLimitMinutes,
              skills: shuffle(e.skills),
              id: e.id,
            })),
          };
          expect(hashProblem(permuted)).toBe(hashProblem(problem));

          const shift = problem.shifts[changed]!;
          const modified: ProblemShift = {
            ...shift,
            ...(field === 'startMs' && { startMs: shift.startMs - HOUR }),
            ...(field === 'endMs' && { endMs: shift.endMs + HOUR }),
            ...(field === 'headcount' && { headcount: shift.headcount + 1 }),
            ...(field === 'requiredSkill' && { requiredSkill: shift.requiredSkill === null ? 'welding' : null }),
            ...(field === 'id' && { id: `${shift.id} (moved)` }),
          };
          const changedProblem = { ...problem, shifts: problem.shifts.map((s, i) => (i === changed ? modified : s)) };
          expect(hashProblem(changedProblem)).not.toBe(hashProblem(problem));
        },
      ),
      RUNS,
    );
  });
});

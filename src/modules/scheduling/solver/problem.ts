/**
 * The scheduling problem and its result: the contract between the scheduling service (which
 * builds a problem from the database and stores the result), the solver worker, the greedy
 * heuristic and the checks. Plain data only (it crosses a worker boundary and is cached in
 * Redis as JSON). Times are epoch milliseconds (UTC).
 */

/** A half-open interval [startMs, endMs). */
export interface TimeWindow {
  startMs: number;
  endMs: number;
}

export interface ProblemEmployee {
  id: string;
  /** Skill codes the employee holds. */
  skills: string[];
  /** Most minutes of shifts in the schedule's week (hard constraint). */
  weeklyLimitMinutes: number;
  /** The employee can only work a shift that lies entirely inside one of these windows. */
  availability: TimeWindow[];
  /** Shift ids the employee prefers (third objective, after coverage and balance). */
  preferredShiftIds: string[];
}

export interface ProblemShift {
  id: string;
  startMs: number;
  endMs: number;
  /** Skill code required by every person on the shift; null when any employee can work it. */
  requiredSkill: string | null;
  /** People needed; never exceeded (hard), filled as far as possible (first objective). */
  headcount: number;
}

export interface SchedulingProblem {
  employees: ProblemEmployee[];
  shifts: ProblemShift[];
  /** Least rest between the end of one shift and the start of the next for one employee. @default 660 (11 h) */
  minRestMinutes: number;
}

export interface Assignment {
  shiftId: string;
  employeeId: string;
}

/**
 * How the schedule was produced:
 * - `optimal`: HiGHS proved optimality (within its MIP gap tolerance);
 * - `feasible`: HiGHS stopped at the time budget with an incumbent (gap reported);
 * - `heuristic`: the greedy fallback (the solver timed out without an incumbent, crashed, ran out of memory or failed).
 */
export type SolveMethod = 'optimal' | 'feasible' | 'heuristic';

export interface ScheduleQuality {
  /** Sum over shifts of (headcount - assigned): 0 means every shift is filled. */
  unfilledSlots: number;
  /** Assigned minutes of the most loaded employee minus the least loaded one (over employees who can work at all). */
  hourSpreadMinutes: number;
  /** Assignments that match an employee's preferred shift. */
  preferencesHonoured: number;
}

export interface SchedulingResult {
  method: SolveMethod;
  assignments: Assignment[];
  quality: ScheduleQuality;
  /** Relative MIP gap to the best bound when HiGHS reported one; null for the heuristic or when unknown. */
  gap: number | null;
  /** Why the heuristic was used (e.g. 'timeout', 'out_of_memory', 'worker_crashed', 'solver_error'); null otherwise. */
  fallbackReason: string | null;
  /** Wall time of the whole solve, fallback included. */
  durationMs: number;
}

export interface SolveOptions {
  /** Wall-clock budget for the whole solve, fallback included. @default 10_000 (max 30_000) */
  timeBudgetMs: number;
  /** Worker heap limit (resourceLimits.maxOldGenerationSizeMb). @default 2048 */
  memoryLimitMb: number;
}

// The scheduling solver's public surface (issue 8): the rest of the module imports from here only.
export { hashProblem, canonicalProblemJson } from './canonical.js';
export { checkSchedule, measureQuality, validateProblem, DEFAULT_MIN_REST_MINUTES } from './constraints.js';
export { solveGreedy, type GreedyOptions, type GreedyResult } from './heuristic.js';
export { generateProblem, type GenerateProblemOptions } from './instances.js';
export {
  solveSchedule,
  resolveSolveOptions,
  DEFAULT_MEMORY_LIMIT_MB,
  DEFAULT_TIME_BUDGET_MS,
  MAX_TIME_BUDGET_MS,
  type FallbackReason,
  type SolveExtras,
} from './solve.js';
export type {
  Assignment,
  ProblemEmployee,
  ProblemShift,
  ScheduleQuality,
  SchedulingProblem,
  SchedulingResult,
  SolveMethod,
  SolveOptions,
  TimeWindow,
} from './problem.js';

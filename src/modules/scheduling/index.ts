export { createSchedulingLoaders, type SchedulingLoaders } from './scheduling.loaders.js';
export { loadSchedulingProblem, preferredShiftIds, weekAvailability } from './scheduling.problem.js';
export {
  EmployeeResolver,
  ScheduleJobResolver,
  ScheduleResolver,
  ShiftAssignmentResolver,
  ShiftResolver,
} from './scheduling.resolver.js';
export {
  createSchedulingRuntime,
  type SchedulingMetrics,
  type SchedulingRuntime,
  type SchedulingRuntimeOptions,
  type SchedulingSettings,
} from './scheduling.runtime.js';

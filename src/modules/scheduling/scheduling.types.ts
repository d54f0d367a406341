import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ScheduleJobStatus, ScheduleStatus, SolveMethod } from '../../generated/prisma/enums.js';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';

registerEnumType(ScheduleStatus, {
  name: 'ScheduleStatus',
  description: 'A week of a warehouse: DRAFT until a solve is published, then PUBLISHED.',
});
registerEnumType(ScheduleJobStatus, {
  name: 'ScheduleJobStatus',
  description: 'Where a solve job is: QUEUED, RUNNING, COMPLETED (with a result) or FAILED.',
});
registerEnumType(SolveMethod, {
  name: 'SolveMethod',
  description:
    'How a schedule was produced: OPTIMAL (proved by the MILP solver), FEASIBLE (the best one found within the time budget; see gap) or HEURISTIC (the greedy fallback; see fallbackReason).',
});

export enum EmployeeOrderField {
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  WEEKLY_LIMIT = 'WEEKLY_LIMIT',
}
registerEnumType(EmployeeOrderField, { name: 'EmployeeOrderField', description: 'Fields employees can be sorted by.' });

/** REQ 2.2: the one table from sort enum to column for employees. */
export const EMPLOYEE_ORDER_COLUMNS: Readonly<Record<EmployeeOrderField, string>> = {
  NAME: 'name',
  CREATED_AT: 'createdAt',
  WEEKLY_LIMIT: 'weeklyLimitMinutes',
};

export enum ShiftOrderField {
  STARTS_AT = 'STARTS_AT',
  ENDS_AT = 'ENDS_AT',
  HEADCOUNT = 'HEADCOUNT',
  CREATED_AT = 'CREATED_AT',
}
registerEnumType(ShiftOrderField, { name: 'ShiftOrderField', description: 'Fields shifts can be sorted by.' });

export const SHIFT_ORDER_COLUMNS: Readonly<Record<ShiftOrderField, string>> = {
  STARTS_AT: 'startsAt',
  ENDS_AT: 'endsAt',
  HEADCOUNT: 'headcount',
  CREATED_AT: 'createdAt',
};

@ObjectType({ description: 'A weekly recurring window in which an employee can work (UTC).' })
export class AvailabilityWindow {
  @Field(() => Int, { description: 'ISO weekday: 1 is Monday, 7 is Sunday.' })
  weekday!: number;

  @Field(() => Int, { description: 'Start, in minutes after midnight UTC (0-1439).' })
  startMinute!: number;

  @Field(() => Int, { description: 'End, in minutes after midnight UTC (1-1440), after the start.' })
  endMinute!: number;
}

@ObjectType({
  description:
    'A weekly recurring window in which an employee prefers to work (UTC): a shift lying entirely inside one is preferred.',
})
export class PreferenceWindow extends AvailabilityWindow {}

@ObjectType({ description: 'Someone who works shifts at their home warehouse.' })
export class Employee {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { description: 'Display name.' })
  name!: string;

  @Field(() => UUIDScalar, { nullable: true, description: "The employee's user account, when linked." })
  userId!: string | null;

  homeWarehouseId!: string;

  @Field(() => [String], { description: 'Skill codes the employee holds, e.g. FORKLIFT.' })
  skills!: string[];

  @Field(() => Int, { description: 'Most minutes of shifts per week (2400 is 40 hours).' })
  weeklyLimitMinutes!: number;

  @Field(() => Boolean, { description: 'Inactive employees are never scheduled.' })
  isActive!: boolean;

  @Field(() => DateTimeScalar, { description: 'When the employee was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the employee last changed.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'Work to be staffed at a warehouse: headcount people, each with the required skill.' })
export class Shift {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  warehouseId!: string;

  @Field(() => DateTimeScalar, { description: 'When the shift starts.' })
  startsAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the shift ends (after it starts, at most 24 hours later).' })
  endsAt!: Date;

  @Field(() => String, { nullable: true, description: 'Skill code every person on the shift needs; null: anyone.' })
  requiredSkill!: string | null;

  @Field(() => Int, { description: 'People needed.' })
  headcount!: number;

  @Field(() => DateTimeScalar, { description: 'When the shift was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the shift last changed.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'An employee assigned to a shift, proposed by a solve or published in a schedule.' })
export class ShiftAssignment {
  @Field(() => UUIDScalar, { description: 'Id of the shift.' })
  shiftId!: string;

  @Field(() => UUIDScalar, { description: 'Id of the employee.' })
  employeeId!: string;
}

@ObjectType({ description: 'How good a schedule is, by its three objectives in order of priority.' })
export class ScheduleQuality {
  @Field(() => Int, { description: 'Places left empty, summed over the shifts (0: every shift is fully staffed).' })
  unfilledSlots!: number;

  @Field(() => Int, {
    description: 'Assigned minutes of the busiest employee minus the least busy one (fairness; lower is better).',
  })
  hourSpreadMinutes!: number;

  @Field(() => Int, { description: "Assignments that match an employee's preferred shifts." })
  preferencesHonoured!: number;
}

@ObjectType({ description: 'The schedule a solve produced.' })
export class ScheduleResult {
  @Field(() => SolveMethod, { description: 'How it was produced.' })
  method!: SolveMethod;

  @Field(() => Float, {
    nullable: true,
    description: 'Relative gap to the best bound when the MILP solver reported one (0 when optimal); null otherwise.',
  })
  gap!: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Why the greedy heuristic was used (timeout, out_of_memory, worker_crashed, solver_error…); null otherwise.',
  })
  fallbackReason!: string | null;

  @Field(() => ScheduleQuality, { description: 'Its quality.' })
  quality!: ScheduleQuality;

  @Field(() => [ShiftAssignment], { description: 'Who works which shift.' })
  assignments!: ShiftAssignment[];

  @Field(() => Int, { description: 'Wall time of the solve in milliseconds (of the original solve when cached).' })
  durationMs!: number;
}

@ObjectType({ description: 'One solve of a warehouse week, run in the background; poll it until COMPLETED or FAILED.' })
export class ScheduleJob {
  @Field(() => UUIDScalar, { description: 'Unique id; publishSchedule takes it.' })
  id!: string;

  @Field(() => ScheduleJobStatus, { description: 'Where the job is.' })
  status!: ScheduleJobStatus;

  @Field(() => Int, {
    description: 'Rough progress, 0-100: 0 queued, then the share of the time budget spent, 100 when finished.',
  })
  progress!: number;

  scheduleId!: string;
  warehouseId!: string;

  @Field(() => DateTimeScalar, { description: 'Monday 00:00 UTC of the week being scheduled.' })
  weekStart!: Date;

  @Field(() => Int, { description: 'Time budget of the solve in milliseconds.' })
  timeBudgetMs!: number;

  @Field(() => Boolean, { description: 'Whether the result was reused from an identical earlier solve.' })
  cached!: boolean;

  @Field(() => ScheduleResult, { nullable: true, description: 'The schedule, once COMPLETED.' })
  result!: ScheduleResult | null;

  @Field(() => String, { nullable: true, description: 'Why the job FAILED; null otherwise.' })
  error!: string | null;

  @Field(() => UUIDScalar, { nullable: true, description: 'The user who asked for the solve, when known.' })
  requestedById!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the job was requested.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the last attempt started running.' })
  startedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the job completed or failed.' })
  finishedAt!: Date | null;
}

@ObjectType({ description: 'The schedule of one warehouse for one week.' })
export class Schedule {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  warehouseId!: string;

  @Field(() => DateTimeScalar, { description: 'Monday 00:00 UTC of the week.' })
  weekStart!: Date;

  @Field(() => ScheduleStatus, { description: 'DRAFT until published.' })
  status!: ScheduleStatus;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was last published.' })
  publishedAt!: Date | null;

  @Field(() => UUIDScalar, { nullable: true, description: 'Who last published it, when known.' })
  publishedById!: string | null;

  @Field(() => UUIDScalar, { nullable: true, description: 'The solve job whose assignments were published.' })
  publishedJobId!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the schedule was created (its first solve request).' })
  createdAt!: Date;
}

export const EmployeePage = PageType(Employee, 'EmployeePage');
export const ShiftPage = PageType(Shift, 'ShiftPage');

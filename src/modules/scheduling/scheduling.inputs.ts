import {
  ArrayMaxSize,
  IsBoolean,
  IsOptional,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ArgsType, Field, InputType, Int } from 'type-graphql';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters, NotBlank } from '../../graphql/validation.js';
import { EmployeeOrderField, ShiftOrderField } from './scheduling.types.js';

/** Skill codes: upper-case letters, digits, dashes and underscores, e.g. FORKLIFT or FIRST-AID. */
export const SKILL_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;
const SKILL_MESSAGE = 'skills are 1-64 upper-case letters, digits, dashes or underscores';
/** Minutes in a week: the largest weekly limit. */
export const MINUTES_PER_WEEK = 7 * 24 * 60;
export const MAX_SKILLS = 50;
export const MAX_AVAILABILITY_WINDOWS = 50;
export const MAX_PREFERENCE_WINDOWS = 50;
export const MAX_HEADCOUNT = 500;
/** Spec'd ceiling of a solve's time budget (issue 8). */
export const MAX_TIME_BUDGET_MS = 30_000;
export const MIN_TIME_BUDGET_MS = 500;

export const EmployeeOrderBy = OrderByInput<EmployeeOrderField>(EmployeeOrderField, 'EmployeeOrderBy');
export const ShiftOrderBy = OrderByInput<ShiftOrderField>(ShiftOrderField, 'ShiftOrderBy');

@InputType({ description: 'A weekly recurring window in which an employee can work (UTC).' })
export class AvailabilityWindowInput {
  @Field(() => Int, { description: 'ISO weekday: 1 is Monday, 7 is Sunday.' })
  @Min(1)
  @Max(7)
  weekday!: number;

  @Field(() => Int, { description: 'Start, in minutes after midnight UTC (0-1439).' })
  @Min(0)
  @Max(1439)
  startMinute!: number;

  @Field(() => Int, { description: 'End, in minutes after midnight UTC (1-1440); after startMinute.' })
  @Min(1)
  @Max(1440)
  endMinute!: number;
}

@InputType({
  description:
    'A weekly recurring window in which an employee prefers to work (UTC): a shift lying entirely inside one is preferred.',
})
export class PreferenceWindowInput extends AvailabilityWindowInput {}

@InputType({ description: 'A new employee.' })
export class CreateEmployeeInput {
  @Field(() => String, { description: 'Display name, 1-200 characters.' })
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name!: string;

  @Field(() => UUIDScalar, { description: 'The warehouse whose shifts the employee works.' })
  homeWarehouseId!: string;

  @Field(() => UUIDScalar, { nullable: true, description: "The employee's user account, if any (one employee each)." })
  userId?: string;

  @Field(() => [String], { defaultValue: [], description: `Skill codes, at most ${MAX_SKILLS}, e.g. FORKLIFT.` })
  @ArrayMaxSize(MAX_SKILLS)
  @Matches(SKILL_PATTERN, { each: true, message: SKILL_MESSAGE })
  skills!: string[];

  @Field(() => Int, { description: `Most minutes of shifts per week, 0-${MINUTES_PER_WEEK} (2400 is 40 hours).` })
  @Min(0)
  @Max(MINUTES_PER_WEEK)
  weeklyLimitMinutes!: number;

  @Field(() => [AvailabilityWindowInput], {
    nullable: true,
    description: `When the employee can work, at most ${MAX_AVAILABILITY_WINDOWS} windows; omitted: at any time. Empty: never.`,
  })
  @IsOptional()
  @ArrayMaxSize(MAX_AVAILABILITY_WINDOWS)
  @ValidateNested({ each: true })
  availability?: AvailabilityWindowInput[];

  @Field(() => [PreferenceWindowInput], {
    nullable: true,
    description: `When the employee prefers to work, at most ${MAX_PREFERENCE_WINDOWS} windows; omitted or empty: no preference. The solver honours preferences after filling shifts and balancing hours.`,
  })
  @IsOptional()
  @ArrayMaxSize(MAX_PREFERENCE_WINDOWS)
  @ValidateNested({ each: true })
  preferences?: PreferenceWindowInput[];
}

@ArgsType()
export class CreateEmployeeArgs {
  @Field(() => CreateEmployeeInput, { description: 'The employee to create.' })
  @ValidateNested()
  input!: CreateEmployeeInput;
}

@InputType({ description: 'Changes to an employee; omitted fields stay as they are.' })
export class UpdateEmployeeInput {
  @Field(() => String, { nullable: true, description: 'New display name, 1-200 characters.' })
  @IsOptional()
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name?: string | null;

  @Field(() => UUIDScalar, { nullable: true, description: 'New home warehouse.' })
  homeWarehouseId?: string | null;

  @Field(() => UUIDScalar, { nullable: true, description: 'New user account; null unlinks it.' })
  userId?: string | null;

  @Field(() => [String], { nullable: true, description: 'The complete new list of skill codes.' })
  @IsOptional()
  @ArrayMaxSize(MAX_SKILLS)
  @Matches(SKILL_PATTERN, { each: true, message: SKILL_MESSAGE })
  skills?: string[] | null;

  @Field(() => Int, { nullable: true, description: `New weekly limit in minutes, 0-${MINUTES_PER_WEEK}.` })
  @IsOptional()
  @Min(0)
  @Max(MINUTES_PER_WEEK)
  weeklyLimitMinutes?: number | null;

  @Field(() => [AvailabilityWindowInput], {
    nullable: true,
    description: 'The complete new list of availability windows (replaces the old ones; empty: never available).',
  })
  @IsOptional()
  @ArrayMaxSize(MAX_AVAILABILITY_WINDOWS)
  @ValidateNested({ each: true })
  availability?: AvailabilityWindowInput[] | null;

  @Field(() => [PreferenceWindowInput], {
    nullable: true,
    description: 'The complete new list of preference windows (replaces the old ones; empty: no preference).',
  })
  @IsOptional()
  @ArrayMaxSize(MAX_PREFERENCE_WINDOWS)
  @ValidateNested({ each: true })
  preferences?: PreferenceWindowInput[] | null;

  @Field(() => Boolean, { nullable: true, description: 'false: never scheduled again until reactivated.' })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean | null;
}

@ArgsType()
export class UpdateEmployeeArgs {
  @Field(() => UUIDScalar, { description: 'Id of the employee to change.' })
  id!: string;

  @Field(() => UpdateEmployeeInput, { description: 'The changes.' })
  @ValidateNested()
  input!: UpdateEmployeeInput;
}

@ArgsType()
export class EmployeeIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the employee.' })
  id!: string;
}

@InputType({ description: 'Filters for the employees list; all given filters must match.' })
export class EmployeeFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only employees of this home warehouse.' })
  warehouseId?: string;

  @Field(() => String, { nullable: true, description: 'Only employees holding this skill code.' })
  @IsOptional()
  @Matches(SKILL_PATTERN, { message: SKILL_MESSAGE })
  skill?: string;

  @Field(() => Boolean, { nullable: true, description: 'Only active (true) or inactive (false) employees.' })
  isActive?: boolean;

  @Field(() => String, { nullable: true, description: 'Case-insensitive text found in the name.' })
  @IsOptional()
  @MaxLength(100)
  @NoControlCharacters()
  search?: string;
}

@ArgsType()
export class ListEmployeesArgs extends ListArgs(EmployeeFilter, EmployeeOrderBy, {
  filter: 'Which employees to list.',
  orderBy: 'Sort keys, most significant first. Default: by name.',
}) {}

@InputType({ description: 'A new shift.' })
export class CreateShiftInput {
  @Field(() => UUIDScalar, { description: 'The warehouse where the shift is worked.' })
  warehouseId!: string;

  @Field(() => DateTimeScalar, { description: 'Start, on a whole minute.' })
  startsAt!: Date;

  @Field(() => DateTimeScalar, { description: 'End, on a whole minute, after the start and at most 24 hours later.' })
  endsAt!: Date;

  @Field(() => String, { nullable: true, description: 'Skill code every person needs; omitted: anyone.' })
  @IsOptional()
  @Matches(SKILL_PATTERN, { message: SKILL_MESSAGE })
  requiredSkill?: string;

  @Field(() => Int, { description: `People needed, 1-${MAX_HEADCOUNT}.` })
  @Min(1)
  @Max(MAX_HEADCOUNT)
  headcount!: number;
}

@ArgsType()
export class CreateShiftArgs {
  @Field(() => CreateShiftInput, { description: 'The shift to create.' })
  @ValidateNested()
  input!: CreateShiftInput;
}

@InputType({ description: 'Changes to a shift; omitted fields stay as they are.' })
export class UpdateShiftInput {
  @Field(() => DateTimeScalar, { nullable: true, description: 'New start, on a whole minute.' })
  startsAt?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'New end, on a whole minute.' })
  endsAt?: Date | null;

  @Field(() => String, { nullable: true, description: 'New required skill code; null: anyone.' })
  @IsOptional()
  @Matches(SKILL_PATTERN, { message: SKILL_MESSAGE })
  requiredSkill?: string | null;

  @Field(() => Int, { nullable: true, description: `New headcount, 1-${MAX_HEADCOUNT}.` })
  @IsOptional()
  @Min(1)
  @Max(MAX_HEADCOUNT)
  headcount?: number | null;
}

@ArgsType()
export class UpdateShiftArgs {
  @Field(() => UUIDScalar, { description: 'Id of the shift to change.' })
  id!: string;

  @Field(() => UpdateShiftInput, { description: 'The changes.' })
  @ValidateNested()
  input!: UpdateShiftInput;
}

@ArgsType()
export class ShiftIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the shift.' })
  id!: string;
}

@InputType({ description: 'Filters for the shifts list; all given filters must match.' })
export class ShiftFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only shifts of this warehouse.' })
  warehouseId?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Only shifts starting at or after this instant.' })
  from?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Only shifts starting before this instant.' })
  to?: Date;

  @Field(() => String, { nullable: true, description: 'Only shifts requiring this skill code.' })
  @IsOptional()
  @Matches(SKILL_PATTERN, { message: SKILL_MESSAGE })
  requiredSkill?: string;
}

@ArgsType()
export class ListShiftsArgs extends ListArgs(ShiftFilter, ShiftOrderBy, {
  filter: 'Which shifts to list.',
  orderBy: 'Sort keys, most significant first. Default: earliest start first.',
}) {}

@InputType({ description: 'What to schedule: one warehouse, one week.' })
export class GenerateScheduleInput {
  @Field(() => UUIDScalar, { description: 'The warehouse; its active employees staff its shifts.' })
  warehouseId!: string;

  @Field(() => DateTimeScalar, {
    description: 'Monday 00:00 UTC of the week; the shifts starting in that week are scheduled.',
  })
  weekStart!: Date;

  @Field(() => Int, {
    nullable: true,
    description: `Time budget of the solve, ${MIN_TIME_BUDGET_MS}-${MAX_TIME_BUDGET_MS} ms; omitted: the configured default (SCHEDULING_SOLVE_BUDGET_MS).`,
  })
  @IsOptional()
  @Min(MIN_TIME_BUDGET_MS)
  @Max(MAX_TIME_BUDGET_MS)
  timeBudgetMs?: number;
}

@ArgsType()
export class GenerateScheduleArgs {
  @Field(() => GenerateScheduleInput, { description: 'The week to schedule.' })
  @ValidateNested()
  input!: GenerateScheduleInput;
}

@ArgsType()
export class ScheduleJobIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the solve job.' })
  id!: string;
}

@ArgsType()
export class PublishScheduleArgs {
  @Field(() => UUIDScalar, { description: 'The COMPLETED solve job whose assignments become the schedule.' })
  jobId!: string;
}

@ArgsType()
export class ScheduleArgs {
  @Field(() => UUIDScalar, { description: 'The warehouse.' })
  warehouseId!: string;

  @Field(() => DateTimeScalar, { description: 'Monday 00:00 UTC of the week.' })
  weekStart!: Date;
}

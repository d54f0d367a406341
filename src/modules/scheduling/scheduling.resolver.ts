import { Args, Ctx, Directive, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { NotFoundError } from '../../errors/index.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { Warehouse } from '../inventory/index.js';
import {
  CreateEmployeeArgs,
  CreateShiftArgs,
  EmployeeIdArgs,
  GenerateScheduleArgs,
  ListEmployeesArgs,
  ListShiftsArgs,
  PublishScheduleArgs,
  ScheduleArgs,
  ScheduleJobIdArgs,
  ShiftIdArgs,
  UpdateEmployeeArgs,
  UpdateShiftArgs,
} from './scheduling.inputs.js';
import {
  createEmployee,
  createShift,
  deleteShift,
  generateSchedule,
  getSchedule,
  listEmployees,
  listShifts,
  publishSchedule,
  toScheduleJob,
  updateEmployee,
  updateShift,
} from './scheduling.service.js';
import {
  AvailabilityWindow,
  Employee,
  EmployeePage,
  PreferenceWindow,
  Schedule,
  ScheduleJob,
  Shift,
  ShiftAssignment,
  ShiftPage,
} from './scheduling.types.js';

async function loadWarehouse(ctx: GraphQLContext, id: string) {
  const warehouse = await ctx.loaders.inventory.warehouseById.load(id);
  if (!warehouse) throw new NotFoundError('Warehouse', id);
  return warehouse;
}

@Resolver(() => Employee)
export class EmployeeResolver {
  @Directive('@auth(anyOf: [SCHEDULING_READ])')
  @Query(() => EmployeePage, { description: 'Employees, filtered, sorted and paginated.' })
  employees(@Args(() => ListEmployeesArgs) args: ListEmployeesArgs, @Ctx() ctx: GraphQLContext) {
    return listEmployees(ctx, args);
  }

  @Directive('@auth(anyOf: [SCHEDULING_READ])')
  @Query(() => Employee, { nullable: true, description: 'An employee by id; null when there is none.' })
  employee(@Args(() => EmployeeIdArgs) { id }: EmployeeIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.employeeById.load(id);
  }

  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => Employee, {
    description:
      'Creates an employee. NOT_FOUND for an unknown warehouse or user; CONFLICT when the user is linked already.',
  })
  createEmployee(@Args(() => CreateEmployeeArgs) { input }: CreateEmployeeArgs, @Ctx() ctx: GraphQLContext) {
    return createEmployee(ctx, input);
  }

  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => Employee, {
    description: 'Changes an employee (deactivate with isActive: false). Solves of the weeks it touches become stale.',
  })
  updateEmployee(@Args(() => UpdateEmployeeArgs) { id, input }: UpdateEmployeeArgs, @Ctx() ctx: GraphQLContext) {
    return updateEmployee(ctx, id, input);
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse whose shifts the employee works.' })
  homeWarehouse(@Root() employee: Employee, @Ctx() ctx: GraphQLContext) {
    return loadWarehouse(ctx, employee.homeWarehouseId);
  }

  @FieldResolver(() => [AvailabilityWindow], {
    description: 'When the employee can work, by weekday and time (UTC); empty: never.',
  })
  availability(@Root() employee: Employee, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.availabilityByEmployeeId.load(employee.id);
  }

  @FieldResolver(() => [PreferenceWindow], {
    description:
      'When the employee prefers to work, by weekday and time (UTC); a shift lying entirely inside one is preferred. Empty: no preference.',
  })
  preferences(@Root() employee: Employee, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.preferencesByEmployeeId.load(employee.id);
  }
}

@Resolver(() => Shift)
export class ShiftResolver {
  @Directive('@auth(anyOf: [SCHEDULING_READ])')
  @Query(() => ShiftPage, { description: 'Shifts, filtered (warehouse, time range, skill), sorted and paginated.' })
  shifts(@Args(() => ListShiftsArgs) args: ListShiftsArgs, @Ctx() ctx: GraphQLContext) {
    return listShifts(ctx, args);
  }

  @Directive('@auth(anyOf: [SCHEDULING_READ])')
  @Query(() => Shift, { nullable: true, description: 'A shift by id; null when there is none.' })
  shift(@Args(() => ShiftIdArgs) { id }: ShiftIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.shiftById.load(id);
  }

  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => Shift, { description: 'Creates a shift. NOT_FOUND for an unknown warehouse.' })
  createShift(@Args(() => CreateShiftArgs) { input }: CreateShiftArgs, @Ctx() ctx: GraphQLContext) {
    return createShift(ctx, input);
  }

  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => Shift, { description: 'Changes a shift. Solves of its week become stale.' })
  updateShift(@Args(() => UpdateShiftArgs) { id, input }: UpdateShiftArgs, @Ctx() ctx: GraphQLContext) {
    return updateShift(ctx, id, input);
  }

  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => Boolean, {
    description: 'Deletes a shift with its published assignments; true when done. NOT_FOUND when there is none.',
  })
  deleteShift(@Args(() => ShiftIdArgs) { id }: ShiftIdArgs, @Ctx() ctx: GraphQLContext) {
    return deleteShift(ctx, id);
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse where the shift is worked.' })
  warehouse(@Root() shift: Shift, @Ctx() ctx: GraphQLContext) {
    return loadWarehouse(ctx, shift.warehouseId);
  }

  @FieldResolver(() => [ShiftAssignment], { description: 'Who works the shift, as published.' })
  assignments(@Root() shift: Shift, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.assignmentsByShiftId.load(shift.id);
  }
}

@Resolver(() => ShiftAssignment)
export class ShiftAssignmentResolver {
  @FieldResolver(() => Shift, { nullable: true, description: 'The shift; null when it was deleted since.' })
  shift(@Root() assignment: ShiftAssignment, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.shiftById.load(assignment.shiftId);
  }

  @FieldResolver(() => Employee, { nullable: true, description: 'The employee; null when there is none.' })
  employee(@Root() assignment: ShiftAssignment, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.employeeById.load(assignment.employeeId);
  }
}

@Resolver(() => ScheduleJob)
export class ScheduleJobResolver {
  @Directive('@rateLimit(window: "1m", max: 10)')
  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => ScheduleJob, {
    description:
      'Starts solving the schedule of a warehouse week and returns the job at once (poll scheduleJob). An identical problem solved before completes at once with cached: true.',
  })
  generateSchedule(@Args(() => GenerateScheduleArgs) { input }: GenerateScheduleArgs, @Ctx() ctx: GraphQLContext) {
    return generateSchedule(ctx, input);
  }

  @Directive('@auth(anyOf: [SCHEDULING_READ])')
  @Query(() => ScheduleJob, {
    nullable: true,
    description: 'A solve job: status, progress and, once completed, the schedule; null when there is none.',
  })
  async scheduleJob(@Args(() => ScheduleJobIdArgs) { id }: ScheduleJobIdArgs, @Ctx() ctx: GraphQLContext) {
    const row = await ctx.loaders.scheduling.scheduleJobById.load(id);
    return row ? toScheduleJob(row) : null;
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse being scheduled.' })
  warehouse(@Root() job: ScheduleJob, @Ctx() ctx: GraphQLContext) {
    return loadWarehouse(ctx, job.warehouseId);
  }
}

@Resolver(() => Schedule)
export class ScheduleResolver {
  @Directive('@auth(anyOf: [SCHEDULING_READ])')
  @Query(() => Schedule, {
    nullable: true,
    description: 'The schedule of a warehouse week; null when no solve was ever requested for it.',
  })
  schedule(@Args(() => ScheduleArgs) { warehouseId, weekStart }: ScheduleArgs, @Ctx() ctx: GraphQLContext) {
    return getSchedule(ctx, warehouseId, weekStart);
  }

  @Directive('@auth(anyOf: [SCHEDULING_WRITE])')
  @Mutation(() => Schedule, {
    description:
      "Publishes a COMPLETED solve job's assignments as its week's schedule, in one transaction, replacing earlier ones. SCHEDULE_STALE when the week's shifts or employees changed since the solve.",
  })
  publishSchedule(@Args(() => PublishScheduleArgs) { jobId }: PublishScheduleArgs, @Ctx() ctx: GraphQLContext) {
    return publishSchedule(ctx, jobId);
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse.' })
  warehouse(@Root() schedule: Schedule, @Ctx() ctx: GraphQLContext) {
    return loadWarehouse(ctx, schedule.warehouseId);
  }

  @FieldResolver(() => [ShiftAssignment], { description: 'The published assignments, by shift start.' })
  assignments(@Root() schedule: Schedule, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.scheduling.assignmentsByScheduleId.load(schedule.id);
  }
}

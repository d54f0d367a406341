import type { Prisma as PrismaTypes } from '../../generated/prisma/client.js';
import { ScheduleJobStatus, ScheduleStatus } from '../../generated/prisma/enums.js';
import {
  ConflictError,
  InternalError,
  InvalidStateTransitionError,
  NotFoundError,
  ScheduleStaleError,
  ServiceUnavailableError,
  ValidationError,
  type FieldErrors,
} from '../../errors/index.js';
import { containsText, skipTake, SortDirection, toPage, toPrismaOrderBy } from '../../graphql/pagination.js';
import type { Prisma, PrismaTx } from '../../platform/db/index.js';
import type { ServiceContext } from '../../platform/service-context.js';
import type {
  AvailabilityWindowInput,
  CreateEmployeeInput,
  CreateShiftInput,
  GenerateScheduleInput,
  ListEmployeesArgs,
  ListShiftsArgs,
  UpdateEmployeeInput,
  UpdateShiftInput,
} from './scheduling.inputs.js';
import { ALWAYS_AVAILABLE, DAY_MS, isWeekStart, loadSchedulingProblem, WEEK_MS } from './scheduling.problem.js';
import { markJobFailed, resultColumns, type SchedulingRuntime } from './scheduling.runtime.js';
import {
  EMPLOYEE_ORDER_COLUMNS,
  EmployeeOrderField,
  SHIFT_ORDER_COLUMNS,
  ShiftOrderField,
  type ScheduleJob,
  type ScheduleResult,
} from './scheduling.types.js';
import { checkSchedule, hashProblem } from './solver/index.js';
import type { Assignment, ScheduleQuality } from './solver/index.js';

type Ctx = Pick<ServiceContext, 'prisma' | 'runInTransaction' | 'signal' | 'actor' | 'logger'> & {
  scheduling: SchedulingRuntime;
};

const MAX_SHIFT_MS = DAY_MS;

// ------------------------------------------------------------------------------ employees

/** Weekly windows (availability or preferences) end after they start; `field` names the input list. */
function checkWindows(
  field: 'availability' | 'preferences',
  windows: readonly AvailabilityWindowInput[] | null | undefined,
  errors: FieldErrors,
): void {
  windows?.forEach((w, i) => {
    if (w.endMinute <= w.startMinute) {
      errors[`input.${field}.${i}.endMinute`] = ['endMinute must be after startMinute'];
    }
  });
}

function checkEmployeeWindows(input: CreateEmployeeInput | UpdateEmployeeInput): void {
  const errors: FieldErrors = {};
  checkWindows('availability', input.availability, errors);
  checkWindows('preferences', input.preferences, errors);
  throwIfAny(errors);
}

function throwIfAny(errors: FieldErrors): void {
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
}

async function assertWarehouse(db: Prisma | PrismaTx, id: string): Promise<void> {
  if (!(await db.warehouse.findUnique({ where: { id }, select: { id: true } })))
    throw new NotFoundError('Warehouse', id);
}

/** A user account belongs to at most one employee (the unique index is the backstop). */
async function assertUserFree(db: Prisma | PrismaTx, userId: string, exceptEmployeeId?: string): Promise<void> {
  if (!(await db.user.findUnique({ where: { id: userId }, select: { id: true } })))
    throw new NotFoundError('User', userId);
  const taken = await db.employee.findFirst({
    where: { userId, ...(exceptEmployeeId ? { NOT: { id: exceptEmployeeId } } : {}) },
    select: { id: true },
  });
  if (taken) throw new ConflictError('userId', 'This user is already linked to another employee.');
}

export async function listEmployees(ctx: Pick<Ctx, 'prisma'>, args: ListEmployeesArgs) {
  const f = args.filter;
  const where: PrismaTypes.EmployeeWhereInput = {
    ...(f?.warehouseId ? { homeWarehouseId: f.warehouseId } : {}),
    ...(f?.skill ? { skills: { has: f.skill } } : {}),
    ...(f?.isActive != null ? { isActive: f.isActive } : {}),
    ...(f?.search ? { name: containsText(f.search) } : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, EMPLOYEE_ORDER_COLUMNS, {
    field: EmployeeOrderField.NAME,
    direction: SortDirection.ASC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.employee.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.employee.count({ where }),
  ]);
  return toPage(items, total, args);
}

function uniqueSkills(skills: readonly string[]): string[] {
  return [...new Set(skills)].sort();
}

export async function createEmployee(ctx: Ctx, input: CreateEmployeeInput) {
  checkEmployeeWindows(input);
  await assertWarehouse(ctx.prisma, input.homeWarehouseId);
  if (input.userId) await assertUserFree(ctx.prisma, input.userId);
  return ctx.prisma.employee.create({
    data: {
      name: input.name,
      homeWarehouseId: input.homeWarehouseId,
      userId: input.userId ?? null,
      skills: uniqueSkills(input.skills ?? []),
      weeklyLimitMinutes: input.weeklyLimitMinutes,
      availability: { create: (input.availability ?? ALWAYS_AVAILABLE).map((w) => ({ ...w })) },
      // No preferences given: none (the solver then only fills and balances).
      preferences: { create: (input.preferences ?? []).map((w) => ({ ...w })) },
    },
  });
}

export async function updateEmployee(ctx: Ctx, id: string, input: UpdateEmployeeInput) {
  checkEmployeeWindows(input);
  return ctx.runInTransaction(
    async (tx) => {
      const existing = await tx.employee.findUnique({ where: { id }, select: { id: true } });
      if (!existing) throw new NotFoundError('Employee', id);
      if (input.homeWarehouseId != null) await assertWarehouse(tx, input.homeWarehouseId);
      if (input.userId != null) await assertUserFree(tx, input.userId, id);
      if (input.availability != null) {
        await tx.employeeAvailability.deleteMany({ where: { employeeId: id } });
        await tx.employeeAvailability.createMany({ data: input.availability.map((w) => ({ ...w, employeeId: id })) });
      }
      if (input.preferences != null) {
        await tx.employeePreference.deleteMany({ where: { employeeId: id } });
        await tx.employeePreference.createMany({ data: input.preferences.map((w) => ({ ...w, employeeId: id })) });
      }
      // Always written (updatedAt moves), so a publish holding this row's lock sees the change.
      return tx.employee.update({
        where: { id },
        data: {
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.homeWarehouseId != null ? { homeWarehouseId: input.homeWarehouseId } : {}),
          ...(input.userId !== undefined ? { userId: input.userId } : {}),
          ...(input.skills != null ? { skills: uniqueSkills(input.skills) } : {}),
          ...(input.weeklyLimitMinutes != null ? { weeklyLimitMinutes: input.weeklyLimitMinutes } : {}),
          ...(input.isActive != null ? { isActive: input.isActive } : {}),
          updatedAt: new Date(),
        },
      });
    },
    { signal: ctx.signal },
  );
}

// ------------------------------------------------------------------------------ shifts

const WHOLE_MINUTE = 60_000;

function checkShiftTimes(startsAt: Date, endsAt: Date, errors: FieldErrors): void {
  if (startsAt.getTime() % WHOLE_MINUTE !== 0) errors['input.startsAt'] = ['startsAt must be on a whole minute'];
  if (endsAt.getTime() % WHOLE_MINUTE !== 0) errors['input.endsAt'] = ['endsAt must be on a whole minute'];
  if (endsAt.getTime() <= startsAt.getTime()) (errors['input.endsAt'] ??= []).push('endsAt must be after startsAt');
  else if (endsAt.getTime() - startsAt.getTime() > MAX_SHIFT_MS) {
    (errors['input.endsAt'] ??= []).push('a shift lasts at most 24 hours');
  }
}

export async function listShifts(ctx: Pick<Ctx, 'prisma'>, args: ListShiftsArgs) {
  const f = args.filter;
  const where: PrismaTypes.ShiftWhereInput = {
    ...(f?.warehouseId ? { warehouseId: f.warehouseId } : {}),
    ...(f?.requiredSkill ? { requiredSkill: f.requiredSkill } : {}),
    ...(f?.from || f?.to ? { startsAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
  };
  const orderBy = toPrismaOrderBy(args.orderBy, SHIFT_ORDER_COLUMNS, {
    field: ShiftOrderField.STARTS_AT,
    direction: SortDirection.ASC,
  });
  const [items, total] = await Promise.all([
    ctx.prisma.shift.findMany({ where, orderBy, ...skipTake(args) }),
    ctx.prisma.shift.count({ where }),
  ]);
  return toPage(items, total, args);
}

export async function createShift(ctx: Ctx, input: CreateShiftInput) {
  const errors: FieldErrors = {};
  checkShiftTimes(input.startsAt, input.endsAt, errors);
  throwIfAny(errors);
  await assertWarehouse(ctx.prisma, input.warehouseId);
  return ctx.prisma.shift.create({
    data: {
      warehouseId: input.warehouseId,
      startsAt: input.startsAt,
      endsAt: input.endsAt,
      requiredSkill: input.requiredSkill ?? null,
      headcount: input.headcount,
    },
  });
}

export async function updateShift(ctx: Ctx, id: string, input: UpdateShiftInput) {
  return ctx.runInTransaction(
    async (tx) => {
      const existing = await tx.shift.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError('Shift', id);
      const startsAt = input.startsAt ?? existing.startsAt;
      const endsAt = input.endsAt ?? existing.endsAt;
      const errors: FieldErrors = {};
      checkShiftTimes(startsAt, endsAt, errors);
      throwIfAny(errors);
      const shift = await tx.shift.update({
        where: { id },
        data: {
          startsAt,
          endsAt,
          ...(input.requiredSkill !== undefined ? { requiredSkill: input.requiredSkill } : {}),
          ...(input.headcount != null ? { headcount: input.headcount } : {}),
        },
      });
      // Published assignments keep a copy of the start for the (employee, start) index.
      if (startsAt.getTime() !== existing.startsAt.getTime()) {
        await tx.scheduleAssignment.updateMany({ where: { shiftId: id }, data: { shiftStartsAt: startsAt } });
      }
      return shift;
    },
    { signal: ctx.signal },
  );
}

/** Deletes a shift and its published assignments. */
export async function deleteShift(ctx: Ctx, id: string): Promise<boolean> {
  const { count } = await ctx.prisma.shift.deleteMany({ where: { id } });
  if (count === 0) throw new NotFoundError('Shift', id);
  return true;
}

// ------------------------------------------------------------------------------ solve jobs

/** The columns of a job the graph shows (never the problem itself, which can be large). */
export const JOB_VIEW_SELECT = {
  id: true,
  scheduleId: true,
  status: true,
  timeBudgetMs: true,
  cached: true,
  method: true,
  gap: true,
  fallbackReason: true,
  quality: true,
  assignments: true,
  durationMs: true,
  error: true,
  requestedById: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  schedule: { select: { warehouseId: true, weekStart: true } },
} satisfies PrismaTypes.ScheduleJobSelect;

export type JobViewRow = PrismaTypes.ScheduleJobGetPayload<{ select: typeof JOB_VIEW_SELECT }>;

/** Progress without a callback from the solver: the share of the time budget spent so far. */
function progressOf(row: JobViewRow, now: number): number {
  if (row.status === ScheduleJobStatus.COMPLETED || row.status === ScheduleJobStatus.FAILED) return 100;
  if (row.status === ScheduleJobStatus.QUEUED || !row.startedAt) return 0;
  const spent = (now - row.startedAt.getTime()) / Math.max(1, row.timeBudgetMs);
  return Math.max(1, Math.min(99, Math.round(5 + 90 * spent)));
}

export function toScheduleJob(row: JobViewRow, now = Date.now()): ScheduleJob {
  const result: ScheduleResult | null =
    row.status === ScheduleJobStatus.COMPLETED && row.method
      ? {
          method: row.method,
          gap: row.gap,
          fallbackReason: row.fallbackReason,
          quality: row.quality as unknown as ScheduleQuality,
          assignments: (row.assignments as unknown as Assignment[]) ?? [],
          durationMs: row.durationMs ?? 0,
        }
      : null;
  return {
    id: row.id,
    status: row.status,
    progress: progressOf(row, now),
    scheduleId: row.scheduleId,
    warehouseId: row.schedule.warehouseId,
    weekStart: row.schedule.weekStart,
    timeBudgetMs: row.timeBudgetMs,
    cached: row.cached,
    result,
    error: row.error,
    requestedById: row.requestedById,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

function assertWeekStart(weekStart: Date, path: string): void {
  if (!isWeekStart(weekStart)) throw ValidationError.forField(path, 'weekStart must be a Monday at 00:00:00 UTC');
}

/**
 * Issue 8: starts a solve of a warehouse week and returns its job at once. The problem is read
 * and hashed now and stored with the job, so the job solves exactly what was asked and publishing
 * can tell whether the data changed since. An identical problem solved before (canonical hash)
 * completes the job at once from the cache, without a solve.
 */
export async function generateSchedule(ctx: Ctx, input: GenerateScheduleInput): Promise<ScheduleJob> {
  assertWeekStart(input.weekStart, 'input.weekStart');
  await assertWarehouse(ctx.prisma, input.warehouseId);
  const { settings, cache, queue } = ctx.scheduling;
  const problem = await loadSchedulingProblem(ctx.prisma, input.warehouseId, input.weekStart, settings.minRestMinutes);
  const problemHash = hashProblem(problem);
  const timeBudgetMs = input.timeBudgetMs ?? settings.solveBudgetMs;
  const week = { warehouseId: input.warehouseId, weekStart: input.weekStart };
  await ctx.prisma.schedule.createMany({ data: [week], skipDuplicates: true });
  const schedule = await ctx.prisma.schedule.findUniqueOrThrow({
    where: { warehouseId_weekStart: week },
    select: { id: true },
  });
  const cached = await cache.get(problemHash, timeBudgetMs);
  const now = new Date();
  const row = await ctx.prisma.scheduleJob.create({
    data: {
      scheduleId: schedule.id,
      timeBudgetMs,
      problemHash,
      problem: problem as unknown as PrismaTypes.InputJsonValue,
      requestedById: ctx.actor.userId,
      ...(cached
        ? {
            status: ScheduleJobStatus.COMPLETED,
            cached: true,
            ...resultColumns(cached),
            startedAt: now,
            finishedAt: now,
          }
        : {}),
    },
    select: JOB_VIEW_SELECT,
  });
  if (!cached) {
    try {
      await queue.enqueue(row.id);
    } catch (error) {
      await markJobFailed(ctx.prisma, row.id, 'The solve queue was unavailable; ask again.');
      throw new ServiceUnavailableError('scheduling queue', error);
    }
  }
  ctx.logger.info('schedule solve requested', { jobId: row.id, cached: Boolean(cached), problemHash });
  return toScheduleJob(row);
}

/**
 * Issue 8: writes a completed job's assignments as the week's schedule, in one transaction. The
 * shifts and employees of the week are locked (FOR SHARE) and read again; if their canonical hash
 * differs from the job's, the solve is stale and nothing is written (SCHEDULE_STALE). Publishing
 * again replaces the week's assignments.
 */
export async function publishSchedule(ctx: Ctx, jobId: string) {
  const minRestMinutes = ctx.scheduling.settings.minRestMinutes;
  return ctx.runInTransaction(
    async (tx) => {
      const job = await tx.scheduleJob.findUnique({
        where: { id: jobId },
        select: {
          status: true,
          problemHash: true,
          assignments: true,
          scheduleId: true,
          schedule: { select: { warehouseId: true, weekStart: true } },
        },
      });
      if (!job) throw new NotFoundError('ScheduleJob', jobId);
      if (job.status !== ScheduleJobStatus.COMPLETED) {
        throw new InvalidStateTransitionError('ScheduleJob', job.status, 'PUBLISHED');
      }
      const { warehouseId, weekStart } = job.schedule;
      const weekEnd = new Date(weekStart.getTime() + WEEK_MS);
      // One publish per week at a time; then the rows the comparison reads cannot change until commit.
      await tx.$queryRaw`SELECT id FROM schedules WHERE id = ${job.scheduleId}::uuid FOR UPDATE`;
      await tx.$queryRaw`SELECT id FROM shifts
        WHERE warehouse_id = ${warehouseId}::uuid AND starts_at >= ${weekStart} AND starts_at < ${weekEnd} FOR SHARE`;
      await tx.$queryRaw`SELECT id FROM employees WHERE home_warehouse_id = ${warehouseId}::uuid FOR SHARE`;
      const current = await loadSchedulingProblem(tx, warehouseId, weekStart, minRestMinutes);
      if (hashProblem(current) !== job.problemHash) throw new ScheduleStaleError(jobId);
      const assignments = (job.assignments as unknown as Assignment[] | null) ?? [];
      const violations = checkSchedule(current, assignments);
      if (violations.length > 0) {
        throw new InternalError(
          new Error(`solve result breaks hard constraints: ${violations.slice(0, 5).join('; ')}`),
        );
      }
      const startOf = new Map(current.shifts.map((s) => [s.id, new Date(s.startMs)]));
      await tx.scheduleAssignment.deleteMany({ where: { scheduleId: job.scheduleId } });
      await tx.scheduleAssignment.createMany({
        data: assignments.map((a) => ({
          scheduleId: job.scheduleId,
          shiftId: a.shiftId,
          employeeId: a.employeeId,
          shiftStartsAt: startOf.get(a.shiftId)!,
        })),
      });
      return tx.schedule.update({
        where: { id: job.scheduleId },
        data: {
          status: ScheduleStatus.PUBLISHED,
          publishedAt: new Date(),
          publishedById: ctx.actor.userId,
          publishedJobId: jobId,
        },
      });
    },
    { signal: ctx.signal },
  );
}

export async function getSchedule(ctx: Pick<Ctx, 'prisma'>, warehouseId: string, weekStart: Date) {
  assertWeekStart(weekStart, 'weekStart');
  return ctx.prisma.schedule.findUnique({ where: { warehouseId_weekStart: { warehouseId, weekStart } } });
}

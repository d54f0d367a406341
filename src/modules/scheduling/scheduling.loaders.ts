import DataLoader from 'dataloader';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys } from '../catalog/index.js';
import { JOB_VIEW_SELECT, type JobViewRow } from './scheduling.service.js';

type EmployeeRow = Awaited<ReturnType<Prisma['employee']['findUniqueOrThrow']>>;
type ShiftRow = Awaited<ReturnType<Prisma['shift']['findUniqueOrThrow']>>;
type AvailabilityRow = Awaited<ReturnType<Prisma['employeeAvailability']['findUniqueOrThrow']>>;
type PreferenceRow = Awaited<ReturnType<Prisma['employeePreference']['findUniqueOrThrow']>>;
type AssignmentRow = Awaited<ReturnType<Prisma['scheduleAssignment']['findUniqueOrThrow']>>;

/** Per-request batch loaders of scheduling (REQ 6.3): job results resolve employees and shifts here. */
export function createSchedulingLoaders(prisma: Prisma) {
  return {
    employeeById: new DataLoader<string, EmployeeRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.employee.findMany({ where: { id: { in: [...ids] } } }), (e) => e.id),
    ),
    shiftById: new DataLoader<string, ShiftRow | null>(async (ids) =>
      loaderKeys.byKey(ids, await prisma.shift.findMany({ where: { id: { in: [...ids] } } }), (s) => s.id),
    ),
    scheduleJobById: new DataLoader<string, JobViewRow | null>(async (ids) =>
      loaderKeys.byKey(
        ids,
        await prisma.scheduleJob.findMany({ where: { id: { in: [...ids] } }, select: JOB_VIEW_SELECT }),
        (j) => j.id,
      ),
    ),
    availabilityByEmployeeId: new DataLoader<string, AvailabilityRow[]>(async (employeeIds) =>
      loaderKeys.groupBy(
        employeeIds,
        await prisma.employeeAvailability.findMany({
          where: { employeeId: { in: [...employeeIds] } },
          orderBy: [{ weekday: 'asc' }, { startMinute: 'asc' }],
        }),
        (w) => w.employeeId,
      ),
    ),
    preferencesByEmployeeId: new DataLoader<string, PreferenceRow[]>(async (employeeIds) =>
      loaderKeys.groupBy(
        employeeIds,
        await prisma.employeePreference.findMany({
          where: { employeeId: { in: [...employeeIds] } },
          orderBy: [{ weekday: 'asc' }, { startMinute: 'asc' }],
        }),
        (w) => w.employeeId,
      ),
    ),
    assignmentsByScheduleId: new DataLoader<string, AssignmentRow[]>(async (scheduleIds) =>
      loaderKeys.groupBy(
        scheduleIds,
        await prisma.scheduleAssignment.findMany({
          where: { scheduleId: { in: [...scheduleIds] } },
          orderBy: [{ shiftStartsAt: 'asc' }, { shiftId: 'asc' }, { employeeId: 'asc' }],
        }),
        (a) => a.scheduleId,
      ),
    ),
    assignmentsByShiftId: new DataLoader<string, AssignmentRow[]>(async (shiftIds) =>
      loaderKeys.groupBy(
        shiftIds,
        await prisma.scheduleAssignment.findMany({
          where: { shiftId: { in: [...shiftIds] } },
          orderBy: { employeeId: 'asc' },
        }),
        (a) => a.shiftId,
      ),
    ),
  };
}

export type SchedulingLoaders = ReturnType<typeof createSchedulingLoaders>;

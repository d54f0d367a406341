import type { Prisma, PrismaTx } from '../../platform/db/index.js';
import type { SchedulingProblem, TimeWindow } from './solver/index.js';

const MINUTE_MS = 60_000;
export const DAY_MS = 24 * 60 * MINUTE_MS;
export const WEEK_MS = 7 * DAY_MS;

/** A week starts on Monday 00:00:00.000 UTC (issue 8: all scheduling times are UTC). */
export function isWeekStart(instant: Date): boolean {
  return instant.getTime() % DAY_MS === 0 && instant.getUTCDay() === 1;
}

export interface WeeklyWindow {
  /** ISO weekday, 1 (Monday) to 7. */
  weekday: number;
  startMinute: number;
  endMinute: number;
}

/** Every day of the week, all day: an employee created without availability. */
export const ALWAYS_AVAILABLE: readonly WeeklyWindow[] = Array.from({ length: 7 }, (_, i) => ({
  weekday: i + 1,
  startMinute: 0,
  endMinute: 24 * 60,
}));

/**
 * An employee's weekly windows as the solver's absolute windows for the week starting at
 * `weekStart`. The days around it are included (a shift may start on Sunday and end on the
 * next Monday), and touching or overlapping windows are merged, so a night shift from 22:00
 * to 06:00 fits an employee available 22:00-24:00 and 00:00-06:00 of the next day.
 */
export function weekAvailability(windows: readonly WeeklyWindow[], weekStart: Date): TimeWindow[] {
  const spans: TimeWindow[] = [];
  // Day -1 (the Sunday before) to day 7 (the next Monday).
  for (let day = -1; day <= 7; day += 1) {
    const dayStart = weekStart.getTime() + day * DAY_MS;
    const weekday = (((day % 7) + 7) % 7) + 1;
    for (const w of windows) {
      if (w.weekday !== weekday || w.endMinute <= w.startMinute) continue;
      spans.push({ startMs: dayStart + w.startMinute * MINUTE_MS, endMs: dayStart + w.endMinute * MINUTE_MS });
    }
  }
  spans.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const merged: TimeWindow[] = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span.startMs <= last.endMs) last.endMs = Math.max(last.endMs, span.endMs);
    else merged.push({ ...span });
  }
  return merged;
}

/**
 * The shifts an employee prefers: those lying entirely inside one of the employee's preference
 * windows, taken into the week like availability (touching windows merged, so a night shift
 * 22:00-06:00 is preferred by an employee preferring 22:00-24:00 and 00:00-06:00 the next day).
 * Shifts the employee cannot work may be listed; the solver only counts pairs it can assign.
 */
export function preferredShiftIds(
  windows: readonly WeeklyWindow[],
  weekStart: Date,
  shifts: readonly { id: string; startMs: number; endMs: number }[],
): string[] {
  if (windows.length === 0) return [];
  const spans = weekAvailability(windows, weekStart);
  return shifts.filter((s) => spans.some((w) => w.startMs <= s.startMs && s.endMs <= w.endMs)).map((s) => s.id);
}

/**
 * The solver's input for one warehouse week, read from the database: the shifts starting in the
 * week, and the active employees whose home is the warehouse, with their availability and the
 * week's shifts they prefer. Lists are in id order; the hash (solver/canonical.ts) does not depend
 * on order anyway.
 */
export async function loadSchedulingProblem(
  db: Prisma | PrismaTx,
  warehouseId: string,
  weekStart: Date,
  minRestMinutes: number,
): Promise<SchedulingProblem> {
  const weekEnd = new Date(weekStart.getTime() + WEEK_MS);
  const [shifts, employees] = await Promise.all([
    db.shift.findMany({
      where: { warehouseId, startsAt: { gte: weekStart, lt: weekEnd } },
      orderBy: { id: 'asc' },
    }),
    db.employee.findMany({
      where: { homeWarehouseId: warehouseId, isActive: true },
      include: { availability: true, preferences: true },
      orderBy: { id: 'asc' },
    }),
  ]);
  const problemShifts = shifts.map((s) => ({
    id: s.id,
    startMs: s.startsAt.getTime(),
    endMs: s.endsAt.getTime(),
    requiredSkill: s.requiredSkill,
    headcount: s.headcount,
  }));
  return {
    minRestMinutes,
    shifts: problemShifts,
    employees: employees.map((e) => ({
      id: e.id,
      skills: [...e.skills].sort(),
      weeklyLimitMinutes: e.weeklyLimitMinutes,
      availability: weekAvailability(e.availability, weekStart),
      preferredShiftIds: preferredShiftIds(e.preferences, weekStart, problemShifts),
    })),
  };
}

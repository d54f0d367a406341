/**
 * Random but realistic scheduling problems, deterministic from a seed: the instances of the property
 * tests and of `npm run bench:scheduling` (issue 8). One week from Monday 2025-01-06 00:00 UTC, three
 * 8-hour shift patterns a day (06-14, 14-22, 22-06), a few skills, availability by day, weekly limits of
 * 24 to 40 hours, and a handful of preferred shifts per employee.
 */
import { DEFAULT_MIN_REST_MINUTES, MS_PER_MINUTE } from './constraints.js';
import type { ProblemEmployee, ProblemShift, SchedulingProblem, TimeWindow } from './problem.js';

export interface GenerateProblemOptions {
  /** @default 50 */
  employees?: number;
  /** Shifts in the week, spread evenly over its days and patterns. @default 200 */
  shifts?: number;
  /** @default 7 */
  days?: number;
  /** Distinct skill codes (`skill-0`…); a shift needs one of them or none. @default 4 */
  skills?: number;
  /** Chance that a shift needs a skill. @default 0.6 */
  skilledShare?: number;
  /** Most people a shift asks for; 85 % of shifts ask for one, the rest for up to this many. @default 2 */
  maxHeadcount?: number;
  /** Shift ids each employee prefers. @default 6 */
  preferences?: number;
  /** @default 660 (11 h) */
  minRestMinutes?: number;
}

const WEEK_START_MS = Date.UTC(2025, 0, 6);
const HOUR_MS = 60 * MS_PER_MINUTE;
const DAY_MS = 24 * HOUR_MS;
/** Start hour of each shift pattern; every pattern lasts 8 hours. */
const PATTERN_START_HOURS = [6, 14, 22] as const;
const SHIFT_HOURS = 8;

/** mulberry32: a small, fast PRNG with good enough statistics for test data. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A problem of the given size, always the same for the same seed and options. */
export function generateProblem(seed: number, options: GenerateProblemOptions = {}): SchedulingProblem {
  const {
    employees: employeeCount = 50,
    shifts: shiftCount = 200,
    days = 7,
    skills: skillCount = 4,
    skilledShare = 0.6,
    maxHeadcount = 2,
    preferences = 6,
    minRestMinutes = DEFAULT_MIN_REST_MINUTES,
  } = options;
  const random = createRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const skillCodes = Array.from({ length: skillCount }, (_, i) => `skill-${i}`);

  const slots = days * PATTERN_START_HOURS.length;
  const shifts: ProblemShift[] = [];
  for (let i = 0; i < shiftCount; i++) {
    // Round-robin over the days and patterns, so the load is spread like a real roster's.
    const slot = i % slots;
    const day = Math.floor(slot / PATTERN_START_HOURS.length);
    const startMs = WEEK_START_MS + day * DAY_MS + PATTERN_START_HOURS[slot % PATTERN_START_HOURS.length]! * HOUR_MS;
    const headcount = random() < 0.85 ? 1 : int(Math.min(2, maxHeadcount), maxHeadcount);
    shifts.push({
      id: `shift-${i}`,
      startMs,
      endMs: startMs + SHIFT_HOURS * HOUR_MS,
      requiredSkill:
        skillCodes.length > 0 && random() < skilledShare ? skillCodes[int(0, skillCodes.length - 1)]! : null,
      headcount,
    });
  }

  // A day's availability, as [from hour, to hour) relative to 00:00 of the day (30 = 06:00 next day).
  const dayWindows: ([number, number] | null)[] = [[6, 30], [6, 22], [14, 30], [6, 14], null];
  const employees: ProblemEmployee[] = [];
  for (let e = 0; e < employeeCount; e++) {
    const held = skillCodes.filter(() => random() < 0.4);
    if (held.length === 0 && skillCodes.length > 0) held.push(skillCodes[int(0, skillCodes.length - 1)]!);
    // Most people are available most days; an employee mostly keeps to a pattern (their "usual" window).
    const usual = int(0, dayWindows.length - 2);
    const availability: TimeWindow[] = [];
    for (let day = 0; day < days; day++) {
      const roll = random();
      const window = roll < 0.6 ? dayWindows[usual] : roll < 0.8 ? dayWindows[int(0, dayWindows.length - 1)] : null;
      if (!window) continue;
      const dayStart = WEEK_START_MS + day * DAY_MS;
      availability.push({ startMs: dayStart + window[0] * HOUR_MS, endMs: dayStart + window[1] * HOUR_MS });
    }
    const preferred = new Set<string>();
    for (let p = 0; p < preferences && shifts.length > 0; p++) preferred.add(shifts[int(0, shifts.length - 1)]!.id);
    employees.push({
      id: `employee-${e}`,
      skills: held,
      weeklyLimitMinutes: int(24, 40) * 60,
      availability,
      preferredShiftIds: [...preferred],
    });
  }
  return { employees, shifts, minRestMinutes };
}

// Fixtures of the scheduling tests (test/integration/scheduling*.test.ts): a warehouse with
// employees and a week of shifts, written through Prisma, and their clean-up.
import { expect } from 'vitest';
import type { Database } from '../../src/platform/db/index.js';
import { gql, uniqueTag, type GraphQLResponse } from '../helpers/kit.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A Monday 00:00 UTC far from today, so no shift of the demo data is in it. */
export const WEEK = new Date(Date.UTC(2030, 0, 7));

export interface WeekFixture {
  tag: string;
  warehouseId: string;
  employeeIds: string[];
  shiftIds: string[];
}

/**
 * A warehouse, three employees (one FORKLIFT driver, one part-timer of 16 hours) and four day
 * shifts from Monday to Thursday of WEEK needing two people each, the first a forklift driver.
 * Small enough that HiGHS proves it optimal in well under a second of solving.
 */
export async function seedWeek(database: Database, options: { shifts?: number } = {}): Promise<WeekFixture> {
  const tag = uniqueTag().toUpperCase();
  const prisma = database.prisma;
  const warehouse = await prisma.warehouse.create({ data: { code: `SC-${tag}`, name: `Scheduling ${tag}` } });
  const employees = await Promise.all(
    [
      { name: `Alma ${tag}`, skills: ['FORKLIFT'], weeklyLimitMinutes: 2400 },
      { name: `Bruno ${tag}`, skills: [], weeklyLimitMinutes: 2400 },
      { name: `Chiara ${tag}`, skills: [], weeklyLimitMinutes: 960 },
    ].map((e) =>
      prisma.employee.create({
        data: {
          ...e,
          homeWarehouseId: warehouse.id,
          availability: {
            create: Array.from({ length: 7 }, (_, i) => ({ weekday: i + 1, startMinute: 0, endMinute: 1440 })),
          },
        },
      }),
    ),
  );
  const shifts = await Promise.all(
    Array.from({ length: options.shifts ?? 4 }, (_, d) =>
      prisma.shift.create({
        data: {
          warehouseId: warehouse.id,
          startsAt: new Date(WEEK.getTime() + d * DAY + 8 * HOUR),
          endsAt: new Date(WEEK.getTime() + d * DAY + 16 * HOUR),
          requiredSkill: d === 0 ? 'FORKLIFT' : null,
          headcount: 2,
        },
      }),
    ),
  );
  return { tag, warehouseId: warehouse.id, employeeIds: employees.map((e) => e.id), shiftIds: shifts.map((s) => s.id) };
}

/** Removes what the fixtures and the tests created in these warehouses (children first). */
export async function removeWarehouses(database: Database, warehouseIds: string[]): Promise<void> {
  const prisma = database.prisma;
  const where = { warehouseId: { in: warehouseIds } };
  await prisma.schedule.updateMany({ where, data: { publishedJobId: null } });
  await prisma.scheduleJob.deleteMany({ where: { schedule: where } });
  await prisma.schedule.deleteMany({ where });
  await prisma.shift.deleteMany({ where });
  await prisma.employee.deleteMany({ where: { homeWarehouseId: { in: warehouseIds } } });
  await prisma.warehouse.deleteMany({ where: { id: { in: warehouseIds } } });
}

export const JOB_FIELDS = `id status progress cached timeBudgetMs weekStart error startedAt finishedAt
  warehouse { id }
  result {
    method gap fallbackReason durationMs
    quality { unfilledSlots hourSpreadMinutes preferencesHonoured }
    assignments { shiftId employeeId shift { id startsAt } employee { id name } }
  }`;

export interface JobView {
  id: string;
  status: 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
  progress: number;
  cached: boolean;
  timeBudgetMs: number;
  weekStart: string;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  warehouse: { id: string };
  result: {
    method: 'OPTIMAL' | 'FEASIBLE' | 'HEURISTIC';
    gap: number | null;
    fallbackReason: string | null;
    durationMs: number;
    quality: { unfilledSlots: number; hourSpreadMinutes: number; preferencesHonoured: number };
    assignments: {
      shiftId: string;
      employeeId: string;
      shift: { id: string; startsAt: string } | null;
      employee: { id: string; name: string } | null;
    }[];
  } | null;
}

export const GENERATE = `mutation ($input: GenerateScheduleInput!) { generateSchedule(input: $input) { ${JOB_FIELDS} } }`;
export const JOB = `query ($id: UUID!) { scheduleJob(id: $id) { ${JOB_FIELDS} } }`;
export const PUBLISH = `mutation ($jobId: UUID!) {
  publishSchedule(jobId: $jobId) { id status weekStart publishedAt publishedById publishedJobId assignments { shiftId employeeId } }
}`;

export function codeOf(res: GraphQLResponse<unknown>): unknown {
  return res.body.errors?.[0]?.extensions.code;
}

export async function generate(
  url: string,
  input: { warehouseId: string; weekStart?: Date; timeBudgetMs?: number },
  headers: Record<string, string> = {},
): Promise<JobView> {
  const res = await gql<{ generateSchedule: JobView }>(
    url,
    GENERATE,
    { input: { weekStart: WEEK.toISOString(), timeBudgetMs: 8_000, ...input } },
    headers,
  );
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.generateSchedule;
}

/** Polls scheduleJob until it is in one of `until` (COMPLETED or FAILED). */
export async function waitForJob(
  url: string,
  id: string,
  options: { headers?: Record<string, string>; until?: JobView['status'][]; timeoutMs?: number } = {},
): Promise<JobView> {
  const { headers = {}, until = ['COMPLETED', 'FAILED'], timeoutMs = 40_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await gql<{ scheduleJob: JobView | null }>(url, JOB, { id }, headers);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const job = res.body.data!.scheduleJob!;
    if (until.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of one sample of the Prometheus text format (summed over matching series), or 0. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

export async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

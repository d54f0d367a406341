import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchedulingProblem } from '../../src/modules/scheduling/index.js';
import { checkSchedule } from '../../src/modules/scheduling/solver/index.js';
import { gql, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';
import {
  codeOf,
  generate,
  JOB,
  PUBLISH,
  removeWarehouses,
  sample,
  scrape,
  seedWeek,
  waitForJob,
  WEEK,
  type JobView,
} from './scheduling.fixtures.js';

const SCHEDULE = `query ($warehouseId: UUID!, $weekStart: DateTime!) {
  schedule(warehouseId: $warehouseId, weekStart: $weekStart) {
    id status publishedJobId assignments { shiftId employeeId shift { id } employee { id } }
  }
}`;
const UPDATE_SHIFT = `mutation ($id: UUID!, $input: UpdateShiftInput!) { updateShift(id: $id, input: $input) { id headcount } }`;
const UPDATE_EMPLOYEE = `mutation ($id: UUID!, $input: UpdateEmployeeInput!) {
  updateEmployee(id: $id, input: $input) { id preferences { weekday startMinute endMinute } }
}`;
const HOUR = 3_600_000;

interface ScheduleView {
  id: string;
  status: string;
  publishedJobId: string | null;
  assignments: { shiftId: string; employeeId: string; shift: { id: string } | null; employee: { id: string } | null }[];
}

const apps: TestApp[] = [];
const warehouses: string[] = [];

async function app(env: Record<string, string> = {}, redisKeyPrefix?: string): Promise<TestApp> {
  const t = await startTestApp(env, redisKeyPrefix ? { redisKeyPrefix } : {});
  apps.push(t);
  return t;
}

async function closeApp(t: TestApp): Promise<void> {
  apps.splice(apps.indexOf(t), 1);
  await t.close();
}

afterAll(async () => {
  // Each app's queue lives under its own Redis key prefix: remove it with the app.
  for (const t of apps) await t.app.scheduling.queue.obliterate().catch(() => undefined);
  if (apps[0]) await removeWarehouses(apps[0].database, warehouses);
  await Promise.all(apps.map((t) => t.close()));
});

// Issue 8: generateSchedule → a job solved through the queue → publishSchedule.
describe('schedule solve jobs, end to end', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await app();
  });

  it('solves through the queue, reuses an identical solve from the cache, publishes in one transaction, then refuses a stale job', async () => {
    const week = await seedWeek(t.database);
    warehouses.push(week.warehouseId);
    const before = await scrape(t.url);

    const queued = await generate(t.url, { warehouseId: week.warehouseId });
    expect(queued).toMatchObject({ status: 'QUEUED', progress: 0, cached: false, timeBudgetMs: 8_000, result: null });
    expect(queued.weekStart).toBe(WEEK.toISOString());
    expect(queued.warehouse.id).toBe(week.warehouseId);

    const solved = await waitForJob(t.url, queued.id);
    expect(solved.status, solved.error ?? '').toBe('COMPLETED');
    expect(solved.progress).toBe(100);
    const result = solved.result!;
    expect(['OPTIMAL', 'FEASIBLE', 'HEURISTIC']).toContain(result.method);
    expect(result.durationMs).toBeGreaterThan(0);
    // Employees and shifts resolved through the DataLoaders.
    for (const a of result.assignments) {
      expect(a.shift?.id).toBe(a.shiftId);
      expect(a.employee?.id).toBe(a.employeeId);
      expect(a.employee?.name).toContain(week.tag);
    }
    // The hard constraints hold against the week's data.
    const problem = await loadSchedulingProblem(t.database.prisma, week.warehouseId, WEEK, 660);
    expect(checkSchedule(problem, result.assignments)).toEqual([]);
    // Four shifts of two: the forklift shift gets one driver at most; the part-timer works two days at most.
    expect(result.assignments.length).toBeGreaterThanOrEqual(5);
    expect(result.quality.unfilledSlots).toBe(8 - result.assignments.length);

    // The same problem again: completed at once from the cache, without a second solve.
    const again = await generate(t.url, { warehouseId: week.warehouseId });
    expect(again).toMatchObject({ status: 'COMPLETED', cached: true, progress: 100 });
    expect(again.id).not.toBe(queued.id);
    expect(again.result?.assignments.map((a) => [a.shiftId, a.employeeId])).toEqual(
      result.assignments.map((a) => [a.shiftId, a.employeeId]),
    );
    const after = await scrape(t.url);
    expect(sample(after, 'scheduling_solves_total') - sample(before, 'scheduling_solves_total')).toBe(1);
    expect(
      sample(after, 'scheduling_solve_duration_seconds_count') -
        sample(before, 'scheduling_solve_duration_seconds_count'),
    ).toBe(1);
    expect(
      sample(after, 'cache_operations_total', { cache: 'schedules', result: 'hit' }) -
        sample(before, 'cache_operations_total', { cache: 'schedules', result: 'hit' }),
    ).toBe(1);
    expect(after).toMatch(/scheduling_queue_jobs\{state="waiting"\} \d+/);

    // Publish the cached job: every assignment written by one transaction (one xmin).
    const published = await gql<{ publishSchedule: { id: string; status: string; publishedJobId: string } }>(
      t.url,
      PUBLISH,
      { jobId: again.id },
    );
    expect(published.body.errors, JSON.stringify(published.body.errors)).toBeUndefined();
    expect(published.body.data!.publishSchedule).toMatchObject({ status: 'PUBLISHED', publishedJobId: again.id });
    const scheduleId = published.body.data!.publishSchedule.id;
    const rows = await t.database.prisma.$queryRaw<{ n: bigint; txs: bigint }[]>`
      SELECT count(*) AS n, count(DISTINCT a.xmin::text) AS txs FROM schedule_assignments a WHERE a.schedule_id = ${scheduleId}::uuid`;
    expect(Number(rows[0]!.n)).toBe(result.assignments.length);
    expect(Number(rows[0]!.txs)).toBe(1);
    const [sameTx] = await t.database.prisma.$queryRaw<{ same: boolean }[]>`
      SELECT (SELECT xmin::text FROM schedules WHERE id = ${scheduleId}::uuid)
           = (SELECT min(xmin::text) FROM schedule_assignments WHERE schedule_id = ${scheduleId}::uuid) AS same`;
    expect(sameTx!.same).toBe(true);
    const read = await gql<{ schedule: ScheduleView }>(t.url, SCHEDULE, {
      warehouseId: week.warehouseId,
      weekStart: WEEK.toISOString(),
    });
    expect(read.body.data?.schedule.assignments).toHaveLength(result.assignments.length);
    expect(read.body.data?.schedule.assignments.every((a) => a.shift?.id === a.shiftId)).toBe(true);

    // A shift of the week changes: both jobs are stale now, and nothing is written.
    const changed = await gql(t.url, UPDATE_SHIFT, { id: week.shiftIds[1], input: { headcount: 1 } });
    expect(changed.body.errors).toBeUndefined();
    const stale = await gql(t.url, PUBLISH, { jobId: queued.id });
    expect(codeOf(stale)).toBe('SCHEDULE_STALE');
    expect(stale.body.errors?.[0]?.extensions.jobId).toBe(queued.id);
    const still = await gql<{ schedule: ScheduleView }>(t.url, SCHEDULE, {
      warehouseId: week.warehouseId,
      weekStart: WEEK.toISOString(),
    });
    expect(still.body.data?.schedule.publishedJobId).toBe(again.id);
    expect(still.body.data?.schedule.assignments).toHaveLength(result.assignments.length);
  });

  it('refuses to publish an unknown or unfinished job, and an employee change makes a solve stale too', async () => {
    const week = await seedWeek(t.database, { shifts: 2 });
    warehouses.push(week.warehouseId);
    const unknown = await gql(t.url, PUBLISH, { jobId: crypto.randomUUID() });
    expect(codeOf(unknown)).toBe('NOT_FOUND');
    // Queued on an app that does not solve, so it stays QUEUED.
    const idle = await app({ SCHEDULING_CONCURRENCY: '0' });
    const pending = await generate(idle.url, { warehouseId: week.warehouseId, timeBudgetMs: 2_000 });
    expect(pending.status).toBe('QUEUED');
    expect(codeOf(await gql(idle.url, PUBLISH, { jobId: pending.id }))).toBe('INVALID_STATE_TRANSITION');

    const done = await waitForJob(t.url, (await generate(t.url, { warehouseId: week.warehouseId })).id);
    expect(done.status).toBe('COMPLETED');
    await t.database.prisma.employee.update({ where: { id: week.employeeIds[0] }, data: { skills: [] } });
    expect(codeOf(await gql(t.url, PUBLISH, { jobId: done.id }))).toBe('SCHEDULE_STALE');
  });
});

// Issue 8, third objective: preferences decide between schedules equal in coverage and balance.
describe('shift preferences, end to end', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = apps[0] ?? (await app());
  });

  /** Two interchangeable employees and two day shifts (Monday and Tuesday 08:00-16:00) of one person each. */
  async function seedPair() {
    const tag = uniqueTag().toUpperCase();
    const prisma = t.database.prisma;
    const warehouse = await prisma.warehouse.create({ data: { code: `SP-${tag}`, name: `Preferences ${tag}` } });
    warehouses.push(warehouse.id);
    const always = Array.from({ length: 7 }, (_, i) => ({ weekday: i + 1, startMinute: 0, endMinute: 1440 }));
    const employee = (name: string, preferences: { weekday: number; startMinute: number; endMinute: number }[]) =>
      prisma.employee.create({
        data: {
          name: `${name} ${tag}`,
          homeWarehouseId: warehouse.id,
          weeklyLimitMinutes: 2400,
          availability: { create: always },
          preferences: { create: preferences },
        },
      });
    // Ada prefers Tuesday's shift; her Monday window covers only part of Monday's shift.
    const ada = await employee('Ada', [
      { weekday: 1, startMinute: 600, endMinute: 720 },
      { weekday: 2, startMinute: 360, endMinute: 1080 },
    ]);
    const ben = await employee('Ben', []);
    const shift = (day: number) =>
      prisma.shift.create({
        data: {
          warehouseId: warehouse.id,
          startsAt: new Date(WEEK.getTime() + (day * 24 + 8) * HOUR),
          endsAt: new Date(WEEK.getTime() + (day * 24 + 16) * HOUR),
          headcount: 1,
        },
      });
    const [monday, tuesday] = [await shift(0), await shift(1)];
    return { warehouseId: warehouse.id, ada: ada.id, ben: ben.id, monday: monday.id, tuesday: tuesday.id };
  }

  const byShift = (assignments: { shiftId: string; employeeId: string }[]) =>
    Object.fromEntries(assignments.map((a) => [a.shiftId, a.employeeId]));

  it('gives a shift to the employee who prefers it, publishes that, and a preference change makes the solve stale', async () => {
    const week = await seedPair();
    const problem = await loadSchedulingProblem(t.database.prisma, week.warehouseId, WEEK, 660);
    expect(Object.fromEntries(problem.employees.map((e) => [e.id, e.preferredShiftIds]))).toEqual({
      [week.ada]: [week.tuesday],
      [week.ben]: [],
    });

    const first = await waitForJob(t.url, (await generate(t.url, { warehouseId: week.warehouseId })).id);
    expect(first.status, first.error ?? '').toBe('COMPLETED');
    // Both shifts filled, one each (balance), and Ada has the one she prefers.
    expect(first.result!.quality).toEqual({ unfilledSlots: 0, hourSpreadMinutes: 0, preferencesHonoured: 1 });
    expect(byShift(first.result!.assignments)).toEqual({ [week.tuesday]: week.ada, [week.monday]: week.ben });

    // A new window that prefers the same shifts changes nothing the solver sees: still publishable.
    const same = await gql(t.url, UPDATE_EMPLOYEE, {
      id: week.ada,
      input: { preferences: [{ weekday: 2, startMinute: 420, endMinute: 1000 }] },
    });
    expect(same.body.errors, JSON.stringify(same.body.errors)).toBeUndefined();
    const published = await gql<{ publishSchedule: { status: string } }>(t.url, PUBLISH, { jobId: first.id });
    expect(published.body.errors, JSON.stringify(published.body.errors)).toBeUndefined();
    const read = await gql<{ schedule: ScheduleView }>(t.url, SCHEDULE, {
      warehouseId: week.warehouseId,
      weekStart: WEEK.toISOString(),
    });
    expect(read.body.data?.schedule).toMatchObject({ status: 'PUBLISHED', publishedJobId: first.id });
    expect(byShift(read.body.data!.schedule.assignments)).toEqual({
      [week.tuesday]: week.ada,
      [week.monday]: week.ben,
    });

    // Ada now prefers Mondays: the solve no longer matches the week.
    const moved = await gql(t.url, UPDATE_EMPLOYEE, {
      id: week.ada,
      input: { preferences: [{ weekday: 1, startMinute: 0, endMinute: 1440 }] },
    });
    expect(moved.body.errors, JSON.stringify(moved.body.errors)).toBeUndefined();
    const stale = await gql(t.url, PUBLISH, { jobId: first.id });
    expect(codeOf(stale)).toBe('SCHEDULE_STALE');
    expect(stale.body.errors?.[0]?.extensions.jobId).toBe(first.id);

    // Solved again (a new problem hash, so no cache hit): Ada gets Monday this time.
    const queued = await generate(t.url, { warehouseId: week.warehouseId });
    expect(queued.cached).toBe(false);
    const second = await waitForJob(t.url, queued.id);
    expect(second.status, second.error ?? '').toBe('COMPLETED');
    expect(second.result!.quality).toEqual({ unfilledSlots: 0, hourSpreadMinutes: 0, preferencesHonoured: 1 });
    expect(byShift(second.result!.assignments)).toEqual({ [week.monday]: week.ada, [week.tuesday]: week.ben });
    const republished = await gql(t.url, PUBLISH, { jobId: second.id });
    expect(republished.body.errors, JSON.stringify(republished.body.errors)).toBeUndefined();
    const reread = await gql<{ schedule: ScheduleView }>(t.url, SCHEDULE, {
      warehouseId: week.warehouseId,
      weekStart: WEEK.toISOString(),
    });
    expect(reread.body.data?.schedule.publishedJobId).toBe(second.id);
    expect(byShift(reread.body.data!.schedule.assignments)).toEqual({
      [week.monday]: week.ada,
      [week.tuesday]: week.ben,
    });
  });
});

describe('the solve queue across instances', () => {
  it('a job enqueued on an instance that stops is solved by the next one on the same Redis', async () => {
    const prefix = `test:sched-restart:${uniqueTag()}:`;
    // Instance A takes no jobs (concurrency 0): the job stays in the Redis queue.
    const a = await app({ SCHEDULING_CONCURRENCY: '0' }, prefix);
    const week = await seedWeek(a.database, { shifts: 2 });
    warehouses.push(week.warehouseId);
    const job = await generate(a.url, { warehouseId: week.warehouseId, timeBudgetMs: 6_000 });
    expect(job.status).toBe('QUEUED');
    expect(await a.app.scheduling.depth()).toEqual({ waiting: 1, active: 0 });
    expect(sample(await scrape(a.url), 'scheduling_queue_jobs', { state: 'waiting' })).toBe(1);
    await closeApp(a);

    const b = await app({}, prefix);
    const done = await waitForJob(b.url, job.id);
    expect(done.status, done.error ?? '').toBe('COMPLETED');
    expect(done.cached).toBe(false);
    expect(await b.app.scheduling.depth()).toEqual({ waiting: 0, active: 0 });
  });

  it('a solve running when its instance shuts down goes back to the queue and completes on the next instance', async () => {
    const prefix = `test:sched-handback:${uniqueTag()}:`;
    // No idle-connection grace in the HTTP drain: the solve would otherwise get that second to finish.
    const a = await app({ SHUTDOWN_IDLE_GRACE_MS: '0' }, prefix);
    const week = await seedWeek(a.database);
    warehouses.push(week.warehouseId);
    const job = await generate(a.url, { warehouseId: week.warehouseId });
    await waitForJob(a.url, job.id, { until: ['RUNNING', 'COMPLETED', 'FAILED'] });
    const closing = Date.now();
    await closeApp(a);
    // Shutdown does not wait for the solve (it is aborted, not finished).
    expect(Date.now() - closing).toBeLessThan(5_000);
    const db = new pg.Client({ connectionString: a.config.database.url });
    await db.connect();
    const { rows } = await db.query<{ status: string }>('SELECT status FROM schedule_jobs WHERE id = $1', [job.id]);
    await db.end();
    // Aborted within a moment of starting (a solve takes over a second here): QUEUED again, for any instance.
    expect(rows[0]!.status).toBe('QUEUED');

    const b = await app({}, prefix);
    const done = await waitForJob(b.url, job.id);
    expect(done.status, done.error ?? '').toBe('COMPLETED');
  });

  it('runs at most SCHEDULING_CONCURRENCY solves at once per instance', async () => {
    const one = await app({ SCHEDULING_CONCURRENCY: '1' });
    const two = await app({ SCHEDULING_CONCURRENCY: '2' });
    const intervals = async (t: TestApp) => {
      const weeks = [await seedWeek(t.database, { shifts: 2 }), await seedWeek(t.database, { shifts: 2 })];
      warehouses.push(...weeks.map((w) => w.warehouseId));
      const jobs = await Promise.all(weeks.map((w) => generate(t.url, { warehouseId: w.warehouseId })));
      const done: JobView[] = [];
      for (const job of jobs) done.push(await waitForJob(t.url, job.id));
      expect(done.map((j) => j.status)).toEqual(['COMPLETED', 'COMPLETED']);
      return done
        .map((j) => [Date.parse(j.startedAt!), Date.parse(j.finishedAt!)] as const)
        .sort((x, y) => x[0] - y[0]);
    };
    const [serial, parallel] = await Promise.all([intervals(one), intervals(two)]);
    // Concurrency 1: the second solve starts only after the first finished.
    expect(serial[1]![0]).toBeGreaterThanOrEqual(serial[0]![1]);
    // The control: with 2 slots the two solves (each over a second) overlap.
    expect(parallel[1]![0]).toBeLessThan(parallel[0]![1]);
  });

  it('reports a job that does not exist as null', async () => {
    const t = apps[0]!;
    const res = await gql<{ scheduleJob: unknown }>(t.url, JOB, { id: crypto.randomUUID() });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.scheduleJob).toBeNull();
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateEmployeeDocument,
  CreateShiftDocument,
  DeleteShiftDocument,
  EmployeesDocument,
  UpdateEmployeeDocument,
  WeekShiftsDocument,
} from '../../schema/generated/operations.js';
import { preferredShiftIds, weekAvailability } from '../../src/modules/scheduling/index.js';
import { createTestUser, gql, op, ROOT, startTestApp, uniqueTag, type TestApp } from '../helpers/kit.js';
import { codeOf, GENERATE, removeWarehouses, seedWeek, WEEK } from './scheduling.fixtures.js';

interface EmployeeView {
  id: string;
  name: string;
  userId: string | null;
  skills: string[];
  weeklyLimitMinutes: number;
  isActive: boolean;
  homeWarehouse: { id: string };
  availability: { weekday: number; startMinute: number; endMinute: number }[];
  preferences: { weekday: number; startMinute: number; endMinute: number }[];
}

interface ShiftView {
  id: string;
  startsAt: string;
  endsAt: string;
  requiredSkill: string | null;
  headcount: number;
  warehouse: { id: string };
}

interface PageView<T> {
  items: T[];
  pageInfo: { page: number; limit: number; totalCount: number; hasNextPage: boolean };
}

const EMPLOYEE =
  'id name userId skills weeklyLimitMinutes isActive homeWarehouse { id } availability { weekday startMinute endMinute } preferences { weekday startMinute endMinute }';
const SHIFT = 'id startsAt endsAt requiredSkill headcount warehouse { id }';
const PAGE_INFO = 'pageInfo { page limit totalCount hasNextPage }';
const CREATE_EMPLOYEE = `mutation ($input: CreateEmployeeInput!) { createEmployee(input: $input) { ${EMPLOYEE} } }`;
const UPDATE_EMPLOYEE = `mutation ($id: UUID!, $input: UpdateEmployeeInput!) { updateEmployee(id: $id, input: $input) { ${EMPLOYEE} } }`;
const EMPLOYEE_BY_ID = `query ($id: UUID!) { employee(id: $id) { ${EMPLOYEE} } }`;
const EMPLOYEES = `query ($filter: EmployeeFilter, $page: Int, $limit: Int, $orderBy: [EmployeeOrderBy!]) {
  employees(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) { items { ${EMPLOYEE} } ${PAGE_INFO} }
}`;
const CREATE_SHIFT = `mutation ($input: CreateShiftInput!) { createShift(input: $input) { ${SHIFT} } }`;
const UPDATE_SHIFT = `mutation ($id: UUID!, $input: UpdateShiftInput!) { updateShift(id: $id, input: $input) { ${SHIFT} } }`;
const DELETE_SHIFT = `mutation ($id: UUID!) { deleteShift(id: $id) }`;
const SHIFT_BY_ID = `query ($id: UUID!) { shift(id: $id) { ${SHIFT} } }`;
const SHIFTS = `query ($filter: ShiftFilter, $page: Int, $limit: Int, $orderBy: [ShiftOrderBy!]) {
  shifts(filter: $filter, page: $page, limit: $limit, orderBy: $orderBy) { items { ${SHIFT} } ${PAGE_INFO} }
}`;

const HOUR = 3_600_000;
const at = (hours: number) => new Date(WEEK.getTime() + hours * HOUR).toISOString();

let t: TestApp;
const warehouses: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.app.scheduling.queue.obliterate();
  await removeWarehouses(t.database, warehouses);
  await t.close();
});

async function warehouse(): Promise<string> {
  const tag = uniqueTag().toUpperCase();
  const w = await t.database.prisma.warehouse.create({ data: { code: `SE-${tag}`, name: `Staff ${tag}` } });
  warehouses.push(w.id);
  return w.id;
}

function fieldKeys(res: Awaited<ReturnType<typeof gql>>): string[] {
  expect(codeOf(res), JSON.stringify(res.body.errors)).toBe('VALIDATION_ERROR');
  return Object.keys(res.body.errors![0]!.extensions.fields as object).sort();
}

async function createEmployee(input: Record<string, unknown>): Promise<EmployeeView> {
  const res = await gql<{ createEmployee: EmployeeView }>(t.url, CREATE_EMPLOYEE, { input });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.createEmployee;
}

async function createShift(input: Record<string, unknown>): Promise<ShiftView> {
  const res = await gql<{ createShift: ShiftView }>(t.url, CREATE_SHIFT, { input });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!.createShift;
}

describe('employees', () => {
  it('creates, reads and changes an employee; availability defaults to always and is replaced as a whole', async () => {
    const home = await warehouse();
    const other = await warehouse();
    const user = await createTestUser(t, []);
    const typed = await op(t.url, CreateEmployeeDocument, {
      input: {
        name: 'Dana Driver',
        homeWarehouseId: home,
        skills: ['FORKLIFT', 'FIRST-AID', 'FORKLIFT'],
        weeklyLimitMinutes: 2400,
      },
    });
    expect(typed.body.errors).toBeUndefined();
    const created = typed.body.data!.createEmployee;
    // Skills are a set, sorted; no availability given: every day, all day.
    expect(created).toMatchObject({
      name: 'Dana Driver',
      skills: ['FIRST-AID', 'FORKLIFT'],
      weeklyLimitMinutes: 2400,
      isActive: true,
    });
    expect(created.availability).toEqual(
      Array.from({ length: 7 }, (_, i) => ({ weekday: i + 1, startMinute: 0, endMinute: 1440 })),
    );

    const changed = await op(t.url, UpdateEmployeeDocument, {
      id: created.id,
      input: { name: 'Dana D.', weeklyLimitMinutes: 1200, isActive: false },
    });
    expect(changed.body.errors).toBeUndefined();
    expect(changed.body.data!.updateEmployee).toMatchObject({
      name: 'Dana D.',
      weeklyLimitMinutes: 1200,
      isActive: false,
    });

    const moved = await gql<{ updateEmployee: EmployeeView }>(t.url, UPDATE_EMPLOYEE, {
      id: created.id,
      input: {
        homeWarehouseId: other,
        userId: user.id,
        skills: [],
        availability: [
          { weekday: 2, startMinute: 360, endMinute: 840 },
          { weekday: 1, startMinute: 1320, endMinute: 1440 },
        ],
      },
    });
    expect(moved.body.errors, JSON.stringify(moved.body.errors)).toBeUndefined();
    expect(moved.body.data!.updateEmployee).toMatchObject({
      homeWarehouse: { id: other },
      userId: user.id,
      skills: [],
      availability: [
        { weekday: 1, startMinute: 1320, endMinute: 1440 },
        { weekday: 2, startMinute: 360, endMinute: 840 },
      ],
    });
    const read = await gql<{ employee: EmployeeView }>(t.url, EMPLOYEE_BY_ID, { id: created.id });
    expect(read.body.data?.employee).toEqual(moved.body.data!.updateEmployee);
    // The user link: one employee per user; null unlinks.
    const second = await gql(t.url, CREATE_EMPLOYEE, {
      input: { name: 'Twin', homeWarehouseId: home, userId: user.id, weeklyLimitMinutes: 60 },
    });
    expect(codeOf(second)).toBe('CONFLICT');
    const unlinked = await gql<{ updateEmployee: EmployeeView }>(t.url, UPDATE_EMPLOYEE, {
      id: created.id,
      input: { userId: null },
    });
    expect(unlinked.body.data?.updateEmployee.userId).toBeNull();

    expect((await gql(t.url, EMPLOYEE_BY_ID, { id: crypto.randomUUID() })).body.data).toEqual({ employee: null });
    expect(codeOf(await gql(t.url, UPDATE_EMPLOYEE, { id: crypto.randomUUID(), input: { name: 'X' } }))).toBe(
      'NOT_FOUND',
    );
  });

  it('validates every field, reporting all problems at once, and writes nothing', async () => {
    const home = await warehouse();
    const res = await gql(t.url, CREATE_EMPLOYEE, {
      input: {
        name: '  ',
        homeWarehouseId: home,
        skills: ['forklift', 'OK'],
        weeklyLimitMinutes: 10_081,
        availability: [{ weekday: 8, startMinute: -1, endMinute: 1441 }],
      },
    });
    expect(fieldKeys(res)).toEqual([
      'input.availability.0.endMinute',
      'input.availability.0.startMinute',
      'input.availability.0.weekday',
      'input.name',
      'input.skills',
      'input.weeklyLimitMinutes',
    ]);
    const reversed = await gql(t.url, CREATE_EMPLOYEE, {
      input: {
        name: 'Reversed',
        homeWarehouseId: home,
        weeklyLimitMinutes: 60,
        availability: [{ weekday: 1, startMinute: 600, endMinute: 600 }],
      },
    });
    expect(fieldKeys(reversed)).toEqual(['input.availability.0.endMinute']);
    expect(
      codeOf(
        await gql(t.url, CREATE_EMPLOYEE, {
          input: { name: 'Lost', homeWarehouseId: crypto.randomUUID(), weeklyLimitMinutes: 60 },
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(await t.database.prisma.employee.count({ where: { homeWarehouseId: home } })).toBe(0);
  });

  it('records preference windows: none by default, given on create, replaced as a whole, cleared with an empty list', async () => {
    const home = await warehouse();
    const plain = await op(t.url, CreateEmployeeDocument, {
      input: { name: 'No Preference', homeWarehouseId: home, weeklyLimitMinutes: 600 },
    });
    expect(plain.body.errors).toBeUndefined();
    expect(plain.body.data!.createEmployee.preferences).toEqual([]);

    const early = await createEmployee({
      name: 'Early Bird',
      homeWarehouseId: home,
      weeklyLimitMinutes: 2400,
      preferences: [
        { weekday: 3, startMinute: 360, endMinute: 840 },
        { weekday: 1, startMinute: 360, endMinute: 840 },
      ],
    });
    // Listed by weekday, then start; availability still defaults to always.
    expect(early.preferences).toEqual([
      { weekday: 1, startMinute: 360, endMinute: 840 },
      { weekday: 3, startMinute: 360, endMinute: 840 },
    ]);
    expect(early.availability).toHaveLength(7);

    // Other changes leave preferences alone.
    const renamed = await op(t.url, UpdateEmployeeDocument, { id: early.id, input: { name: 'Early B.' } });
    expect(renamed.body.errors).toBeUndefined();
    const kept = await gql<{ employee: EmployeeView }>(t.url, EMPLOYEE_BY_ID, { id: early.id });
    expect(kept.body.data?.employee.preferences).toEqual(early.preferences);

    const late = await gql<{ updateEmployee: EmployeeView }>(t.url, UPDATE_EMPLOYEE, {
      id: early.id,
      input: { preferences: [{ weekday: 5, startMinute: 840, endMinute: 1320 }] },
    });
    expect(late.body.errors, JSON.stringify(late.body.errors)).toBeUndefined();
    expect(late.body.data!.updateEmployee.preferences).toEqual([{ weekday: 5, startMinute: 840, endMinute: 1320 }]);
    expect(await t.database.prisma.employeePreference.count({ where: { employeeId: early.id } })).toBe(1);

    // Through the list (one batched load for every employee of the page).
    const typed = await op(t.url, EmployeesDocument, { warehouseId: home, search: 'Early' });
    expect(typed.body.data?.employees.items.map((e) => e.preferences)).toEqual([
      [{ weekday: 5, startMinute: 840, endMinute: 1320 }],
    ]);

    const cleared = await gql<{ updateEmployee: EmployeeView }>(t.url, UPDATE_EMPLOYEE, {
      id: early.id,
      input: { preferences: [] },
    });
    expect(cleared.body.data?.updateEmployee.preferences).toEqual([]);
    expect(await t.database.prisma.employeePreference.count({ where: { employeeId: early.id } })).toBe(0);
  });

  it('validates preference windows like availability, all problems at once, on create and on change', async () => {
    const home = await warehouse();
    const res = await gql(t.url, CREATE_EMPLOYEE, {
      input: {
        name: 'Picky',
        homeWarehouseId: home,
        weeklyLimitMinutes: 10_081,
        availability: [{ weekday: 0, startMinute: 0, endMinute: 60 }],
        preferences: [
          { weekday: 1, startMinute: 0, endMinute: 60 },
          { weekday: 8, startMinute: -1, endMinute: 1441 },
        ],
      },
    });
    expect(fieldKeys(res)).toEqual([
      'input.availability.0.weekday',
      'input.preferences.1.endMinute',
      'input.preferences.1.startMinute',
      'input.preferences.1.weekday',
      'input.weeklyLimitMinutes',
    ]);
    const tooMany = await gql(t.url, CREATE_EMPLOYEE, {
      input: {
        name: 'Picky',
        homeWarehouseId: home,
        weeklyLimitMinutes: 60,
        preferences: Array.from({ length: 51 }, () => ({ weekday: 1, startMinute: 0, endMinute: 60 })),
      },
    });
    expect(fieldKeys(tooMany)).toEqual(['input.preferences']);
    // The rule across fields: both lists at once.
    const reversed = await gql(t.url, CREATE_EMPLOYEE, {
      input: {
        name: 'Reversed',
        homeWarehouseId: home,
        weeklyLimitMinutes: 60,
        availability: [{ weekday: 1, startMinute: 600, endMinute: 500 }],
        preferences: [
          { weekday: 2, startMinute: 0, endMinute: 60 },
          { weekday: 2, startMinute: 600, endMinute: 600 },
        ],
      },
    });
    expect(reversed.body.errors?.[0]?.extensions.fields).toEqual({
      'input.availability.0.endMinute': ['endMinute must be after startMinute'],
      'input.preferences.1.endMinute': ['endMinute must be after startMinute'],
    });
    expect(await t.database.prisma.employee.count({ where: { homeWarehouseId: home } })).toBe(0);

    const employee = await createEmployee({
      name: 'Settled',
      homeWarehouseId: home,
      weeklyLimitMinutes: 600,
      preferences: [{ weekday: 4, startMinute: 0, endMinute: 720 }],
    });
    const change = await gql(t.url, UPDATE_EMPLOYEE, {
      id: employee.id,
      input: { preferences: [{ weekday: 4, startMinute: 720, endMinute: 0 }] },
    });
    expect(fieldKeys(change)).toEqual(['input.preferences.0.endMinute']);
    const read = await gql<{ employee: EmployeeView }>(t.url, EMPLOYEE_BY_ID, { id: employee.id });
    expect(read.body.data?.employee.preferences).toEqual([{ weekday: 4, startMinute: 0, endMinute: 720 }]);
    // The database keeps windows valid by itself too.
    await expect(
      t.database.prisma.employeePreference.create({
        data: { employeeId: employee.id, weekday: 8, startMinute: 0, endMinute: 60 },
      }),
    ).rejects.toThrow();
  });

  it('filters, sorts and paginates', async () => {
    const home = await warehouse();
    const tag = uniqueTag();
    for (const [name, limit, skills] of [
      [`c-${tag}`, 600, ['PACKING']],
      [`a-${tag}`, 1800, ['FORKLIFT', 'PACKING']],
      [`b-${tag}`, 1200, []],
    ] as const) {
      await createEmployee({ name, homeWarehouseId: home, weeklyLimitMinutes: limit, skills: [...skills] });
    }
    const page = async (variables: Record<string, unknown>) => {
      const res = await gql<{ employees: PageView<EmployeeView> }>(t.url, EMPLOYEES, variables);
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      return res.body.data!.employees;
    };
    const byName = await page({ filter: { warehouseId: home }, limit: 2 });
    expect(byName.items.map((e) => e.name)).toEqual([`a-${tag}`, `b-${tag}`]);
    expect(byName.pageInfo).toEqual({ page: 1, limit: 2, totalCount: 3, hasNextPage: true });
    const last = await page({ filter: { warehouseId: home }, limit: 2, page: 2 });
    expect(last.items.map((e) => e.name)).toEqual([`c-${tag}`]);
    expect(last.pageInfo.hasNextPage).toBe(false);
    const byLimit = await page({
      filter: { warehouseId: home },
      orderBy: [{ field: 'WEEKLY_LIMIT', direction: 'DESC' }],
    });
    expect(byLimit.items.map((e) => e.weeklyLimitMinutes)).toEqual([1800, 1200, 600]);
    const packers = await page({ filter: { warehouseId: home, skill: 'PACKING', search: `-${tag.toUpperCase()}` } });
    expect(packers.items.map((e) => e.name)).toEqual([`a-${tag}`, `c-${tag}`]);
    const typed = await op(t.url, EmployeesDocument, { warehouseId: home, search: `b-${tag}` });
    expect(typed.body.data?.employees.items.map((e) => e.name)).toEqual([`b-${tag}`]);
    expect(codeOf(await gql(t.url, EMPLOYEES, { orderBy: [{ field: 'SALARY', direction: 'ASC' }] }))).toBe(
      'VALIDATION_ERROR',
    );
    expect(fieldKeys(await gql(t.url, EMPLOYEES, { limit: 0, filter: { skill: 'no good' } }))).toEqual([
      'filter.skill',
      'limit',
    ]);
  });
});

describe('shifts', () => {
  it('creates, reads, changes and deletes a shift', async () => {
    const home = await warehouse();
    const typed = await op(t.url, CreateShiftDocument, {
      input: { warehouseId: home, startsAt: at(8), endsAt: at(16), requiredSkill: 'FORKLIFT', headcount: 3 },
    });
    expect(typed.body.errors).toBeUndefined();
    const shift = typed.body.data!.createShift;
    expect(shift).toMatchObject({ startsAt: at(8), endsAt: at(16), requiredSkill: 'FORKLIFT', headcount: 3 });
    const changed = await gql<{ updateShift: ShiftView }>(t.url, UPDATE_SHIFT, {
      id: shift.id,
      input: { endsAt: at(14), requiredSkill: null },
    });
    expect(changed.body.errors).toBeUndefined();
    expect(changed.body.data!.updateShift).toMatchObject({
      startsAt: at(8),
      endsAt: at(14),
      requiredSkill: null,
      headcount: 3,
    });
    const read = await gql<{ shift: ShiftView }>(t.url, SHIFT_BY_ID, { id: shift.id });
    expect(read.body.data?.shift).toEqual(changed.body.data!.updateShift);
    expect(read.body.data?.shift.warehouse.id).toBe(home);
    const deleted = await op(t.url, DeleteShiftDocument, { id: shift.id });
    expect(deleted.body.data).toEqual({ deleteShift: true });
    expect((await gql(t.url, SHIFT_BY_ID, { id: shift.id })).body.data).toEqual({ shift: null });
    expect(codeOf(await gql(t.url, DELETE_SHIFT, { id: shift.id }))).toBe('NOT_FOUND');
    expect(codeOf(await gql(t.url, UPDATE_SHIFT, { id: shift.id, input: { headcount: 2 } }))).toBe('NOT_FOUND');
  });

  it('validates times and headcount, on create and on change', async () => {
    const home = await warehouse();
    expect(
      fieldKeys(
        await gql(t.url, CREATE_SHIFT, {
          input: { warehouseId: home, startsAt: at(8.01), endsAt: at(8), headcount: 0, requiredSkill: 'a b' },
        }),
      ),
    ).toEqual(['input.headcount', 'input.requiredSkill']);
    // Field rules first; then the rules across fields.
    expect(
      fieldKeys(
        await gql(t.url, CREATE_SHIFT, {
          input: { warehouseId: home, startsAt: at(8.01), endsAt: at(8), headcount: 1 },
        }),
      ),
    ).toEqual(['input.endsAt', 'input.startsAt']);
    const long = await gql(t.url, CREATE_SHIFT, {
      input: { warehouseId: home, startsAt: at(0), endsAt: at(25), headcount: 1 },
    });
    expect(long.body.errors?.[0]?.extensions.fields).toEqual({ 'input.endsAt': ['a shift lasts at most 24 hours'] });
    const shift = await createShift({ warehouseId: home, startsAt: at(8), endsAt: at(16), headcount: 1 });
    expect(fieldKeys(await gql(t.url, UPDATE_SHIFT, { id: shift.id, input: { startsAt: at(17) } }))).toEqual([
      'input.endsAt',
    ]);
    expect(
      codeOf(
        await gql(t.url, CREATE_SHIFT, {
          input: { warehouseId: crypto.randomUUID(), startsAt: at(8), endsAt: at(9), headcount: 1 },
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(await t.database.prisma.shift.count({ where: { warehouseId: home } })).toBe(1);
  });

  it('filters by warehouse, time range and skill, sorts and paginates', async () => {
    const home = await warehouse();
    for (const [start, skill, headcount] of [
      [30, null, 1],
      [6, 'FORKLIFT', 3],
      [54, 'FORKLIFT', 2],
      [200, null, 1],
    ] as const) {
      await createShift({
        warehouseId: home,
        startsAt: at(start),
        endsAt: at(start + 8),
        requiredSkill: skill,
        headcount,
      });
    }
    const list = async (variables: Record<string, unknown>) => {
      const res = await gql<{ shifts: PageView<ShiftView> }>(t.url, SHIFTS, variables);
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      return res.body.data!.shifts;
    };
    const week = await list({ filter: { warehouseId: home, from: at(0), to: at(168) } });
    expect(week.items.map((s) => s.startsAt)).toEqual([at(6), at(30), at(54)]);
    expect(week.pageInfo.totalCount).toBe(3);
    const forklift = await list({
      filter: { warehouseId: home, requiredSkill: 'FORKLIFT' },
      orderBy: [{ field: 'HEADCOUNT', direction: 'DESC' }],
    });
    expect(forklift.items.map((s) => s.headcount)).toEqual([3, 2]);
    const second = await list({ filter: { warehouseId: home }, limit: 3, page: 2 });
    expect(second.items.map((s) => s.startsAt)).toEqual([at(200)]);
    expect(second.pageInfo).toEqual({ page: 2, limit: 3, totalCount: 4, hasNextPage: false });
    const typed = await op(t.url, WeekShiftsDocument, { warehouseId: home, from: at(0), to: at(24) });
    expect(typed.body.data?.shifts.items.map((s) => s.startsAt)).toEqual([at(6)]);
  });
});

describe('availability in the week', () => {
  it('turns weekly windows into the week, merging windows that touch across midnight', () => {
    const day = 24 * HOUR;
    const windows = weekAvailability(
      [
        { weekday: 1, startMinute: 1320, endMinute: 1440 },
        { weekday: 2, startMinute: 0, endMinute: 360 },
        { weekday: 7, startMinute: 600, endMinute: 720 },
      ],
      WEEK,
    );
    const w = WEEK.getTime();
    expect(windows).toEqual([
      // The Sunday before the week, the week's Monday night into Tuesday, its Sunday.
      { startMs: w - day + 10 * HOUR, endMs: w - day + 12 * HOUR },
      { startMs: w + 22 * HOUR, endMs: w + day + 6 * HOUR },
      { startMs: w + 6 * day + 10 * HOUR, endMs: w + 6 * day + 12 * HOUR },
      // The next Monday night (a shift of Sunday may end then).
      { startMs: w + 7 * day + 22 * HOUR, endMs: w + 8 * day },
    ]);
  });
});

describe('preferred shifts in the week', () => {
  it('prefers the shifts lying entirely inside a window, across midnight too', () => {
    const w = WEEK.getTime();
    const shift = (id: string, fromHour: number, toHour: number) => ({
      id,
      startMs: w + fromHour * HOUR,
      endMs: w + toHour * HOUR,
    });
    const shifts = [
      shift('mon-early', 6, 14),
      shift('mon-late', 14, 22),
      shift('mon-night', 22, 30),
      shift('tue-early', 30, 38),
      shift('sun-night', 6 * 24 + 22, 7 * 24 + 6),
    ];
    const preferred = preferredShiftIds(
      [
        // Monday 06:00-15:00 holds the early shift only (the late one sticks out).
        { weekday: 1, startMinute: 360, endMinute: 900 },
        // Monday 22:00-24:00 and Tuesday 00:00-06:00 touch: the night shift between them is preferred.
        { weekday: 1, startMinute: 1320, endMinute: 1440 },
        { weekday: 2, startMinute: 0, endMinute: 360 },
        // Sunday night into the next Monday's morning: the week's last shift.
        { weekday: 7, startMinute: 1320, endMinute: 1440 },
        { weekday: 1, startMinute: 0, endMinute: 360 },
      ],
      WEEK,
      shifts,
    );
    expect(preferred).toEqual(['mon-early', 'mon-night', 'sun-night']);
    expect(preferredShiftIds([], WEEK, shifts)).toEqual([]);
  });
});

describe('generateSchedule input', () => {
  it('validates the week and the budget, and names an unknown warehouse', async () => {
    const home = await warehouse();
    const tuesday = new Date(WEEK.getTime() + 24 * HOUR).toISOString();
    expect(
      fieldKeys(await gql(t.url, GENERATE, { input: { warehouseId: home, weekStart: tuesday, timeBudgetMs: 10 } })),
    ).toEqual(['input.timeBudgetMs']);
    expect(fieldKeys(await gql(t.url, GENERATE, { input: { warehouseId: home, weekStart: tuesday } }))).toEqual([
      'input.weekStart',
    ]);
    expect(
      fieldKeys(
        await gql(t.url, GENERATE, {
          input: { warehouseId: home, weekStart: WEEK.toISOString(), timeBudgetMs: 30_001 },
        }),
      ),
    ).toEqual(['input.timeBudgetMs']);
    expect(
      codeOf(
        await gql(t.url, GENERATE, { input: { warehouseId: crypto.randomUUID(), weekStart: WEEK.toISOString() } }),
      ),
    ).toBe('NOT_FOUND');
  });
});

/** One document per scheduling root field, with arguments of the right shape. */
function schedulingOperations(ids: {
  warehouseId: string;
  id: string;
}): Record<string, [string, Record<string, unknown>]> {
  const week = WEEK.toISOString();
  return {
    employees: ['{ employees { items { id } } }', {}],
    employee: ['query ($id: UUID!) { employee(id: $id) { id } }', { id: ids.id }],
    createEmployee: [
      CREATE_EMPLOYEE,
      { input: { name: 'N', homeWarehouseId: ids.warehouseId, weeklyLimitMinutes: 60 } },
    ],
    updateEmployee: [UPDATE_EMPLOYEE, { id: ids.id, input: { name: 'N' } }],
    shifts: ['{ shifts { items { id } } }', {}],
    shift: ['query ($id: UUID!) { shift(id: $id) { id } }', { id: ids.id }],
    createShift: [
      CREATE_SHIFT,
      { input: { warehouseId: ids.warehouseId, startsAt: at(1), endsAt: at(2), headcount: 1 } },
    ],
    updateShift: [UPDATE_SHIFT, { id: ids.id, input: { headcount: 1 } }],
    deleteShift: [DELETE_SHIFT, { id: ids.id }],
    generateSchedule: [GENERATE, { input: { warehouseId: ids.warehouseId, weekStart: week } }],
    scheduleJob: ['query ($id: UUID!) { scheduleJob(id: $id) { id } }', { id: ids.id }],
    publishSchedule: ['mutation ($id: UUID!) { publishSchedule(jobId: $id) { id } }', { id: ids.id }],
    schedule: [
      'query ($w: UUID!, $d: DateTime!) { schedule(warehouseId: $w, weekStart: $d) { id } }',
      { w: ids.warehouseId, d: week },
    ],
  };
}

describe('access', () => {
  it('covers every root field that a scheduling permission opens', () => {
    const sdl = readFileSync(join(ROOT, 'schema', 'schema.graphql'), 'utf8');
    const guarded = [...sdl.matchAll(/^ {2}(\w+)(?:\([^)]*\))?: [^\n]*@auth\(anyOf: \[SCHEDULING_\w+\]\)/gms)].map(
      (m) => m[1],
    );
    expect(guarded.sort()).toEqual(Object.keys(schedulingOperations({ warehouseId: '', id: '' })).sort());
  });

  it('refuses every scheduling operation: FORBIDDEN without a scheduling permission, UNAUTHENTICATED anonymously', async () => {
    const home = await warehouse();
    const cataloguer = await createTestUser(t, ['CATALOG_MANAGER']);
    for (const [field, [query, variables]] of Object.entries(
      schedulingOperations({ warehouseId: home, id: crypto.randomUUID() }),
    )) {
      const forbidden = await gql(t.url, query, variables, cataloguer.headers);
      expect(codeOf(forbidden), `${field} as CATALOG_MANAGER`).toBe('FORBIDDEN');
      const anonymous = await gql(t.url, query, variables, { authorization: '' });
      expect(codeOf(anonymous), `${field} anonymously`).toBe('UNAUTHENTICATED');
    }
    expect(await t.database.prisma.employee.count({ where: { homeWarehouseId: home } })).toBe(0);
    expect(await t.database.prisma.schedule.count({ where: { warehouseId: home } })).toBe(0);
  });

  it('lets the WAREHOUSE role read and write schedules', async () => {
    const home = await warehouse();
    const lead = await createTestUser(t, ['WAREHOUSE']);
    const created = await gql(
      t.url,
      CREATE_EMPLOYEE,
      { input: { name: 'Wes', homeWarehouseId: home, weeklyLimitMinutes: 600 } },
      lead.headers,
    );
    expect(created.body.errors).toBeUndefined();
    const listed = await gql<{ employees: PageView<EmployeeView> }>(
      t.url,
      EMPLOYEES,
      { filter: { warehouseId: home } },
      lead.headers,
    );
    expect(listed.body.data?.employees.pageInfo.totalCount).toBe(1);
  });
});

describe('generateSchedule rate limit', () => {
  it('allows 10 solve requests a minute per user; the 11th is RATE_LIMITED (003 SEC-002)', async () => {
    // The real limit (test.env scales field limits up), and no worker: the jobs just wait in the queue.
    const limited = await startTestApp({ FIELD_RATE_LIMIT_SCALE: '1', SCHEDULING_CONCURRENCY: '0' });
    try {
      const week = await seedWeek(limited.database, { shifts: 1 });
      warehouses.push(week.warehouseId);
      const user = await createTestUser(limited, ['WAREHOUSE']);
      const input = { warehouseId: week.warehouseId, weekStart: WEEK.toISOString(), timeBudgetMs: 1_000 };
      for (let i = 1; i <= 10; i += 1) {
        const res = await gql<{ generateSchedule: { status: string } }>(limited.url, GENERATE, { input }, user.headers);
        expect(res.body.errors, `call ${i}`).toBeUndefined();
        expect(res.body.data?.generateSchedule.status).toBe('QUEUED');
      }
      const over = await gql(limited.url, GENERATE, { input }, user.headers);
      expect(over.status).toBe(429);
      expect(over.body.errors?.[0]).toMatchObject({
        path: ['generateSchedule'],
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 60 },
      });
      // Another user has a window of its own.
      const other = await gql(limited.url, GENERATE, { input }, limited.admin);
      expect(other.body.errors).toBeUndefined();
      expect(await limited.app.scheduling.depth()).toEqual({ waiting: 11, active: 0 });
    } finally {
      await limited.app.scheduling.queue.obliterate();
      await limited.close();
    }
  });

  it('declares the limit in the published SDL', () => {
    const sdl = readFileSync(join(ROOT, 'schema/schema.graphql'), 'utf8');
    expect(sdl).toMatch(/generateSchedule\([^)]*\): ScheduleJob! @rateLimit\(window: "1m", max: 10\)/);
  });
});

/**
 * The mixed-integer model of a scheduling problem and its solve with HiGHS (issue 8). Runs inside the
 * solver worker (`solver.worker.ts`); exported so tests can solve in-process.
 *
 * The model goes to HiGHS as sparse arrays (`Model.passModel`), not as LP text: no id, name or other
 * problem string ever reaches HiGHS, so nothing needs escaping. Columns are numbered: column k < pairCount
 * is the binary x[e,s] of the k-th eligible (employee, shift) pair, then the balance columns.
 *
 * Constraints:
 * - headcount: Σ_e x[e,s] ≤ headcount(s), for shifts with more eligible employees than people needed;
 * - conflicts: one employee's conflicting shifts (overlap or too little rest) form an interval graph over
 *   the intervals [start, end + minRest), so instead of one row per conflicting pair there is one row
 *   Σ x ≤ 1 per maximal clique (the shifts running at one point of a sweep over the sorted starts): at
 *   most one row per eligible shift, and these rows have consecutive ones, so the conflict part of the
 *   LP relaxation is already integral;
 * - weekly limit: Σ_s d(s)·x[e,s] ≤ limit(e), durations in units of their greatest common divisor
 *   (whole coefficients, exact), only for employees whose eligible shifts could exceed the limit;
 * - load: Σ_s d(s)·x[e,s] = Σ_k z[e,k] for every employee who can work at all, d in balance units,
 *   0 ≤ z[e,k] ≤ 1 continuous: z[e,k] is the k-th unit of e's load.
 *
 * Objective, lexicographic as one weighted minimisation of shortfalls (all terms ≥ 0):
 *   W1·(fillable slots − filled) + W2·B + W3·(eligible preferred pairs − preferences honoured)
 * where B = Σ_e Σ_k k·z[e,k] is the balance term: the k-th unit of anyone's load costs k, so B is
 * Σ_e L(L+1)/2 for whole loads L, convex, and the LP fills each employee's cheapest units first without
 * needing integrality on z. W3 = 1, W2 = P + 1 (P = eligible preferred pairs, the most the preference
 * term can move) and W1 = W2·Bmax + P + 1 (Bmax = B with everyone at their largest possible load), so one
 * filled slot outweighs any change of balance and preferences together, and one unit of B outweighs all
 * preferences.
 *
 * Why this balance term and not max − min load (what `ScheduleQuality.hourSpreadMinutes` reports): we
 * measured both with this HiGHS build. Minimising Lmax − Lmin has an LP relaxation that spreads
 * fractional shifts until every load is equal, so its bound is 0 while whole schedules rarely get there;
 * HiGHS then needs thousands of cuts to close the gap: 2.6–14 s and 0.27–1.75 GB of WebAssembly heap on
 * three 70 × 200 instances with spare staff, against 0.3–1.7 s and at most 35 MB for B, with the same
 * spread and the same preferences honoured on those instances. The relation to the reported spread: for a fixed total
 * load B is smallest when loads are as equal as possible, and at an optimum no single shift can be moved
 * from an employee with load a to one with load b when a − b > d (the shift's length, all in units):
 * such a move lowers B by d·(a − b − d) and keeps coverage. It does not always minimise max − min itself
 * (an employee who can only take one shift keeps the minimum low whatever the others do). When shifts
 * differ in length, B also prefers less total load among schedules filling the same number of slots.
 * Balance units are the gcd of the durations unless an employee could then carry more than
 * MAX_BALANCE_UNITS of them; the unit is then coarsened and B is approximate (fractional loads), which
 * only affects the second objective.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Highs, HighsCallbackMap, InitOptions } from 'highs';
import { eligibleEmployeesByShift, minRestMs, MS_PER_MINUTE, shiftDurationMs } from './constraints.js';
import type { Assignment, SchedulingProblem } from './problem.js';

/** Most balance units (z columns) one employee's load may span before the unit is coarsened (see the header). */
const MAX_BALANCE_UNITS = 48;

export interface ScheduleModel {
  /** Employee index of column k (k < pairCount). */
  pairEmployee: Int32Array;
  /** Shift index of column k (k < pairCount). */
  pairShift: Int32Array;
  pairCount: number;
  /**
   * The load columns z[e,1..count] of every employee who can work at all, at columns first..first+count-1;
   * empty when fewer than two employees can work (no balance to optimise).
   */
  loadColumns: { employee: number; first: number; count: number }[];
  numCols: number;
  numRows: number;
  colCost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  integrality: Int32Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  /** Row-wise (CSR) constraint matrix. */
  starts: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** Makes the objective value exactly the weighted shortfall described in the header. */
  offset: number;
  weights: { filledSlot: number; balanceUnit: number; preference: number };
  /** Milliseconds per balance unit (the load columns count units of this length). */
  balanceUnitMs: number;
}

/** Greatest common divisor of positive whole numbers. */
function gcd(a: number, b: number): number {
  while (b > 0) [a, b] = [b, a % b];
  return a;
}

/** Builds the model described in the header. Pure JavaScript; needs no HiGHS. */
export function buildScheduleModel(problem: SchedulingProblem): ScheduleModel {
  const { employees, shifts } = problem;
  const restMs = minRestMs(problem);
  const eligible = eligibleEmployeesByShift(problem);

  // Columns: pairs grouped by employee, each employee's shifts sorted by start (the sweep below needs it).
  const shiftsOf: number[][] = employees.map(() => []);
  eligible.forEach((list, s) => list.forEach((e) => shiftsOf[e]!.push(s)));
  for (const list of shiftsOf) list.sort((a, b) => shifts[a]!.startMs - shifts[b]!.startMs || a - b);
  const pairCount = shiftsOf.reduce((n, list) => n + list.length, 0);
  const pairEmployee = new Int32Array(pairCount);
  const pairShift = new Int32Array(pairCount);
  const columnOf: Map<number, number>[] = employees.map(() => new Map());
  let k = 0;
  shiftsOf.forEach((list, e) => {
    for (const s of list) {
      pairEmployee[k] = e;
      pairShift[k] = s;
      columnOf[e]!.set(s, k);
      k += 1;
    }
  });

  let durationUnitMs = 0;
  for (let c = 0; c < pairCount; c++) durationUnitMs = gcd(durationUnitMs, shiftDurationMs(shifts[pairShift[c]!]!));
  durationUnitMs ||= 1;

  const active = shiftsOf.map((list, e) => (list.length > 0 ? e : -1)).filter((e) => e >= 0);
  const maxLoadMs = active.map((e) =>
    Math.min(
      employees[e]!.weeklyLimitMinutes * MS_PER_MINUTE,
      shiftsOf[e]!.reduce((sum, s) => sum + shiftDurationMs(shifts[s]!), 0),
    ),
  );
  const balanceUnitMs = Math.max(durationUnitMs, Math.max(0, ...maxLoadMs) / MAX_BALANCE_UNITS);
  const balanced = active.length >= 2;
  const unitCounts = balanced ? maxLoadMs.map((ms) => Math.ceil(ms / balanceUnitMs - 1e-9)) : [];

  const preferred = employees.map((employee) => new Set(employee.preferredShiftIds));
  let preferencePairs = 0;
  for (let c = 0; c < pairCount; c++) {
    if (preferred[pairEmployee[c]!]!.has(shifts[pairShift[c]!]!.id)) preferencePairs += 1;
  }
  const preference = 1;
  const balanceUnit = balanced ? preferencePairs + 1 : 0;
  const maxBalance = unitCounts.reduce((sum, k) => sum + (k * (k + 1)) / 2, 0);
  const filledSlot = balanceUnit * maxBalance + preferencePairs + 1;

  const loadColumns: ScheduleModel['loadColumns'] = [];
  let numCols = pairCount;
  unitCounts.forEach((count, i) => {
    loadColumns.push({ employee: active[i]!, first: numCols, count });
    numCols += count;
  });
  const colCost = new Float64Array(numCols);
  const colLower = new Float64Array(numCols);
  const colUpper = new Float64Array(numCols).fill(1);
  const integrality = new Int32Array(numCols);
  for (let c = 0; c < pairCount; c++) {
    const isPreferred = preferred[pairEmployee[c]!]!.has(shifts[pairShift[c]!]!.id);
    colCost[c] = -filledSlot - (isPreferred ? preference : 0);
    integrality[c] = 1;
  }
  for (const { first, count } of loadColumns) {
    for (let k = 1; k <= count; k++) colCost[first + k - 1] = balanceUnit * k;
  }
  let fillableSlots = 0;
  shifts.forEach((shift, s) => (fillableSlots += Math.min(shift.headcount, eligible[s]!.length)));
  const offset = filledSlot * fillableSlots + preference * preferencePairs;

  const rowLower: number[] = [];
  const rowUpper: number[] = [];
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const addRow = (lower: number, upper: number, columns: readonly number[], coefficients?: readonly number[]) => {
    rowLower.push(lower);
    rowUpper.push(upper);
    for (let i = 0; i < columns.length; i++) {
      indices.push(columns[i]!);
      values.push(coefficients ? coefficients[i]! : 1);
    }
    starts.push(indices.length);
  };

  shifts.forEach((shift, s) => {
    if (eligible[s]!.length <= shift.headcount) return;
    addRow(
      -Infinity,
      shift.headcount,
      eligible[s]!.map((e) => columnOf[e]!.get(s)!),
    );
  });

  shiftsOf.forEach((list, e) => {
    const columns = columnOf[e]!;
    // Maximal cliques of the interval graph: sweeping the sorted starts, the shifts still "running"
    // (end + rest after this start) all contain the previous start point; that set is a maximal clique
    // when the next start removes one of them right after an addition.
    let running: number[] = [];
    let grew = false;
    const emit = () => {
      if (grew && running.length >= 2)
        addRow(
          -Infinity,
          1,
          running.map((s) => columns.get(s)!),
        );
    };
    for (const s of list) {
      const start = shifts[s]!.startMs;
      const still = running.filter((r) => shifts[r]!.endMs + restMs > start);
      if (still.length < running.length) {
        emit();
        grew = false;
      }
      running = still;
      running.push(s);
      grew = true;
    }
    emit();

    const limitMs = employees[e]!.weeklyLimitMinutes * MS_PER_MINUTE;
    const totalMs = list.reduce((sum, s) => sum + shiftDurationMs(shifts[s]!), 0);
    if (totalMs > limitMs) {
      addRow(
        -Infinity,
        Math.floor(limitMs / durationUnitMs),
        list.map((s) => columns.get(s)!),
        list.map((s) => shiftDurationMs(shifts[s]!) / durationUnitMs),
      );
    }
  });

  for (const { employee: e, first, count } of loadColumns) {
    const list = shiftsOf[e]!;
    const units = Array.from({ length: count }, (_, k) => first + k);
    addRow(
      0,
      0,
      [...list.map((s) => columnOf[e]!.get(s)!), ...units],
      [...list.map((s) => shiftDurationMs(shifts[s]!) / balanceUnitMs), ...units.map(() => -1)],
    );
  }

  return {
    pairEmployee,
    pairShift,
    pairCount,
    loadColumns,
    numCols,
    numRows: rowLower.length,
    colCost,
    colLower,
    colUpper,
    integrality,
    rowLower: Float64Array.from(rowLower),
    rowUpper: Float64Array.from(rowUpper),
    starts: Int32Array.from(starts),
    indices: Int32Array.from(indices),
    values: Float64Array.from(values),
    offset,
    weights: { filledSlot, balanceUnit, preference },
    balanceUnitMs,
  };
}

/**
 * A rough estimate of the WebAssembly heap HiGHS needs just to hold and presolve the model: the runtime's
 * initial 21 MiB plus a share per nonzero, row and column, fitted below the peaks measured on generated
 * instances (50 × 200: 20 MiB, 100 × 400: 105 MiB, 200 × 800: 126 MiB). A solve can need more (search
 * trees, cut pools); the watchdog in `solveMilp` catches that. The estimate only refuses, up front, a
 * model that could not even be loaded under the cap.
 */
export function estimateModelMemoryBytes(model: ScheduleModel): number {
  return 24 * 2 ** 20 + 400 * model.indices.length + 800 * (model.numRows + model.numCols);
}

/** The dense start vector (all columns) of a schedule, for `Model.setSolution`. */
export function columnsOfSchedule(
  problem: SchedulingProblem,
  model: ScheduleModel,
  assignments: readonly Assignment[],
): Float64Array {
  const wanted = new Set(assignments.map((a) => JSON.stringify([a.employeeId, a.shiftId])));
  const values = new Float64Array(model.numCols);
  const load = new Float64Array(problem.employees.length);
  for (let c = 0; c < model.pairCount; c++) {
    const e = model.pairEmployee[c]!;
    const shift = problem.shifts[model.pairShift[c]!]!;
    if (!wanted.has(JSON.stringify([problem.employees[e]!.id, shift.id]))) continue;
    values[c] = 1;
    load[e]! += shiftDurationMs(shift) / model.balanceUnitMs;
  }
  // The cheapest units first, as the LP would: z[e,k] = the part of the load beyond k − 1 units.
  for (const { employee, first, count } of model.loadColumns) {
    for (let k = 0; k < count; k++) values[first + k] = Math.min(1, Math.max(0, load[employee]! - k));
  }
  return values;
}

/**
 * A schedule as index pairs, compact enough to post from the worker at every incumbent:
 * [shift index, employee index, shift index, employee index, …] into the problem's lists.
 */
export type SchedulePairs = Int32Array;

export function assignmentsOfPairs(problem: SchedulingProblem, pairs: SchedulePairs): Assignment[] {
  const assignments: Assignment[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    assignments.push({ shiftId: problem.shifts[pairs[i]!]!.id, employeeId: problem.employees[pairs[i + 1]!]!.id });
  }
  return assignments;
}

/** The pairs a solution vector (all columns) assigns. */
function pairsOfColumns(model: ScheduleModel, colValue: ArrayLike<number>): SchedulePairs {
  const pairs: number[] = [];
  for (let c = 0; c < model.pairCount; c++) {
    if (colValue[c]! > 0.5) pairs.push(model.pairShift[c]!, model.pairEmployee[c]!);
  }
  return Int32Array.from(pairs);
}

export interface MilpOptions {
  /**
   * Epoch ms (`Date.now()`) by which HiGHS should stop. Its `time_limit` is set from it right before the
   * solve starts (building and loading the model count against it); HiGHS checks it between steps, so a
   * large model can overrun it by a presolve or LP step.
   */
  deadlineEpochMs: number;
  /** HiGHS `mip_rel_gap`. */
  mipRelGap: number;
  /**
   * Cap on HiGHS's WebAssembly heap, in bytes: the model is refused when its estimate is over it, and the
   * solve is interrupted as soon as the heap grows past it (checked at every MIP progress callback).
   */
  memoryCapBytes: number;
  /** A valid schedule to start from (HiGHS's first incumbent). */
  warmStart?: readonly Assignment[];
  /**
   * Called, during the solve, with every improving schedule HiGHS finds (an accepted warm start first)
   * and the gap at that point (null while HiGHS has no finite bound).
   */
  onIncumbent?: (pairs: SchedulePairs, gap: number | null) => void;
}

export type MilpOutcome =
  | {
      kind: 'solved';
      /** HiGHS proved optimality within its gap tolerances. */
      optimal: boolean;
      assignments: Assignment[];
      /** Relative gap between the incumbent and the best bound, when HiGHS reported a finite one. */
      gap: number | null;
      objective: number;
      /** Why HiGHS stopped, as its status code name (for logs). */
      status: string;
    }
  | {
      kind: 'failed';
      reason: 'timeout' | 'memory_limit' | 'infeasible_model' | 'solver_error';
      detail: string;
    };

/**
 * A compiled `highs.wasm` (a `WebAssembly.Module`), named through highs' own typing: the TypeScript libs
 * of the build (ES2023, no DOM) do not declare the WebAssembly namespace.
 */
export type CompiledHighs = NonNullable<InitOptions['wasmModule']>;

/** Loads the HiGHS runtime; pass a compiled module to skip reading and compiling `highs.wasm`. */
export async function loadHighsRuntime(compiled?: CompiledHighs): Promise<Highs> {
  // highs is a CommonJS package whose loader is `module.exports`; require keeps its typing exact.
  const require = createRequire(import.meta.url);
  const loadHighs = require('highs') as (options?: InitOptions) => Promise<Highs>;
  return loadHighs(compiled ? { wasmModule: compiled } : {});
}

/** Reads and compiles `highs.wasm` (asynchronously, off the main thread's critical path). */
export async function compileHighs(): Promise<CompiledHighs> {
  const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledHighs> } })
    .WebAssembly;
  return wasm.compile(await readFile(createRequire(import.meta.url).resolve('highs/runtime')));
}

/** Solves the problem's model with HiGHS, synchronously (this blocks its thread: call it in a worker). */
export function solveMilp(highs: Highs, problem: SchedulingProblem, options: MilpOptions): MilpOutcome {
  const model = buildScheduleModel(problem);
  if (model.pairCount === 0) {
    return { kind: 'solved', optimal: true, assignments: [], gap: 0, objective: model.offset, status: 'empty' };
  }
  const estimate = estimateModelMemoryBytes(model);
  if (estimate > options.memoryCapBytes) {
    return {
      kind: 'failed',
      reason: 'memory_limit',
      detail: `the model (${model.numCols} columns, ${model.numRows} rows, ${model.indices.length} nonzeros) needs an estimated ${Math.ceil(estimate / 2 ** 20)} MiB, over the cap of ${Math.floor(options.memoryCapBytes / 2 ** 20)} MiB`,
    };
  }

  const solver = highs.createModel({
    numCols: model.numCols,
    numRows: model.numRows,
    sense: highs.constants.objectiveSense.minimize,
    offset: model.offset,
    colCost: model.colCost,
    colLower: model.colLower,
    colUpper: model.colUpper,
    rowLower: model.rowLower.map((v) => (v === -Infinity ? -highs.infinity : v)),
    rowUpper: model.rowUpper.map((v) => (v === Infinity ? highs.infinity : v)),
    integrality: model.integrality,
    matrix: {
      format: 'csr',
      numRows: model.numRows,
      numCols: model.numCols,
      starts: model.starts,
      indices: model.indices,
      values: model.values,
    },
  });
  try {
    solver.options.set({
      output_flag: false,
      mip_rel_gap: options.mipRelGap,
      // With whole balance units every schedule's objective is a whole number (whole weights, whole loads
      // fill whole z units), so a gap under 1 means no better schedule exists at all.
      mip_abs_gap: 0.999,
    });
    if (options.warmStart) solver.setSolution({ colValue: columnsOfSchedule(problem, model, options.warmStart) });

    let overMemory = false;
    const watchMemory = (event: { interrupt(): void }) => {
      if (highs.memoryBytes > options.memoryCapBytes) {
        overMemory = true;
        event.interrupt();
      }
      return undefined;
    };
    const { onIncumbent } = options;
    const callbacks: HighsCallbackMap = {
      [highs.constants.callbackType.mipInterrupt]: watchMemory,
      [highs.constants.callbackType.simplexInterrupt]: watchMemory,
      ...(onIncumbent && {
        [highs.constants.callbackType.mipImprovingSolution]: (event) => {
          const solution = event.data.mip_solution;
          // The vector covers the original model's columns; anything else is not ours to read.
          if (solution?.length === model.numCols) {
            const gap = event.data.mip_gap;
            onIncumbent(pairsOfColumns(model, solution), gap !== undefined && Number.isFinite(gap) ? gap : null);
          }
          return undefined;
        },
      }),
    };
    const seconds = (options.deadlineEpochMs - Date.now()) / 1_000;
    if (seconds <= 0) {
      return { kind: 'failed', reason: 'timeout', detail: 'no time left for HiGHS once the model was built' };
    }
    solver.options.set('time_limit', seconds);
    const { modelStatus } = solver.run(callbacks);
    const status = statusName(highs, modelStatus);
    const hasSolution = Number(solver.info.get('primal_solution_status')) === highs.constants.solutionStatus.feasible;

    if (modelStatus === highs.constants.modelStatus.infeasible) {
      return { kind: 'failed', reason: 'infeasible_model', detail: 'HiGHS reports the model infeasible' };
    }
    if (!hasSolution) {
      if (overMemory) {
        return { kind: 'failed', reason: 'memory_limit', detail: `HiGHS's heap grew past the cap (${status})` };
      }
      if (modelStatus === highs.constants.modelStatus.timeLimit) {
        return { kind: 'failed', reason: 'timeout', detail: 'HiGHS reached its time limit without a schedule' };
      }
      return { kind: 'failed', reason: 'solver_error', detail: `HiGHS stopped without a schedule (${status})` };
    }
    const assignments = assignmentsOfPairs(problem, pairsOfColumns(model, solver.getSolution().colValue));
    const gap = Number(solver.info.get('mip_gap'));
    return {
      kind: 'solved',
      optimal: modelStatus === highs.constants.modelStatus.optimal,
      assignments,
      gap: Number.isFinite(gap) ? gap : null,
      objective: solver.getObjectiveValue(),
      status,
    };
  } finally {
    solver.dispose();
  }
}

function statusName(highs: Highs, code: number): string {
  for (const [name, value] of Object.entries(highs.constants.modelStatus)) if (value === code) return name;
  return `status ${code}`;
}

/**
 * `solveSchedule` (issue 8): HiGHS in a worker thread within a wall-clock budget, the greedy heuristic
 * whenever HiGHS cannot deliver, and never a schedule that breaks a hard constraint.
 *
 * Budget, in order: the worker is started (a fresh one per solve, ~0.2–0.3 s with HiGHS loaded), it
 * builds the model and starts HiGHS from the greedy schedule with a `time_limit` ending a little before
 * the cut-off, the point where the parent gives up on it; after the cut-off the parent keeps a reserve
 * for the heuristic and the checks. A worker that has not answered by the cut-off is terminated, and the
 * last incumbent HiGHS posted (if any) is the answer ('feasible'), else the heuristic's ('timeout').
 *
 * Memory: `memoryLimitMb` bounds two things, separately. (1) The worker's V8 heap, through
 * `resourceLimits.maxOldGenerationSizeMb` (plus a young generation of at most a quarter of it; a
 * process started with `--max-semi-space-size`, as the image is, gives every worker that size instead): the
 * problem's copy, the model built in JavaScript and the result. Exceeding it kills the worker with
 * ERR_WORKER_OUT_OF_MEMORY (`fallbackReason: 'out_of_memory'`). (2) HiGHS's WebAssembly linear memory,
 * which V8's limits do not count at all (it is an ArrayBuffer outside the heap, growable up to the 2 GiB
 * this build allows): the model is refused up front when its estimated need is over the limit, and the
 * solve is interrupted as soon as the Wasm memory grows past it, checked at every MIP and simplex
 * progress callback (`fallbackReason: 'memory_limit'` when that leaves no schedule). So a solve's worker
 * can hold up to about twice `memoryLimitMb` (heap + Wasm) plus Node's per-thread overhead (~10 MB), and
 * the Wasm part can overshoot by one growth step between two callbacks.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkSchedule, measureQuality, validateProblem } from './constraints.js';
import { solveGreedy } from './heuristic.js';
import { assignmentsOfPairs, compileHighs, type CompiledHighs, type MilpOutcome, type SchedulePairs } from './milp.js';
import type { Assignment, SchedulingProblem, SchedulingResult, SolveOptions } from './problem.js';
import type { SolverWorkerData, SolverWorkerMessage } from './solver.worker.js';

export const DEFAULT_TIME_BUDGET_MS = 10_000;
export const MAX_TIME_BUDGET_MS = 30_000;
export const DEFAULT_MEMORY_LIMIT_MB = 2_048;
/**
 * HiGHS's relative gap. 0: the objective is a whole number (see milp.ts), and with `mip_abs_gap` < 1 a
 * solve that ends "optimal" really is lexicographically optimal; a relative gap would let a large
 * coverage term hide lost preferences and balance. Measured fast enough on 50 × 200 weeks
 * (`npm run bench:scheduling`); the time budget bounds the rest.
 */
const MIP_REL_GAP = 0;

/** Why a solve fell back to the heuristic (`SchedulingResult.fallbackReason`). */
export type FallbackReason =
  | 'timeout'
  | 'out_of_memory'
  | 'memory_limit'
  | 'worker_crashed'
  | 'solver_error'
  | 'infeasible_model'
  | 'invalid_solution';

export interface SolveExtras {
  /** Aborting terminates the worker and rejects with the signal's reason; no schedule is returned. */
  signal?: AbortSignal;
}

/** Fills in the defaults, clamps the budget to its maximum, and refuses values that make no sense. */
export function resolveSolveOptions(options: Partial<SolveOptions> = {}): SolveOptions {
  const timeBudgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const memoryLimitMb = options.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;
  if (typeof timeBudgetMs !== 'number' || !(timeBudgetMs > 0)) {
    throw new RangeError(`timeBudgetMs must be a positive number of milliseconds, got ${String(timeBudgetMs)}`);
  }
  if (typeof memoryLimitMb !== 'number' || !(memoryLimitMb > 0) || !Number.isFinite(memoryLimitMb)) {
    throw new RangeError(`memoryLimitMb must be a positive, finite number of MiB, got ${String(memoryLimitMb)}`);
  }
  return { timeBudgetMs: Math.min(timeBudgetMs, MAX_TIME_BUDGET_MS), memoryLimitMb };
}

/**
 * Time kept after the worker's cut-off for the heuristic and the checks: a tenth of the budget (at most a
 * second), but at least what the greedy needs at this size (measured: 0.2–0.5 µs per employee × shift
 * pair warm, several times that in a cold process on a busy machine, so 2 µs, plus 50 ms), and never more
 * than half the budget.
 */
function heuristicReserveMs(budgetMs: number, problem: SchedulingProblem): number {
  const greedyMs = 50 + (problem.employees.length * problem.shifts.length) / 500;
  return Math.min(budgetMs / 2, Math.max(Math.min(budgetMs * 0.1, 1_000), greedyMs));
}

/**
 * Time between HiGHS's own time limit and the parent's cut-off, for HiGHS to notice it (it checks between
 * steps: we measured overruns of 0.1–1 s on models of 15,000 to 56,000 columns), postsolve, and post its
 * answer. When HiGHS overruns anyway, the parent takes the last incumbent it posted.
 */
function answerGraceMs(budgetMs: number): number {
  return Math.min(750, Math.max(20, budgetMs * 0.075));
}

/**
 * `highs.wasm`, compiled once per process on first use and then handed to every worker, which saves each
 * of them reading and compiling 3.5 MB. Created lazily: nothing happens at import.
 */
let compiledHighs: Promise<CompiledHighs> | undefined;
function compiledHighsOnce(): Promise<CompiledHighs> {
  compiledHighs ??= compileHighs();
  compiledHighs.catch(() => (compiledHighs = undefined));
  return compiledHighs;
}

/**
 * Where the worker's entry is and how to start it. Next to this file, with this file's own extension:
 * `.js` when running the compiled build (`dist/`, plain node), `.ts` when running the sources (vitest,
 * tsx), where the worker thread, which shares no module loader with its parent, needs tsx registered
 * itself (unless the parent's own Node options already do that, as under the tsx CLI, and are inherited).
 */
function workerEntry(): { url: URL; execArgv: string[] | undefined } {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const url = new URL(`./solver.worker${extension}`, import.meta.url);
  if (extension === '.js' || process.execArgv.some((arg) => arg.includes('tsx'))) return { url, execArgv: undefined };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { url, execArgv: [...process.execArgv, '--import', tsx] };
}

/** HiGHS's best schedule so far, as the worker last posted it. */
interface Incumbent {
  pairs: SchedulePairs;
  gap: number | null;
}

type WorkerRun =
  | { kind: 'outcome'; outcome: MilpOutcome }
  | { kind: 'failed'; reason: FallbackReason; detail: string; incumbent: Incumbent | null };

/**
 * Runs one solve in a fresh worker; settles by `cutoffAt` (performance.now()) at the latest, with the last
 * incumbent HiGHS posted when it is cut off.
 */
function runWorker(
  data: SolverWorkerData,
  memoryLimitMb: number,
  cutoffAt: number,
  signal: AbortSignal | undefined,
): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const { url, execArgv } = workerEntry();
    let worker: Worker;
    try {
      worker = new Worker(url, {
        workerData: data,
        execArgv,
        resourceLimits: {
          maxOldGenerationSizeMb: memoryLimitMb,
          maxYoungGenerationSizeMb: Math.max(1, Math.min(64, memoryLimitMb / 4)),
        },
        stdout: false,
        stderr: false,
      });
    } catch (error) {
      const detail = `could not start the worker: ${String(error)}`;
      resolve({ kind: 'failed', reason: 'worker_crashed', detail, incumbent: null });
      return;
    }
    let incumbent: Incumbent | null = null;
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Whatever the outcome, the thread and its Wasm memory go now.
      worker.terminate().catch(() => undefined);
      settle();
    };
    const onAbort = () => finish(() => reject(signal?.reason));
    const fail = (reason: FallbackReason, detail: string) =>
      finish(() => resolve({ kind: 'failed', reason, detail, incumbent }));
    const timer = setTimeout(
      () => fail('timeout', 'the solver worker did not answer within the budget'),
      Math.max(0, cutoffAt - performance.now()),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: SolverWorkerMessage) => {
      if (message.kind === 'incumbent') incumbent = { pairs: message.pairs, gap: message.gap };
      else if (message.kind === 'outcome') finish(() => resolve(message));
      else fail('solver_error', `HiGHS failed: ${message.message}`);
    });
    worker.on('error', (error: Error & { code?: string }) =>
      error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? fail('out_of_memory', error.message)
        : fail('worker_crashed', `${error.name}: ${error.message}`),
    );
    worker.on('exit', (code) => fail('worker_crashed', `the worker exited (code ${code}) without an answer`));
  });
}

/**
 * Solves a scheduling problem within `timeBudgetMs` (fallback included): HiGHS's optimum ('optimal'), its
 * best schedule when the time ran out ('feasible', with the gap), or the greedy heuristic's
 * ('heuristic', with the reason). Every returned schedule has passed `checkSchedule`. The budget holds
 * unless the process is starved of CPU: the heuristic always gets its reserve (a fraction of the budget,
 * or what it needs for the problem's size), even when the cut-off fires late.
 *
 * @throws RangeError for invalid options or an invalid problem (`validateProblem`).
 * @throws the signal's reason when `extras.signal` aborts first.
 */
export async function solveSchedule(
  problem: SchedulingProblem,
  options: Partial<SolveOptions> = {},
  extras: SolveExtras = {},
): Promise<SchedulingResult> {
  const started = performance.now();
  const { timeBudgetMs, memoryLimitMb } = resolveSolveOptions(options);
  const problemErrors = validateProblem(problem);
  if (problemErrors.length > 0) throw new RangeError(`invalid scheduling problem: ${problemErrors.join('; ')}`);
  extras.signal?.throwIfAborted();

  const deadline = started + timeBudgetMs;
  const finish = (
    method: SchedulingResult['method'],
    assignments: Assignment[],
    gap: number | null,
    fallbackReason: FallbackReason | null,
  ): SchedulingResult => ({
    method,
    assignments,
    quality: measureQuality(problem, assignments),
    gap,
    fallbackReason,
    durationMs: performance.now() - started,
  });
  const reserveMs = heuristicReserveMs(timeBudgetMs, problem);
  const cutoffAt = deadline - reserveMs;
  const fallback = (reason: FallbackReason): SchedulingResult => {
    // The greedy gets at least its reserve even when the cut-off came late (a process starved of CPU
    // fires its timers late): a schedule a little after the deadline beats an empty one at it, which
    // would be cached as this problem's answer.
    const { assignments } = solveGreedy(problem, { deadline: Math.max(deadline, performance.now() + reserveMs) });
    // The greedy only ever adds a pair that keeps every constraint; checked all the same, since returning
    // an invalid schedule is the one thing this function must never do.
    const violations = checkSchedule(problem, assignments);
    if (violations.length > 0) throw new Error(`the greedy heuristic broke a constraint: ${violations.join('; ')}`);
    return finish('heuristic', assignments, null, reason);
  };

  let wasmModule: CompiledHighs;
  try {
    wasmModule = await compiledHighsOnce();
  } catch {
    return fallback('solver_error');
  }
  extras.signal?.throwIfAborted();
  const solverDeadlineEpochMs = Date.now() + (cutoffAt - answerGraceMs(timeBudgetMs) - performance.now());
  const run = await runWorker(
    { problem, wasmModule, solverDeadlineEpochMs, mipRelGap: MIP_REL_GAP, memoryCapBytes: memoryLimitMb * 2 ** 20 },
    memoryLimitMb,
    cutoffAt,
    extras.signal,
  );
  if (run.kind === 'failed') {
    // Cut off at the end of the budget, HiGHS's incumbent is the answer of a solve stopped by its time
    // limit; after a crash or running out of memory, only the heuristic is trusted.
    if (run.reason === 'timeout' && run.incumbent) {
      const assignments = assignmentsOfPairs(problem, run.incumbent.pairs);
      if (checkSchedule(problem, assignments).length === 0)
        return finish('feasible', assignments, run.incumbent.gap, null);
    }
    return fallback(run.reason);
  }
  const { outcome } = run;
  if (outcome.kind === 'failed') return fallback(outcome.reason);
  if (checkSchedule(problem, outcome.assignments).length > 0) return fallback('invalid_solution');
  return finish(outcome.optimal ? 'optimal' : 'feasible', outcome.assignments, outcome.gap, null);
}

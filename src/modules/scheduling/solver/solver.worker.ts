/**
 * The solver worker (issue 8): one `worker_threads` Worker per solve, started by `solveSchedule`, so that
 * HiGHS's synchronous, CPU-bound solve never runs on the event loop, and so that a solve that exhausts its
 * memory takes down only its own thread (and gives all of its WebAssembly memory back when it ends: the
 * linear memory of a Wasm instance never shrinks while it lives).
 *
 * Protocol: `workerData` is a `SolverWorkerData`; the worker posts an `incumbent` message for every
 * improving schedule HiGHS finds (so that the parent still has HiGHS's best if it must cut the worker off
 * at the end of the budget), then exactly one `outcome` or `error` message, and ends. Anything else (an
 * uncaught error, running out of heap, being terminated) is the parent's to classify.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { solveGreedy } from './heuristic.js';
import { loadHighsRuntime, solveMilp, type CompiledHighs, type MilpOutcome, type SchedulePairs } from './milp.js';
import type { SchedulingProblem } from './problem.js';

export interface SolverWorkerData {
  problem: SchedulingProblem;
  /** `highs.wasm` compiled once by the parent (cloning a compiled module shares its code, no recompiling). */
  wasmModule: CompiledHighs | null;
  /** Epoch ms (`Date.now()`) by which HiGHS must have stopped; the clock both threads share. */
  solverDeadlineEpochMs: number;
  mipRelGap: number;
  /** Cap on HiGHS's WebAssembly heap (see `MilpOptions.memoryCapBytes`). */
  memoryCapBytes: number;
}

export type SolverWorkerMessage =
  | { kind: 'incumbent'; pairs: SchedulePairs; gap: number | null }
  | { kind: 'outcome'; outcome: MilpOutcome }
  | { kind: 'error'; message: string };

async function run(port: NonNullable<typeof parentPort>, data: SolverWorkerData): Promise<void> {
  let message: SolverWorkerMessage;
  try {
    const highs = await loadHighsRuntime(data.wasmModule ?? undefined);
    // The greedy schedule is HiGHS's first incumbent: from then on, running out of time still yields a
    // schedule at least as good as the fallback's.
    const warmStart = solveGreedy(data.problem, { deadline: performance.now() + 1_000 }).assignments;
    const outcome = solveMilp(highs, data.problem, {
      deadlineEpochMs: data.solverDeadlineEpochMs,
      mipRelGap: data.mipRelGap,
      memoryCapBytes: data.memoryCapBytes,
      warmStart,
      onIncumbent: (pairs, gap) => {
        const incumbent: SolverWorkerMessage = { kind: 'incumbent', pairs, gap };
        port.postMessage(incumbent, [pairs.buffer as ArrayBuffer]);
      },
    });
    message = { kind: 'outcome', outcome };
  } catch (error) {
    message = { kind: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  port.postMessage(message);
}

// This file is only ever a worker's entry point; imported anywhere else (e.g. for its types) it does nothing.
if (parentPort) void run(parentPort, workerData as SolverWorkerData);

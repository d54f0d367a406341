// Child-process side of the benchmark: what one server process spends over a measured window, and the
// IPC protocol the harness (load/bench.ts) drives it with.
//
//   parent → child  { type: 'begin' }   start a window (after the warm-up)
//   child  → parent { type: 'begun' }
//   parent → child  { type: 'end' }     close it (after the measured run)
//   child  → parent { type: 'window', window: CapacityWindow }
//   parent → child  { type: 'stop' }    shut down and exit
//   child  → parent { type: 'ready', url } once listening; { type: 'failed', message } if it could not start
//
// Every figure is measured in the server process itself, never estimated from the load generator.
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

/** What a server process spent while the harness measured it. Totals: the harness divides by `requests`. */
export interface CapacityWindow {
  /** HTTP requests the server received during the window (its own count). */
  requests: number;
  wallMs: number;
  /** process.cpuUsage() delta: user + system CPU of the whole process (all threads). */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Event-loop utilization over the window (0..1): 1 means the main thread never idled. */
  eventLoopUtilization: number;
  /**
   * Bytes allocated on the V8 heap: heap used at the end − at the start + what every GC freed
   * (v8.GCProfiler before/after each collection). An estimate that counts short-lived garbage too.
   */
  allocatedBytes: number;
  gcCount: number;
  gcMs: number;
  /** V8 heap used at the start, and the highest seen (50 ms samples and the heap just before each GC). */
  heapUsedStartBytes: number;
  heapUsedPeakBytes: number;
  heapUsedEndBytes: number;
  /** Process-specific counters (the gateway: DB statements, pool times, Redis commands). */
  extra: Record<string, number>;
}

export type ParentMessage = { type: 'begin' } | { type: 'end' } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'failed'; message: string }
  | { type: 'begun' }
  | { type: 'window'; window: CapacityWindow };

export interface ExtraCounters {
  /** Resets the counters at the start of a window. */
  reset(): void;
  /** The counters' values at the end of a window. */
  read(): Record<string, number>;
}

interface GcStatistics {
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

const HEAP_SAMPLE_MS = 50;

function usedHeap(): number {
  return v8.getHeapStatistics().used_heap_size;
}

/** Measures windows of a server process's work; `server` is the HTTP server whose requests are counted. */
export function createCapacityProbe(server: Server, extra?: ExtraCounters) {
  let active = false;
  let requests = 0;
  server.on('request', () => {
    if (active) requests += 1;
  });

  let started = 0;
  let cpu = process.cpuUsage();
  let elu = performance.eventLoopUtilization();
  let heapStart = 0;
  let heapPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  let profiler: v8.GCProfiler | undefined;

  return {
    begin(): void {
      extra?.reset();
      requests = 0;
      heapStart = usedHeap();
      heapPeak = heapStart;
      sampler = setInterval(() => {
        heapPeak = Math.max(heapPeak, usedHeap());
      }, HEAP_SAMPLE_MS);
      sampler.unref();
      profiler = new v8.GCProfiler();
      profiler.start();
      cpu = process.cpuUsage();
      elu = performance.eventLoopUtilization();
      started = performance.now();
      active = true;
    },
    end(): CapacityWindow {
      active = false;
      const wallMs = performance.now() - started;
      const cpuDelta = process.cpuUsage(cpu);
      const utilization = performance.eventLoopUtilization(elu).utilization;
      clearInterval(sampler);
      const gcs = ((profiler?.stop() as { statistics?: GcStatistics[] } | undefined)?.statistics ??
        []) as GcStatistics[];
      const heapEnd = usedHeap();
      let freed = 0;
      let gcMicros = 0;
      for (const gc of gcs) {
        const before = gc.beforeGC.heapStatistics.usedHeapSize;
        freed += Math.max(0, before - gc.afterGC.heapStatistics.usedHeapSize);
        heapPeak = Math.max(heapPeak, before);
        gcMicros += gc.cost;
      }
      return {
        requests,
        wallMs,
        cpuUserMs: cpuDelta.user / 1_000,
        cpuSystemMs: cpuDelta.system / 1_000,
        eventLoopUtilization: utilization,
        allocatedBytes: heapEnd - heapStart + freed,
        gcCount: gcs.length,
        gcMs: gcMicros / 1_000,
        heapUsedStartBytes: heapStart,
        heapUsedPeakBytes: Math.max(heapPeak, heapEnd),
        heapUsedEndBytes: heapEnd,
        extra: extra?.read() ?? {},
      };
    },
  };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * Starts a benchmark server process: `start` listens and returns its URL, HTTP server and counters;
 * the harness then drives it over IPC. The process stops on { type: 'stop' }, SIGTERM/SIGINT, or
 * when the harness goes away (IPC disconnect), so no server outlives a crashed run.
 */
export async function runBenchChild(
  name: string,
  start: () => Promise<{ url: string; server: Server; extra?: ExtraCounters; stop(): Promise<void> }>,
): Promise<void> {
  if (!process.send) throw new Error(`${name}: start me from load/bench.ts (an IPC channel is required)`);
  let stopping = false;
  const server: { stop?: () => Promise<void> } = {};
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code), 10_000);
    force.unref();
    void (server.stop?.() ?? Promise.resolve())
      .catch((error: unknown) => process.stderr.write(`${name}: stop failed: ${String(error)}\n`))
      .finally(() => {
        if (process.connected) process.disconnect();
        process.exit(code);
      });
  };
  process.once('SIGTERM', () => shutdown(0));
  process.once('SIGINT', () => shutdown(0));
  process.once('disconnect', () => shutdown(0));

  let started: Awaited<ReturnType<typeof start>>;
  try {
    started = await start();
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    shutdown(1);
    return;
  }
  server.stop = started.stop;
  const probe = createCapacityProbe(started.server, started.extra);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'begin') {
      probe.begin();
      send({ type: 'begun' });
    } else if (message.type === 'end') {
      send({ type: 'window', window: probe.end() });
    } else if (message.type === 'stop') {
      shutdown(0);
    }
  });
  send({ type: 'ready', url: started.url });
}

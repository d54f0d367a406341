// Harness side of the server processes: spawns a load/bench/*-server.ts under Node (tsx loader) with an
// IPC channel, waits until it listens, asks it for capacity windows and stops it. Its stdout and stderr
// go to a log file, so warnings printed under load neither clutter the table nor cost the harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { CapacityWindow, ChildMessage, ParentMessage } from './capacity.js';

const START_TIMEOUT_MS = 90_000;
const REPLY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Every server process still running, so the harness can stop them on any exit path. */
const live = new Set<ChildProcess>();

/** Kills (SIGKILL) whatever server process is still running; for process 'exit' handlers. */
export function killAllServers(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  logFile: string;
  /** Starts a capacity window (after the warm-up). */
  begin(): Promise<void>;
  /** Ends the window and returns what the process spent during it. */
  end(): Promise<CapacityWindow>;
  stop(): Promise<void>;
}

export async function startServer(options: {
  name: string;
  script: string;
  cwd: string;
  env: Record<string, string | undefined>;
  logFile: string;
  /** Node flags of this server's own, before BENCH_NODE_OPTIONS (which therefore win). */
  nodeFlags?: readonly string[];
}): Promise<ServerProcess> {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  // BENCH_NODE_OPTIONS adds Node flags to the servers, e.g. '--cpu-prof --cpu-prof-dir=load/results/prof'
  // to see where a gateway operation spends its time under the same load.
  const extraFlags = (process.env.BENCH_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const flags = [...(options.nodeFlags ?? []), ...extraFlags];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', options.script], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  // The last output, to explain a failed start without opening the log.
  let tail = '';
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);

  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const inbox: ChildMessage[] = [];
  const waiters: { type: ChildMessage['type']; resolve(message: ChildMessage): void }[] = [];
  child.on('message', (message: ChildMessage) => {
    const index = waiters.findIndex((w) => w.type === message.type || message.type === 'failed');
    if (index === -1) inbox.push(message);
    else waiters.splice(index, 1)[0]!.resolve(message);
  });

  function next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<ChildMessage> {
    const queued = inbox.findIndex((m) => m.type === type || m.type === 'failed');
    if (queued !== -1) return Promise.resolve(inbox.splice(queued, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = waiters.findIndex((w) => w.resolve === done);
        if (index !== -1) waiters.splice(index, 1);
        reject(new Error(`${options.name}: no '${type}' message within ${timeoutMs} ms\n${tail}`));
      }, timeoutMs);
      const done = (message: ChildMessage) => {
        clearTimeout(timer);
        resolve(message);
      };
      waiters.push({ type, resolve: done });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited (code ${code}) while the harness waited for '${type}'\n${tail}`));
      });
    });
  }

  function send(message: ParentMessage): void {
    if (child.connected) child.send(message);
  }

  async function stop(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    log.end();
  }

  let ready: ChildMessage;
  try {
    ready = await next('ready', START_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (ready.type !== 'ready') {
    await stop();
    throw new Error(`${options.name} failed to start: ${ready.type === 'failed' ? ready.message : ready.type}`);
  }
  return {
    name: options.name,
    url: ready.url,
    pid: child.pid!,
    logFile: options.logFile,
    async begin() {
      send({ type: 'begin' });
      await next('begun', REPLY_TIMEOUT_MS);
    },
    async end() {
      send({ type: 'end' });
      const reply = await next('window', REPLY_TIMEOUT_MS);
      if (reply.type !== 'window') throw new Error(`${options.name}: expected a capacity window, got ${reply.type}`);
      return reply.window;
    },
    stop,
  };
}

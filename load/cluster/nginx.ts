// nginx in front of several gateway instances on one machine (issue 7, scale-out): renders
// deploy/nginx/gateway.conf.template and runs it as a child process. Used by the load runner
// (`npm run load -- <scenario> --instances N`) and test/integration/scale-out.test.ts.
// The template explains the configuration (why no upstream keep-alive, which retries are safe).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { configSpec } from '../../src/config/spec.js';
import { findProjectRoot } from '../../src/platform/project-root.js';

export interface NginxConfigOptions {
  /** The gateway instances, `host:port` each (loopback or LAN addresses, no names to resolve). */
  upstreams: string[];
  /** `host:port` nginx listens on. */
  listen: string;
  /** Absolute folder of the config, pid, logs and temporary files (nginx's `-p` prefix). */
  prefix: string;
  /** @default 'auto' (one per core) */
  workerProcesses?: number | 'auto';
  /** @default 4096 */
  workerConnections?: number;
  /** Listen queue of nginx's socket (the kernel caps it at net.core.somaxconn). @default 4096 */
  backlog?: number;
  /** The gateway's BODY_LIMIT_BYTES. @default its default in src/config/spec.ts */
  bodyLimitBytes?: number;
  /** The gateway's GRAPHQL_EXECUTION_TIMEOUT_MS; nginx waits 3 times as long. @default its default */
  executionTimeoutMs?: number;
  /** A buffered access log at `<prefix>/logs/access.log` (format `gateway`), else none. @default false */
  accessLog?: boolean;
  /**
   * Adds `X-Upstream-Addr` (every instance the request went to) to responses: for tests and
   * diagnosis only, it reveals internal addresses. @default false
   */
  upstreamHeader?: boolean;
}

const TEMPLATE = join(findProjectRoot(), 'deploy', 'nginx', 'gateway.conf.template');
/** `host:port` or `[v6]:port`, nothing else: the values go into the config file verbatim. */
const ADDRESS = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

function specDefault(name: 'BODY_LIMIT_BYTES' | 'GRAPHQL_EXECUTION_TIMEOUT_MS'): number {
  return Number((configSpec[name] as { default?: unknown }).default);
}

function checkAddress(address: string, what: string): string {
  if (!ADDRESS.test(address)) throw new Error(`${what} must be host:port, got "${address}"`);
  return address;
}

/** The nginx.conf for these options: deploy/nginx/gateway.conf.template with every placeholder filled. */
export function renderNginxConfig(options: NginxConfigOptions): string {
  if (options.upstreams.length === 0) throw new Error('nginx needs at least one upstream');
  if (!options.prefix.startsWith('/') || /[\s;{}'"$]/.test(options.prefix)) {
    throw new Error(`the nginx prefix must be an absolute path without spaces or quotes, got "${options.prefix}"`);
  }
  const workerConnections = options.workerConnections ?? 4096;
  const executionTimeoutMs = options.executionTimeoutMs ?? specDefault('GRAPHQL_EXECUTION_TIMEOUT_MS');
  const values: Record<string, string> = {
    PREFIX: options.prefix,
    WORKER_PROCESSES: String(options.workerProcesses ?? 'auto'),
    WORKER_CONNECTIONS: String(workerConnections),
    WORKER_RLIMIT_NOFILE: String(workerConnections * 2 + 64),
    ERROR_LOG: join(options.prefix, 'logs', 'error.log'),
    ACCESS_LOG: options.accessLog
      ? `access_log ${join(options.prefix, 'logs', 'access.log')} gateway buffer=64k flush=1s;`
      : 'access_log off;',
    UPSTREAM_SERVERS: options.upstreams
      .map((u) => `        server ${checkAddress(u, 'an upstream')} max_fails=0;`)
      .join('\n'),
    LISTEN: checkAddress(options.listen, 'the listen address'),
    BACKLOG: String(options.backlog ?? 4096),
    BODY_LIMIT_BYTES: String(options.bodyLimitBytes ?? specDefault('BODY_LIMIT_BYTES')),
    EXECUTION_TIMEOUT_MS: String(executionTimeoutMs),
    READ_TIMEOUT_SECONDS: String(Math.ceil((executionTimeoutMs * 3) / 1000)),
    EXTRA_LOCATION_DIRECTIVES: options.upstreamHeader
      ? '            add_header X-Upstream-Addr $upstream_addr always;'
      : '',
  };
  return readFileSync(TEMPLATE, 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${TEMPLATE}: no value for {{${name}}}`);
    return value;
  });
}

/** The nginx binary: NGINX_BIN, else `nginx` on PATH, else Debian's /usr/sbin/nginx (not on every PATH). */
export function nginxBinary(): string {
  const explicit = process.env.NGINX_BIN;
  if (explicit) return explicit;
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin']) {
    const candidate = join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('nginx is not installed (apt-get install -y nginx, or set NGINX_BIN)');
}

export interface StartNginxOptions extends Omit<NginxConfigOptions, 'listen' | 'prefix'> {
  /** Port on 127.0.0.1. */
  listenPort: number;
  /** Folder for the config, pid, logs and temporary files; created if missing, left in place. */
  dir: string;
  /**
   * Polls every upstream's `GET /health/ready` this often and keeps only the ready ones in nginx's
   * list (a reload per change): the active health check open-source nginx lacks, as Kubernetes
   * endpoints or a service registry provide in production. A stopping gateway answers 503
   * `shutting_down` at once and keeps serving for SHUTDOWN_READINESS_GRACE_MS; with a grace that
   * covers this interval, a reload and the connects nginx began before (10 s: the template says why),
   * it is out of rotation before its listener closes, so a SIGTERM loses nothing. Other 503s take an
   * instance out after NOT_READY_THRESHOLD in a row; a 200 brings it back. 0 turns it off. @default 0
   */
  readinessIntervalMs?: number;
}

export interface RunningNginx {
  /** http://127.0.0.1:<listenPort> */
  base: string;
  child: ChildProcess;
  /** The error log (refused connects, upstream errors). */
  errorLog(): string;
  /** Graceful stop (SIGQUIT: in-flight requests finish), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /**
   * New upstream list: config checked, then SIGHUP; resolves once new workers serve it. With the
   * readiness check on, nginx gets the ready ones among them.
   */
  reload(upstreams: string[]): Promise<void>;
  /** The upstreams nginx sends to now (the readiness check may have taken some out). */
  active(): string[];
}

function readOr(file: string, fallback = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** The process's children (its workers), from /proc (Linux). */
function childPids(pid: number): string[] {
  return readOr(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean);
}

async function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One readiness probe: `ready` (200), `gone` (503 `shutting_down`, or the connect refused),
 * `not-ready` (another 503), undefined (no answer within a second: a busy instance, unchanged).
 */
async function probeReadiness(upstream: string): Promise<'ready' | 'gone' | 'not-ready' | undefined> {
  try {
    const response = await fetch(`http://${upstream}/health/ready`, { signal: AbortSignal.timeout(1_000) });
    if (response.ok) {
      await response.body?.cancel();
      return 'ready';
    }
    const body = (await response.json().catch(() => undefined)) as { status?: string } | undefined;
    return body?.status === 'shutting_down' ? 'gone' : 'not-ready';
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return code === 'ECONNREFUSED' ? 'gone' : undefined;
  }
}

/**
 * Not-ready answers in a row before an instance leaves the list (Kubernetes' failureThreshold):
 * a saturated instance whose database check times out once should not make nginx reload.
 */
const NOT_READY_THRESHOLD = 3;

/**
 * Writes `<dir>/nginx.conf`, checks it with `nginx -t` (its message is the error), runs
 * `nginx -p <dir> -c <dir>/nginx.conf -g 'daemon off;'` and resolves once it accepts connections.
 */
export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  const { dir, listenPort, readinessIntervalMs = 0, ...rest } = options;
  const bin = nginxBinary();
  const configFile = join(dir, 'nginx.conf');
  const errorLogFile = join(dir, 'logs', 'error.log');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'temp'), { recursive: true });
  // Run as root, nginx's workers drop to `nobody`: they must reach the temp folders in here.
  chmodSync(dir, 0o755);
  const args = ['-p', dir, '-c', configFile, '-g', 'daemon off;'];
  let configured = rest.upstreams;
  /** Not-ready answers in a row per upstream; NOT_READY_THRESHOLD or more: out of the list. */
  const failures = new Map<string, number>();
  /** The configured upstreams that are in; all of them when none is (nginx's own retries decide). */
  const wanted = () => {
    const up = configured.filter((u) => (failures.get(u) ?? 0) < NOT_READY_THRESHOLD);
    return up.length > 0 ? up : configured;
  };
  let active = configured;

  const writeChecked = (list: string[]) => {
    writeFileSync(
      configFile,
      renderNginxConfig({ ...rest, upstreams: list, listen: `127.0.0.1:${listenPort}`, prefix: dir }),
    );
    const test = spawnSync(bin, ['-t', ...args], { encoding: 'utf8' });
    if (test.status !== 0) {
      throw new Error(`nginx -t refused ${configFile}:\n${(test.stderr || test.stdout || String(test.error)).trim()}`);
    }
  };
  writeChecked(active);

  // Otherwise the wait below would take another process's listener for this nginx.
  if (await acceptsConnections(listenPort)) throw new Error(`port ${listenPort} is already in use`);
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const failure = () => `${stderr}${readOr(errorLogFile)}`.trim() || '(no output)';

  const deadline = Date.now() + 10_000;
  while (!(await acceptsConnections(listenPort))) {
    if (!running()) throw new Error(`nginx exited at startup:\n${failure()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not accept connections on port ${listenPort} within 10 s:\n${failure()}`);
    }
    await sleep(50);
  }

  /** Puts `wanted()` into effect: config checked, SIGHUP, new workers up. */
  const apply = async () => {
    const next = wanted();
    if (next.join() === active.join() || !running()) return;
    writeChecked(next);
    active = next;
    const pid = child.pid!;
    const before = new Set(childPids(pid));
    child.kill('SIGHUP');
    // The master starts new workers with the new configuration; the old ones stop accepting and
    // finish their requests. Where /proc cannot tell, a moment's wait.
    if (before.size === 0) {
      await sleep(500);
      return;
    }
    const until = Date.now() + 10_000;
    while (!childPids(pid).some((p) => !before.has(p))) {
      if (Date.now() > until) throw new Error(`nginx did not reload within 10 s:\n${failure()}`);
      await sleep(20);
    }
  };
  // One reload at a time, in order; a failed one does not stop the next.
  let applying: Promise<void> = Promise.resolve();
  const schedule = () => (applying = applying.catch(() => undefined).then(apply));

  let watching = readinessIntervalMs > 0;
  const watcher = (async () => {
    while (watching) {
      const verdicts = await Promise.all(configured.map(probeReadiness));
      configured.forEach((u, i) => {
        const verdict = verdicts[i];
        // A stopping or vanished instance leaves at once: its listener is about to close.
        if (verdict === 'ready') failures.set(u, 0);
        else if (verdict === 'gone') failures.set(u, NOT_READY_THRESHOLD);
        else if (verdict === 'not-ready') failures.set(u, (failures.get(u) ?? 0) + 1);
      });
      await schedule().catch((error: unknown) => {
        stderr += `readiness reload failed: ${String(error)}\n`;
      });
      await sleep(readinessIntervalMs);
    }
  })();

  return {
    base: `http://127.0.0.1:${listenPort}`,
    child,
    errorLog: () => readOr(errorLogFile),
    active: () => active,
    async stop() {
      watching = false;
      await watcher;
      await applying.catch(() => undefined);
      if (!running()) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async reload(upstreams) {
      configured = upstreams;
      await schedule();
    },
  };
}

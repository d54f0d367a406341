import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtilleryReport } from '../../load/lean-generator.js';

// load/lean-generator.ts, the lean load generator of `npm run load -- <scenario> --generator lean`,
// run as the runner runs it (a child process under tsx) on small scenario, processor and payload files
// of its own, against a node:http server on 127.0.0.1: open-loop arrivals, templates and captures,
// the processor's hooks, failures, the ensure checks and the start-up refusal of what it does not do.

const ROOT = join(import.meta.dirname, '..', '..');

/** What every run shares, as load/scenarios/common.yml: target, processor, payload, headers, flows. */
const COMMON = `
config:
  target: http://127.0.0.1:1
  processor: ./processor.mjs
  http:
    timeout: 5
  payload:
    fields: [token, customerId]
    order: random
    skipHeader: true
  defaults:
    headers:
      content-type: application/json
      user-agent: lean-test
  plugins:
    metrics-by-endpoint:
      useOnlyRequestNames: true
scenarios:
  - name: one request
    flow:
      - post:
          url: /one
          name: One
          json: { hello: world }
  - name: capture
    weight: 0
    beforeScenario: setVars
    beforeRequest: addOperation
    afterResponse: check
    flow:
      - post:
          url: /create
          name: CreateCart
          headers:
            authorization: 'Bearer {{ token }}'
          json:
            variables:
              customerId: '{{ customerId }}'
          capture:
            json: $.data.cart.id
            as: cartId
      - post:
          url: /add
          name: AddItem
          headers:
            authorization: 'Bearer {{ token }}'
          json:
            variables:
              cartId: '{{ cartId }}'
              quantity: '{{ quantity }}'
              customerId: '{{ customerId }}'
              search: '{{ search }}'
              missing: '{{ missing }}'
              label: 'cart {{ cartId }} x{{ quantity }}'
              limit: 20
  - name: failing
    weight: 0
    afterResponse: check
    flow:
      - post:
          url: /fail/first
          name: Fail
          json: {}
      - post:
          url: /fail/second
          name: NeverSent
          json: {}
  - name: hanging
    weight: 0
    flow:
      - post:
          url: /hang
          name: Hang
          json: {}
`;

const PROCESSOR = `
export function setVars(context, _events, done) {
  context.vars.quantity = 1;
  context.vars.search = null;
  return done();
}
export function addOperation(requestParams, _context, _events, done) {
  requestParams.json = { ...requestParams.json, operationName: requestParams.name };
  return done();
}
export function check(requestParams, response, _context, _events, done) {
  if (response.statusCode === 200) return done();
  const error = new Error(requestParams.name + ': HTTP ' + response.statusCode);
  error.code = requestParams.name + ' ' + response.statusCode;
  return done(error);
}
`;

/** A scenario file: its phases and ensure checks, as load/scenarios/<name>.yml. */
const scenarioFile = (phases: string, ensure = '') => `
config:
  phases:
${phases}
${ensure ? `  plugins:\n    ensure:\n${ensure}` : ''}
  runnerChecks:
    maxP999Ms: 2000
`;

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  connection: number;
}

let dir: string;
let server: Server;
let target: string;
const seen: Seen[] = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lean-generator-'));
  writeFileSync(join(dir, 'common.yml'), COMMON);
  writeFileSync(join(dir, 'processor.mjs'), PROCESSOR);
  writeFileSync(join(dir, 'users.csv'), 'token,customerId\ntok-1,42\ntok-2,43\n');
  const connections = new WeakMap<Socket, number>();
  let carts = 0;
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      seen.push({
        path,
        headers: req.headers,
        body: JSON.parse(text || 'null'),
        connection: connections.get(req.socket)!,
      });
      if (path.endsWith('/hang')) return; // never answered: the generator's timeout
      const status = path.includes('/fail/') ? 500 : 200;
      const id = `cart-${++carts}-on-${connections.get(req.socket)}`;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { data: { cart: { id } } } : { errors: [{ message: 'boom' }] }));
    });
  });
  let nextConnection = 0;
  server.on('connection', (socket: Socket) => {
    connections.set(socket, ++nextConnection);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the generator on common.yml and a scenario file; resolves with its exit code, output and report.
 * The target has the run's name as its path (`/<name>/one`: the step's url after the target's), so
 * that concurrent runs tell their requests apart.
 */
async function generate(
  name: string,
  scenario: string,
  flags: { flow: string; target?: string; overrides?: object; common?: string },
) {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, scenario);
  const output = join(dir, `${name}.json`);
  const args = [
    '--import',
    'tsx',
    join(ROOT, 'load', 'lean-generator.ts'),
    flags.common ?? join(dir, 'common.yml'),
    file,
    '--target',
    flags.target ?? `${target}/${name}`,
    '--payload',
    join(dir, 'users.csv'),
    '--output',
    output,
    '--scenario-name',
    flags.flow,
    ...(flags.overrides ? ['--overrides', JSON.stringify(flags.overrides)] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const report = existsSync(output) ? (JSON.parse(readFileSync(output, 'utf8')) as ArtilleryReport) : undefined;
  return { code, stdout, stderr, counters: report?.aggregate.counters ?? {}, report };
}

const PASSING = `      thresholds:
        - http.response_time.p99: 60000
      maxErrorRate: 0`;

describe.concurrent('lean load generator (load/lean-generator.ts)', () => {
  it('launches the integral of a ramp, each virtual user on its own connection, and exits 0 when the checks hold', async () => {
    const run = await generate(
      'ramp',
      scenarioFile('    - duration: 2\n      arrivalRate: 10\n      rampTo: 30', PASSING),
      { flow: 'one request' },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // 2 s ramping 10 → 30 per second: 40 arrivals.
    const created = run.counters['vusers.created']!;
    expect(created).toBeGreaterThanOrEqual(34);
    expect(created).toBeLessThanOrEqual(46);
    expect(run.counters['vusers.completed']).toBe(created);
    expect(run.counters['http.codes.200']).toBe(created);
    const requests = seen.filter((s) => s.path === '/ramp/one');
    expect(requests).toHaveLength(created);
    expect(new Set(requests.map((s) => s.connection)).size).toBe(created);
    expect(run.report?.generator).toBe('lean');
    expect(run.report?.aggregate.summaries['plugins.metrics-by-endpoint.response_time.One']?.count).toBe(created);
    expect(run.stdout).toContain('ok: http.response_time.p99 < 60000');
    expect(run.stdout).toContain('ok: maxErrorRate < 0');
  });

  it('renders templates with their types, captures into the next step, and runs the hooks', async () => {
    const run = await generate('capture', scenarioFile('    - duration: 1\n      arrivalRate: 3', PASSING), {
      flow: 'capture',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.counters['vusers.completed']).toBe(3);
    const adds = seen.filter((s) => s.path === '/capture/add');
    expect(adds).toHaveLength(3);
    for (const add of adds) {
      const body = add.body as { operationName: string; variables: Record<string, unknown> };
      const create = seen.find((s) => s.path === '/capture/create' && s.connection === add.connection)!;
      const customerId = (create.body as { variables: { customerId: unknown } }).variables.customerId;
      // The CSV's numbers are numbers, a whole-string template keeps its variable's type.
      expect([42, 43]).toContain(customerId);
      // The id the server gave this user's CreateCart, on this user's connection.
      const cartId = body.variables.cartId;
      expect(cartId).toMatch(new RegExp(`^cart-\\d+-on-${add.connection}$`));
      expect(body).toEqual({
        operationName: 'AddItem',
        variables: {
          cartId,
          quantity: 1,
          customerId,
          search: null,
          label: `cart ${String(cartId)} x1`,
          limit: 20,
        },
      });
      expect(add.headers.authorization).toBe(customerId === 42 ? 'Bearer tok-1' : 'Bearer tok-2');
      expect(add.headers['user-agent']).toBe('lean-test');
      expect(add.headers['content-type']).toBe('application/json');
    }
  });

  it("counts a hook's done(error) as a failed virtual user and errors.<code>, and exits 1 on a failed check", async () => {
    const run = await generate(
      'failing',
      scenarioFile('    - duration: 1\n      arrivalRate: 4', '      maxErrorRate: 0'),
      { flow: 'failing' },
    );
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.counters['vusers.created']).toBe(4);
    expect(run.counters['vusers.failed']).toBe(4);
    expect(run.counters['vusers.completed']).toBeUndefined();
    expect(run.counters['errors.Fail 500']).toBe(4);
    expect(run.counters['http.codes.500']).toBe(4);
    expect(seen.filter((s) => s.path === '/failing/fail/second')).toHaveLength(0);
    expect(run.stdout).toContain('fail: maxErrorRate < 0');
  });

  it('fails a threshold the run does not hold (exit 1), with --overrides replacing the list', async () => {
    const run = await generate('threshold', scenarioFile('    - duration: 1\n      arrivalRate: 2', PASSING), {
      flow: 'one request',
      overrides: { config: { plugins: { ensure: { thresholds: [{ 'http.response_time.p99': 0 }] } } } },
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain('fail: http.response_time.p99 < 0');
    expect(run.stdout).toContain('ok: maxErrorRate < 0');
    expect(run.stdout).not.toContain('60000');
  });

  it('times a request out after config.http.timeout (errors.ETIMEDOUT) and counts refused connections', async () => {
    const [hanging, refused] = await Promise.all([
      generate('hanging', scenarioFile('    - duration: 1\n      arrivalRate: 2'), {
        flow: 'hanging',
        overrides: { config: { http: { timeout: 0.5 } } },
      }),
      // A port nothing listens on: the lowest unprivileged one is never this test's.
      generate('refused', scenarioFile('    - duration: 1\n      arrivalRate: 2'), {
        flow: 'one request',
        target: 'http://127.0.0.1:1',
      }),
    ]);
    expect(hanging.code, hanging.stdout + hanging.stderr).toBe(0);
    expect(hanging.counters['errors.ETIMEDOUT']).toBe(2);
    expect(hanging.counters['vusers.failed']).toBe(2);
    expect(hanging.counters['plugins.metrics-by-endpoint.Hang.errors.ETIMEDOUT']).toBe(2);
    expect(refused.counters['errors.ECONNREFUSED']).toBe(2);
    expect(refused.counters['http.requests']).toBe(2);
    expect(refused.counters['http.responses']).toBeUndefined();
  });

  it('refuses at start-up what it does not implement', async () => {
    const common = join(dir, 'unsupported-common.yml');
    writeFileSync(
      common,
      COMMON.replace('    timeout: 5', '    timeout: 5\n    pool: 10').replace(
        '          json: { hello: world }',
        '          json: { hello: world }\n          match:\n            json: $.ok\n            value: true\n      - think: 1',
      ),
    );
    const run = await generate('unsupported', scenarioFile('    - duration: 1\n      arrivalRate: 1'), {
      flow: 'one request',
      common,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('config.http.pool is not supported');
    expect(run.stderr).toContain('scenarios[0].flow[0].post.match is not supported');
    expect(run.stderr).toContain('scenarios[0].flow[1].think is not supported');
    expect(run.report).toBeUndefined();
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildSchema, Kind, parse, validate, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/errors/index.js';
import { buildGraphQLSchema } from '../../src/graphql/schema.js';
import {
  API_DOCS_PATH,
  escapeHtml,
  LOGIN_EXAMPLE,
  registerApiDocsRoute,
  renderApiDocs,
} from '../../src/http/api-docs.js';
import { renderedPageCsp } from '../../src/http/security.js';
import { ROOT, startTestApp, type TestApp } from '../helpers/kit.js';

const OPERATIONS_DIR = join(ROOT, 'schema', 'operations');

// ---- headless Chromium -------------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_BIN ?? 'chromium';
const CHROMIUM_MISSING =
  `Chromium is required to check that ${API_DOCS_PATH} renders, and "${CHROMIUM}" did not run: ` +
  'install it (Debian/Ubuntu: apt-get install -y chromium) or set CHROMIUM_BIN to its path.';

function chromiumAvailable(): boolean {
  const result = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return result.status === 0 && /chrom/i.test(result.stdout);
}

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-extensions',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
  // Loopback only: nothing resolves but 127.0.0.1, where the pages are served.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  // Console messages, CSP violations among them, go to stderr.
  '--enable-logging=stderr',
  '--v=0',
];

/** Runs Chromium once against `url` with a fresh profile; kills its whole process group on timeout. */
async function chromium(url: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'api-docs-chromium-'));
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args, url], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'disabled:' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        reject(new Error(`chromium timed out on ${url}\n${stderr.slice(-2000)}`));
      }, 25_000);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve({ stdout, stderr });
        else reject(new Error(`chromium exited with ${code} on ${url}\n${stderr.slice(-2000)}`));
      });
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const CSP_VIOLATION = /Content Security Policy|Refused to/i;

function cspMessages(stderr: string): string[] {
  return stderr.split('\n').filter((line) => CSP_VIOLATION.test(line));
}

/** Renders `url` in Chromium once: the DOM after load, a 1280x2000 screenshot, and what the console said. */
async function renderInChromium(url: string): Promise<{ dom: string; png: Buffer; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'api-docs-shot-'));
  try {
    const screenshot = join(dir, 'page.png');
    const { stdout, stderr } = await chromium(url, [
      '--dump-dom',
      `--screenshot=${screenshot}`,
      '--window-size=1280,2000',
      '--hide-scrollbars',
    ]);
    return { dom: stdout, png: readFileSync(screenshot), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a rendered reference must show: the headings and a sample of each section's content. */
function expectRenderedReference(dom: string, stderr: string): void {
  const loadErrors = stderr.split('\n').filter((line) => /Page load failed|ERR_/.test(line));
  expect(dom.length, `Chromium rendered nothing:\n${loadErrors.join('\n')}`).toBeGreaterThan(0);
  for (const heading of ['ERP GraphQL API reference', 'Overview', 'Queries', 'Mutations', 'Types', 'Error codes']) {
    expect(dom).toMatch(new RegExp(`<h[12][^>]*>${heading}</h[12]>`));
  }
  expect(dom).toContain('<h2>Example operations</h2>');
  expect(dom).toContain('id="Query.products"');
  expect(dom).toContain('<code>products</code>');
  expect(dom).toContain('id="error-PERSISTED_QUERY_NOT_IN_LIST"');
  expect(dom).toContain('id="op-CatalogPage"');
  expect(dom).toContain('query CatalogPage(');
}

function expectPng(png: Buffer): void {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.readUInt32BE(16)).toBe(1280);
  expect(png.readUInt32BE(20)).toBe(2000);
  // A blank page compresses to a few kilobytes; a page of styled text does not.
  expect(png.length).toBeGreaterThan(50_000);
}

// ---- page helpers ----------------------------------------------------------------------------------

function ids(html: string): string[] {
  return [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
}

function fragmentLinks(html: string): string[] {
  return [...html.matchAll(/\shref="#([^"]*)"/g)].map((m) => m[1]!);
}

function inlineStyles(html: string): string[] {
  return [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
}

function exampleOperations(): Array<{ file: string; name: string }> {
  return readdirSync(OPERATIONS_DIR)
    .filter((file) => file.endsWith('.graphql'))
    .flatMap((file) =>
      parse(readFileSync(join(OPERATIONS_DIR, file), 'utf8'))
        .definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
        .map((operation) => ({ file, name: operation.name!.value })),
    );
}

async function listen(server: FastifyInstance): Promise<string> {
  return server.listen({ host: '127.0.0.1', port: 0 });
}

// ---- the route on its own -------------------------------------------------------------------------

describe('API reference (/api/docs) on a bare Fastify server', () => {
  let schema: GraphQLSchema;
  let server: FastifyInstance;
  let url: string;
  let html: string;

  beforeAll(async () => {
    schema = await buildGraphQLSchema();
    server = Fastify({ logger: false });
    registerApiDocsRoute(server, { schema, operationsDir: OPERATIONS_DIR });
    // The control for the CSP check: the same page under a policy whose style hash is wrong.
    const page = renderApiDocs({ schema, operationsDir: OPERATIONS_DIR });
    server.get('/control/wrong-style-hash', (_request, reply) =>
      reply
        .header('content-security-policy', renderedPageCsp(['not the page style']))
        .type('text/html; charset=utf-8')
        .send(page.html),
    );
    url = await listen(server);
    html = await (await fetch(`${url}${API_DOCS_PATH}`)).text();
  });
  afterAll(() => server?.close());

  it('serves one cached HTML page with an ETag, Cache-Control and 304 on a matching If-None-Match', async () => {
    const first = await fetch(`${url}${API_DOCS_PATH}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{20,}"$/);
    const body = await first.text();
    expect(body.startsWith('<!doctype html>')).toBe(true);

    const second = await fetch(`${url}${API_DOCS_PATH}`);
    expect(second.headers.get('etag')).toBe(etag);
    expect(await second.text()).toBe(body);

    for (const ifNoneMatch of [etag!, `W/${etag}`, `"other", ${etag}`, '*']) {
      const revalidated = await fetch(`${url}${API_DOCS_PATH}`, { headers: { 'if-none-match': ifNoneMatch } });
      expect(revalidated.status, ifNoneMatch).toBe(304);
      expect(revalidated.headers.get('etag')).toBe(etag);
      expect(revalidated.headers.get('cache-control')).toBe('public, max-age=300');
      expect(await revalidated.text()).toBe('');
    }
    const changed = await fetch(`${url}${API_DOCS_PATH}`, { headers: { 'if-none-match': '"stale"' } });
    expect(changed.status).toBe(200);

    const head = await fetch(`${url}${API_DOCS_PATH}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(etag);
  });

  it('works under a strict CSP: no script, nothing loaded, one inline style pinned by its hash', async () => {
    const res = await fetch(`${url}${API_DOCS_PATH}`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const styles = inlineStyles(html);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!, 'utf8').digest('base64');
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    // Nothing the CSP would have to allow: scripts, external resources, style attributes.
    for (const forbidden of [/<script/i, /<link/i, /<img/i, /<iframe/i, /\ssrc=/i, /\sstyle=/i, /\son\w+=/i]) {
      expect(html).not.toMatch(forbidden);
    }
    expect(styles[0]).not.toMatch(/url\(|@import/);
  });

  it('documents every root field with its arguments, return type and access', () => {
    for (const root of [schema.getQueryType()!, schema.getMutationType()!]) {
      for (const field of Object.values(root.getFields())) {
        const start = html.indexOf(`<article class="field" id="${root.name}.${field.name}">`);
        expect(start, `${root.name}.${field.name}`).toBeGreaterThan(0);
        const article = html.slice(start, html.indexOf('</article>', start));
        expect(article).toContain(`<h3><code>${field.name}</code></h3>`);
        expect(article).toMatch(/<dt>Access<\/dt><dd><span class="badge (public|auth|perm)">/);
        if (field.description) expect(article).toContain(escapeHtml(field.description.split('`')[0]!.trim()));
        for (const arg of field.args) expect(article).toContain(`<td><code>${arg.name}</code></td>`);
      }
    }
    const article = (id: string) =>
      html.slice(html.indexOf(`id="${id}"`), html.indexOf('</article>', html.indexOf(`id="${id}"`)));
    expect(article('Query.auditLogs')).toContain('<a href="#PermissionKey.AUDIT_READ"><code>AUDIT_READ</code></a>');
    expect(article('Query.auditLogs')).toContain('<a href="#type-AuditLogPage">AuditLogPage</a>!');
    expect(article('Query.auditLogs')).toMatch(
      /<td><code>limit<\/code><\/td><td><code>.*Int.*!<\/code><\/td><td><code>20<\/code><\/td>/,
    );
    expect(article('Query.products')).toContain('<span class="badge public">public</span>');
    expect(article('Query.products')).toContain('cacheable for 30 s');
    expect(article('Query.me')).toContain('<span class="badge auth">authenticated</span>');
    expect(article('Mutation.submitCart')).toContain('at most 10 calls per 1m per caller');
  });

  it('documents the types with their fields and descriptions, links every type it names', () => {
    const named = Object.values(schema.getTypeMap()).filter(
      (type) => !type.name.startsWith('__') && !['Query', 'Mutation'].includes(type.name),
    );
    for (const type of named) expect(html, type.name).toContain(`id="type-${type.name}"`);
    expect(html).toContain('id="Customer.email"');
    expect(html).toMatch(/id="Customer.email">.*<span class="badge sensitive">sensitive<\/span>/);
    expect(html).toContain('id="PermissionKey.AUDIT_READ"');
    // Every in-page link has its target, and no id is used twice.
    const known = new Set(ids(html));
    expect(ids(html).length).toBe(known.size);
    const broken = [...new Set(fragmentLinks(html))].filter((target) => !known.has(target));
    expect(broken).toEqual([]);
  });

  it('lists the whole error catalog and every example operation, grouped by file', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(html).toContain(
        `<tr id="error-${code}"><td><code>${code}</code></td><td>${entry.httpStatus}</td><td>${entry.retryable ? 'yes' : 'no'}</td>`,
      );
    }
    const operations = exampleOperations();
    expect(operations.length).toBeGreaterThan(10);
    for (const { file, name } of operations) {
      const fileSection = html.indexOf(`id="examples-${file.replace('.graphql', '')}"`);
      const operation = html.indexOf(`id="op-${name}"`);
      expect(fileSection, file).toBeGreaterThan(0);
      expect(operation, name).toBeGreaterThan(fileSection);
    }
    expect(html).toContain(escapeHtml(readFileSync(join(OPERATIONS_DIR, 'mobile.graphql'), 'utf8').split('\n\n')[1]!));
  });

  it('shows a sign-in example that is valid against the schema', () => {
    expect(validate(schema, parse(LOGIN_EXAMPLE))).toEqual([]);
    expect(html).toContain(`<pre><code>${escapeHtml(LOGIN_EXAMPLE)}</code></pre>`);
  });

  it('escapes every text taken from the SDL and the operations', () => {
    const hostile = buildSchema(`
      directive @auth(anyOf: [PermissionKey!]) on FIELD_DEFINITION
      directive @public on FIELD_DEFINITION
      enum PermissionKey {
        "<b>bold</b> permission"
        ADMIN
      }
      "Evil <script>alert(1)</script> & \\"quotes\\""
      type Query {
        "<img src=x onerror=alert(1)>"
        evil(arg: String = "</code><script>x</script>"): String @auth(anyOf: [ADMIN])
        open: String @public
      }
    `);
    const dir = mkdtempSync(join(tmpdir(), 'api-docs-ops-'));
    try {
      writeFileSync(join(dir, 'evil<x>.graphql'), '# <script>alert(2)</script>\n\nquery Evil { evil(arg: "<i>") }\n');
      const page = renderApiDocs({ schema: hostile, operationsDir: dir }).html;
      expect(page).not.toMatch(/<script|<img|<b>|<i>|<x>/);
      expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(page).toContain('&quot;&lt;/code&gt;&lt;script&gt;x&lt;/script&gt;&quot;');
      expect(page).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
      expect(page).toContain('evil(arg: &quot;&lt;i&gt;&quot;)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still serves the reference when the build ships no example operations', () => {
    const page = renderApiDocs({ schema, operationsDir: join(tmpdir(), 'api-docs-no-such-dir') }).html;
    expect(page).toContain('This build ships no example operations.');
    expect(page).toContain('id="Query.products"');
  });

  it('renders in headless Chromium with no CSP violation; a wrong style hash is reported (control)', async () => {
    expect(chromiumAvailable(), CHROMIUM_MISSING).toBe(true);
    const [rendered, control] = await Promise.all([
      chromium(`${url}${API_DOCS_PATH}`, ['--dump-dom']),
      chromium(`${url}/control/wrong-style-hash`, ['--dump-dom']),
    ]);
    expectRenderedReference(rendered.stdout, rendered.stderr);
    expect(cspMessages(rendered.stderr)).toEqual([]);
    // The detector works: Chromium does report a blocked inline style on stderr.
    expect(cspMessages(control.stderr).join('\n')).toMatch(/style-src/);
  });
});

// ---- the route in the app ----------------------------------------------------------------------------

describe('API reference (/api/docs) in the app', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('is served with the app security headers and its own strict CSP', async () => {
    const res = await fetch(`${t.url}${API_DOCS_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('etag')).toBeTruthy();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; /);
    expect(csp).not.toContain('unsafe-inline');
    const body = await res.text();
    expect(body).toContain('id="Query.products"');
    // The app's schema (with the field rate limits applied) documents the same as the built one.
    expect(body).toContain('at most 10 calls per 1m per caller');
  });

  it('renders in headless Chromium: headings and content, a non-empty screenshot, no CSP violation', async () => {
    expect(chromiumAvailable(), CHROMIUM_MISSING).toBe(true);
    const { dom, png, stderr } = await renderInChromium(`${t.url}${API_DOCS_PATH}`);
    expectRenderedReference(dom, stderr);
    expectPng(png);
    expect(cspMessages(stderr)).toEqual([]);
  });
});

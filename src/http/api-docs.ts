import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { getDirective } from '@graphql-tools/utils';
import {
  astFromValue,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  print,
  specifiedDirectives,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
} from 'graphql';
import type { FastifyInstance } from 'fastify';
import { ERROR_CATALOG, type ErrorCode } from '../errors/index.js';
import { renderedPageCsp } from './security.js';

/** Where the reference is served. */
export const API_DOCS_PATH = '/api/docs';

export interface ApiDocsOptions {
  /** The schema the gateway serves; the page documents exactly what its SDL publishes. */
  schema: GraphQLSchema;
  /** Folder of the clients' example operations (`schema/operations/*.graphql`). */
  operationsDir: string;
}

export interface ApiDocsPage {
  html: string;
  /** Strong ETag of `html`. */
  etag: string;
  /** The page's own Content-Security-Policy (its inline style pinned by hash). */
  csp: string;
}

/** The sign-in step the overview shows; a test keeps it valid against the schema. */
export const LOGIN_EXAMPLE = `mutation Login($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) {
    accessToken
    refreshToken
    mfaRequired
    mfaToken
  }
}`;

const CACHE_CONTROL = 'public, max-age=300';

/**
 * `GET /api/docs`: an HTML reference generated once, here, from the schema's SDL (types, fields,
 * descriptions, the access each root field requires, rate limits and cache hints), the error
 * catalog and the example operations. Served in every environment: it shows only what the SDL
 * publishes and does not depend on introspection. No script, nothing loaded from elsewhere.
 */
export function registerApiDocsRoute(server: FastifyInstance, options: ApiDocsOptions): void {
  const page = renderApiDocs(options);
  server.get(API_DOCS_PATH, (request, reply) => {
    void reply
      .header('cache-control', CACHE_CONTROL)
      .header('etag', page.etag)
      .header('content-security-policy', page.csp);
    if (etagMatches(request.headers['if-none-match'], page.etag)) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(page.html);
  });
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** Renders the whole page; pure apart from reading `operationsDir`. */
export function renderApiDocs(options: ApiDocsOptions): ApiDocsPage {
  const docs = new DocsRenderer(options.schema);
  const examples = loadExamples(options.operationsDir);
  const html = docs.page(examples);
  return {
    html,
    etag: `"${createHash('sha256').update(html, 'utf8').digest('base64url').slice(0, 32)}"`,
    csp: renderedPageCsp([STYLE]),
  };
}

// ---- example operations ------------------------------------------------------------------------

interface ExampleOperation {
  name: string;
  kind: OperationDefinitionNode['operation'];
  /** The operation as written, plus the fragments it uses. */
  source: string;
  /** The `#` comment lines right above it. */
  note: string;
  /** The Query/Mutation fields it selects. */
  rootFields: string[];
}

interface ExampleFile {
  file: string;
  /** The comment block at the top of the file. */
  summary: string;
  operations: ExampleOperation[];
}

function loadExamples(dir: string): ExampleFile[] | undefined {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((name) => name.endsWith('.graphql'))
      .sort();
  } catch (error) {
    // A build shipped without its operations still serves the reference, minus the examples.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = files.map((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    let document: DocumentNode;
    try {
      document = parse(text);
    } catch (error) {
      throw new Error(`API docs: ${file} is not valid GraphQL: ${(error as Error).message}`, { cause: error });
    }
    return { file, text, document };
  });
  const fragments = new Map<string, { node: FragmentDefinitionNode; text: string }>();
  for (const { text, document } of parsed) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        fragments.set(definition.name.value, { node: definition, text: sourceOf(text, definition) });
      }
    }
  }
  return parsed.map(({ file, text, document }) => ({
    file,
    summary: leadingComment(text.split('\n')),
    operations: document.definitions
      .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      .map((operation) => {
        const used = usedFragments(operation, fragments);
        return {
          name: operation.name?.value ?? '(anonymous)',
          kind: operation.operation,
          source: [sourceOf(text, operation), ...used.map((name) => fragments.get(name)!.text)].join('\n\n'),
          note: leadingComment(
            text
              .slice(0, operation.loc?.start ?? 0)
              .split('\n')
              .slice(0, -1),
            true,
          ),
          rootFields: operation.selectionSet.selections.flatMap((selection) =>
            selection.kind === Kind.FIELD && !selection.name.value.startsWith('__') ? [selection.name.value] : [],
          ),
        };
      }),
  }));
}

function sourceOf(text: string, node: { loc?: { start: number; end: number } }): string {
  return node.loc ? text.slice(node.loc.start, node.loc.end) : print(node as never);
}

/** The `#` comment lines at the top of `lines` (or, `fromEnd`, right above the last line). */
function leadingComment(lines: string[], fromEnd = false): string {
  const ordered = fromEnd ? [...lines].reverse() : lines;
  const comment: string[] = [];
  for (const line of ordered) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('#')) break;
    comment.push(trimmed.replace(/^#\s?/, ''));
  }
  return (fromEnd ? comment.reverse() : comment).join(' ');
}

function usedFragments(
  root: OperationDefinitionNode,
  fragments: ReadonlyMap<string, { node: FragmentDefinitionNode }>,
): string[] {
  const seen = new Set<string>();
  const pending: Array<OperationDefinitionNode | FragmentDefinitionNode> = [root];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.get(name);
        if (seen.has(name) || !fragment) return;
        seen.add(name);
        pending.push(fragment.node);
      },
    });
  }
  return [...seen];
}

// ---- HTML ----------------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** A description: escaped, `code` spans kept, blank lines as paragraph breaks. */
function prose(text: string | null | undefined, className = 'desc'): string {
  if (!text?.trim()) return '';
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((paragraph) => `<p class="${className}">${inlineCode(escapeHtml(paragraph.trim()))}</p>`)
    .join('');
}

function inlineCode(escaped: string): string {
  return escaped.replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** One line of description for table cells (no paragraphs). */
function cellText(text: string | null | undefined): string {
  return text?.trim() ? inlineCode(escapeHtml(text.trim())).replace(/\n\s*\n/g, '<br>') : '';
}

const typeId = (name: string) => `type-${name}`;
const memberId = (owner: string, member: string) => `${owner}.${member}`;
const errorId = (code: string) => `error-${code}`;

type Access = { kind: 'public' } | { kind: 'authenticated' } | { kind: 'permissions'; anyOf: string[] };

interface RateLimit {
  window: string;
  max: number;
  identityArgs?: string[];
}

interface CacheHint {
  maxAge?: number;
  scope?: string;
  inheritMaxAge?: boolean;
}

class DocsRenderer {
  private readonly types: GraphQLNamedType[];

  constructor(private readonly schema: GraphQLSchema) {
    this.types = Object.values(schema.getTypeMap())
      .filter((type) => !type.name.startsWith('__') && !this.isRoot(type))
      .sort(byName);
  }

  page(examples: ExampleFile[] | undefined): string {
    const query = this.schema.getQueryType();
    const mutation = this.schema.getMutationType();
    const byKind = this.typesByKind();
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>ERP GraphQL API reference</title>
<style>${STYLE}</style>
</head>
<body>
${this.nav(query, mutation, byKind, examples)}
<main>
<header id="top">
<h1>ERP GraphQL API reference</h1>
<p class="lede">Generated from the schema this gateway serves: ${this.counts(query, mutation)}.
Every field says who may call it; every error carries a code from the <a href="#error-codes">catalog</a>.</p>
</header>
${this.overview()}
${query ? this.rootSection('queries', 'Queries', query) : ''}
${mutation ? this.rootSection('mutations', 'Mutations', mutation) : ''}
${this.typesSection(byKind)}
${this.directivesSection()}
${this.errorsSection()}
${this.examplesSection(examples)}
</main>
</body>
</html>
`;
  }

  // ---- layout --------------------------------------------------------------------------------------

  private isRoot(type: GraphQLNamedType): boolean {
    return [this.schema.getQueryType(), this.schema.getMutationType(), this.schema.getSubscriptionType()].some(
      (root) => root?.name === type.name,
    );
  }

  private typesByKind() {
    return {
      objects: this.types.filter((t) => isObjectType(t) || isInterfaceType(t) || isUnionType(t)),
      inputs: this.types.filter(isInputObjectType),
      enums: this.types.filter(isEnumType),
      scalars: this.types.filter(isScalarType),
    };
  }

  private counts(query: GraphQLObjectType | null | undefined, mutation: GraphQLObjectType | null | undefined) {
    const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
    return [
      n(Object.keys(query?.getFields() ?? {}).length, 'query', 'queries'),
      n(Object.keys(mutation?.getFields() ?? {}).length, 'mutation', 'mutations'),
      n(this.types.length, 'type', 'types'),
      n(Object.keys(ERROR_CATALOG).length, 'error code', 'error codes'),
    ].join(', ');
  }

  private nav(
    query: GraphQLObjectType | null | undefined,
    mutation: GraphQLObjectType | null | undefined,
    byKind: ReturnType<DocsRenderer['typesByKind']>,
    examples: ExampleFile[] | undefined,
  ): string {
    const list = (items: Array<[href: string, label: string]>) =>
      `<ul>${items.map(([href, label]) => `<li><a href="#${escapeHtml(href)}">${escapeHtml(label)}</a></li>`).join('')}</ul>`;
    const group = (title: string, href: string, items: Array<[string, string]>, open = false) =>
      `<details${open ? ' open' : ''}><summary><a href="#${href}">${title}</a> <span class="count">${items.length}</span></summary>${list(items)}</details>`;
    const fields = (root: GraphQLObjectType) =>
      sortedFields(root).map((f): [string, string] => [memberId(root.name, f.name), f.name]);
    const types = (list: GraphQLNamedType[]) => list.map((t): [string, string] => [typeId(t.name), t.name]);
    return `<nav aria-label="Contents">
<p class="nav-title"><a href="#top">API reference</a></p>
${list([
  ['overview', 'Overview'],
  ['authentication', 'Authentication'],
  ['persisted-operations', 'Persisted operations'],
])}
${query ? group('Queries', 'queries', fields(query), true) : ''}
${mutation ? group('Mutations', 'mutations', fields(mutation), true) : ''}
${group('Objects', 'objects', types(byKind.objects))}
${group('Input types', 'inputs', types(byKind.inputs))}
${group('Enums', 'enums', types(byKind.enums))}
${group('Scalars', 'scalars', types(byKind.scalars))}
${list([
  ['directives', 'Directives'],
  ['error-codes', 'Error codes'],
])}
${
  examples
    ? group(
        'Examples',
        'examples',
        examples.map((f): [string, string] => [exampleFileId(f.file), f.file]),
      )
    : ''
}
</nav>`;
  }

  // ---- overview --------------------------------------------------------------------------------------

  private overview(): string {
    const link = (root: 'Mutation' | 'Query', field: string) => this.rootFieldLink(root, field);
    return `<section id="overview">
<h2>Overview</h2>
<h3 id="endpoint">Endpoint</h3>
<p>One endpoint, <code>/graphql</code> on this host. Send <code>POST</code> with a JSON body
<code>{"query": "…", "variables": {…}, "operationName": "…"}</code> and
<code>Content-Type: application/json</code>. Queries may also be sent as <code>GET /graphql?query=…&amp;variables=…</code>
with an <code>apollo-require-preflight: true</code> header; public reads with a cache hint then come back cacheable with an
<code>ETag</code>. Requests that are neither (a simple form post, a plain <code>GET</code>) are refused as possible CSRF.</p>
<p>Every response carries <code>x-request-id</code>; quote it when reporting a problem.</p>

<h3 id="authentication">Authentication</h3>
<ol>
<li>Sign in with ${link('Mutation', 'login')}: it returns a short-lived <code>accessToken</code> and a <code>refreshToken</code>.
When <code>mfaRequired</code> is true, send the <code>mfaToken</code> and a TOTP or backup code to ${link('Mutation', 'verifyMfaLogin')} instead.</li>
<li>Send the access token on every request: <code>Authorization: Bearer &lt;accessToken&gt;</code>.</li>
<li>Before it expires, exchange the refresh token with ${link('Mutation', 'refreshToken')} (each refresh token works once);
${link('Mutation', 'logout')} ends the session.</li>
</ol>
<pre><code>${escapeHtml(LOGIN_EXAMPLE)}</code></pre>
<p>What a field requires is shown with it:</p>
<ul class="legend">
<li>${accessBadge({ kind: 'public' })}: anyone may call it, signed in or not.</li>
<li>${accessBadge({ kind: 'authenticated' })}: any signed-in caller; without a valid token the answer is ${this.errorLink('UNAUTHENTICATED')}.</li>
<li><span class="badge perm">any of</span> <em>permissions</em>: the caller must hold at least one of the listed ${this.typeLink('PermissionKey', 'permissions')}; otherwise ${this.errorLink('FORBIDDEN')}.</li>
<li><span class="badge limit">rate limit</span>: at most <em>max</em> calls per sliding window per caller (the user, else the client address);
over it: ${this.errorLink('RATE_LIMITED')} with <code>extensions.retryAfterSeconds</code>.</li>
<li><span class="badge cache">cache</span>: how long a result may be cached; a response is cacheable for the shortest hint of the fields it holds.</li>
<li><span class="badge sensitive">sensitive</span>: personal data; every read is recorded in the audit log.</li>
</ul>

<h3 id="persisted-operations">Persisted operations</h3>
<p>The gateway may run only known operations: the client apps' operations are published as persisted-operation manifests
(the <a href="#examples">examples below</a> are those operations), and a client sends an operation's id
(<code>extensions.persistedQuery.sha256Hash</code>) instead of, or along with, its document. What happens depends on the
gateway's mode:</p>
<table>
<thead><tr><th>Mode</th><th>What runs</th><th>Unknown document or id</th></tr></thead>
<tbody>
<tr><td><code>safelist</code> (production default)</td><td>Only the manifests' operations, by id or as their document.</td><td>${this.errorLink('PERSISTED_QUERY_NOT_IN_LIST')}</td></tr>
<tr><td><code>audit</code></td><td>Everything; unknown operations are logged and counted.</td><td>An unknown id: ${this.errorLink('PERSISTED_QUERY_NOT_FOUND')}</td></tr>
<tr><td><code>apq</code></td><td>Everything, with automatic persisted queries: send the hash, and the document once when told.</td><td>${this.errorLink('PERSISTED_QUERY_NOT_FOUND')}: send the same request again with the full <code>query</code>.</td></tr>
<tr><td><code>off</code></td><td>Full documents only.</td><td>An id: ${this.errorLink('PERSISTED_QUERY_NOT_SUPPORTED')}</td></tr>
</tbody>
</table>

<h3 id="errors-overview">Errors</h3>
<p>A refused or failed request answers with <code>errors[]</code>; each error has a stable <code>extensions.code</code> from the
<a href="#error-codes">error catalog</a> (also the ${this.typeLink('ErrorCode', '<code>ErrorCode</code>')} enum), a correlation id (<code>extensions.correlationId</code>), and,
where the catalog says so, details such as <code>extensions.fields</code> for invalid input. Switch on the code, never on the message.</p>
</section>`;
  }

  // ---- root fields -----------------------------------------------------------------------------------

  private rootSection(id: string, title: string, root: GraphQLObjectType): string {
    const fields = sortedFields(root);
    return `<section id="${id}">
<h2>${title}</h2>
${fields.map((field) => this.rootField(root, field)).join('\n')}
</section>`;
  }

  private rootField(root: GraphQLObjectType, field: GraphQLField<unknown, unknown>): string {
    const access = this.accessOf(field);
    return `<article class="field" id="${escapeHtml(memberId(root.name, field.name))}">
<h3><code>${escapeHtml(field.name)}</code></h3>
${prose(field.description)}
<dl class="facts">
<dt>Returns</dt><dd><code>${this.typeRef(field.type)}</code></dd>
<dt>Access</dt><dd>${access ? accessBadge(access) : '<span class="badge">not declared</span>'}</dd>
${this.limitAndCache(field)}
${field.deprecationReason ? `<dt>Deprecated</dt><dd>${cellText(field.deprecationReason)}</dd>` : ''}
</dl>
${field.args.length > 0 ? this.argumentsTable(field.args) : ''}
</article>`;
  }

  private limitAndCache(field: GraphQLField<unknown, unknown>): string {
    const limit = this.directive<RateLimit>(field, 'rateLimit');
    const cache = this.directive<CacheHint>(field, 'cacheControl');
    const parts: string[] = [];
    if (limit) parts.push(`<dt>Rate limit</dt><dd>${rateLimitText(limit)}</dd>`);
    if (cache) parts.push(`<dt>Cache</dt><dd>${cacheText(cache)}</dd>`);
    return parts.join('');
  }

  private argumentsTable(args: readonly GraphQLArgument[]): string {
    return `<table class="args">
<thead><tr><th>Argument</th><th>Type</th><th>Default</th><th>Description</th></tr></thead>
<tbody>
${[...args]
  .sort(byName)
  .map(
    (arg) =>
      `<tr><td><code>${escapeHtml(arg.name)}</code></td><td><code>${this.typeRef(arg.type)}</code></td><td>${defaultValue(arg)}</td><td>${cellText(arg.description)}${arg.deprecationReason ? ` <span class="badge deprecated">deprecated</span> ${cellText(arg.deprecationReason)}` : ''}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`;
  }

  // ---- types -----------------------------------------------------------------------------------------

  private typesSection(byKind: ReturnType<DocsRenderer['typesByKind']>): string {
    return `<section id="types">
<h2>Types</h2>
<h3 id="objects">Objects</h3>
${byKind.objects.map((type) => this.outputType(type)).join('\n')}
<h3 id="inputs">Input types</h3>
${byKind.inputs.map((type) => this.inputType(type)).join('\n')}
<h3 id="enums">Enums</h3>
${byKind.enums.map((type) => this.enumType(type)).join('\n')}
<h3 id="scalars">Scalars</h3>
${byKind.scalars.map((type) => this.scalarType(type)).join('\n')}
</section>`;
  }

  private typeHeading(type: GraphQLNamedType, kind: string): string {
    return `<h4><code>${escapeHtml(type.name)}</code> <span class="kind">${kind}</span></h4>`;
  }

  private outputType(type: GraphQLNamedType): string {
    if (isUnionType(type)) {
      return `<article class="type" id="${escapeHtml(typeId(type.name))}">
${this.typeHeading(type, 'union')}
${prose(type.description)}
<p>One of: ${type
        .getTypes()
        .map((member) => `<code>${this.typeRef(member)}</code>`)
        .join(', ')}</p>
</article>`;
    }
    if (!isObjectType(type) && !isInterfaceType(type)) return '';
    const cache = this.directive<CacheHint>(type, 'cacheControl');
    const interfaces = type.getInterfaces();
    return `<article class="type" id="${escapeHtml(typeId(type.name))}">
${this.typeHeading(type, isInterfaceType(type) ? 'interface' : 'object')}
${prose(type.description)}
${interfaces.length > 0 ? `<p>Implements ${interfaces.map((i) => `<code>${this.typeRef(i)}</code>`).join(', ')}</p>` : ''}
${cache ? `<p><span class="badge cache">cache</span> ${cacheText(cache)}</p>` : ''}
<table class="fields">
<thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead>
<tbody>
${sortedFields(type)
  .map((field) => this.objectFieldRow(type.name, field))
  .join('\n')}
</tbody>
</table>
</article>`;
  }

  private objectFieldRow(owner: string, field: GraphQLField<unknown, unknown>): string {
    const notes: string[] = [];
    const access = this.accessOf(field);
    if (access) notes.push(accessBadge(access));
    if (this.directive(field, 'sensitive')) notes.push('<span class="badge sensitive">sensitive</span>');
    const limit = this.directive<RateLimit>(field, 'rateLimit');
    if (limit) notes.push(`<span class="badge limit">rate limit</span> ${rateLimitText(limit)}`);
    const cache = this.directive<CacheHint>(field, 'cacheControl');
    if (cache) notes.push(`<span class="badge cache">cache</span> ${cacheText(cache)}`);
    if (field.deprecationReason) {
      notes.push(`<span class="badge deprecated">deprecated</span> ${cellText(field.deprecationReason)}`);
    }
    const args =
      field.args.length > 0
        ? `<ul class="inline-args">${[...field.args]
            .sort(byName)
            .map(
              (arg) =>
                `<li><code>${escapeHtml(arg.name)}: ${this.typeRef(arg.type)}${arg.defaultValue !== undefined ? ` = ${defaultValue(arg)}` : ''}</code> ${cellText(arg.description)}</li>`,
            )
            .join('')}</ul>`
        : '';
    return `<tr id="${escapeHtml(memberId(owner, field.name))}"><td><code>${escapeHtml(field.name)}</code></td><td><code>${this.typeRef(field.type)}</code></td><td>${cellText(field.description)}${args}${notes.length > 0 ? `<div class="notes">${notes.join(' ')}</div>` : ''}</td></tr>`;
  }

  private inputType(type: GraphQLNamedType): string {
    if (!isInputObjectType(type)) return '';
    const fields = Object.values(type.getFields()).sort(byName);
    return `<article class="type" id="${escapeHtml(typeId(type.name))}">
${this.typeHeading(type, type.isOneOf ? 'input, exactly one field' : 'input')}
${prose(type.description)}
<table class="fields">
<thead><tr><th>Field</th><th>Type</th><th>Default</th><th>Description</th></tr></thead>
<tbody>
${fields
  .map(
    (field) =>
      `<tr id="${escapeHtml(memberId(type.name, field.name))}"><td><code>${escapeHtml(field.name)}</code></td><td><code>${this.typeRef(field.type)}</code></td><td>${defaultValue(field)}</td><td>${cellText(field.description)}${field.deprecationReason ? ` <span class="badge deprecated">deprecated</span> ${cellText(field.deprecationReason)}` : ''}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
</article>`;
  }

  private enumType(type: GraphQLNamedType): string {
    if (!isEnumType(type)) return '';
    const isErrorCode = type.name === 'ErrorCode';
    return `<article class="type" id="${escapeHtml(typeId(type.name))}">
${this.typeHeading(type, 'enum')}
${prose(type.description)}
<table class="values">
<thead><tr><th>Value</th><th>Description</th></tr></thead>
<tbody>
${type
  .getValues()
  .map((value) => {
    const catalog = isErrorCode && Object.hasOwn(ERROR_CATALOG, value.name);
    const description = value.description ?? (catalog ? ERROR_CATALOG[value.name as ErrorCode].description : '');
    return `<tr id="${escapeHtml(memberId(type.name, value.name))}"><td><code>${escapeHtml(value.name)}</code></td><td>${cellText(description)}${catalog ? ` <a href="#${errorId(value.name)}">In the catalog</a>` : ''}${value.deprecationReason ? ` <span class="badge deprecated">deprecated</span> ${cellText(value.deprecationReason)}` : ''}</td></tr>`;
  })
  .join('\n')}
</tbody>
</table>
</article>`;
  }

  private scalarType(type: GraphQLNamedType): string {
    if (!isScalarType(type)) return '';
    const specifiedBy = type.specifiedByURL;
    return `<article class="type" id="${escapeHtml(typeId(type.name))}">
${this.typeHeading(type, 'scalar')}
${prose(type.description)}
${specifiedBy ? `<p>Specified by <a href="${escapeHtml(specifiedBy)}" rel="noreferrer noopener">${escapeHtml(specifiedBy)}</a></p>` : ''}
</article>`;
  }

  // ---- directives, errors, examples ------------------------------------------------------------------

  private directivesSection(): string {
    const builtIn = new Set(specifiedDirectives.map((d) => d.name));
    const directives = this.schema
      .getDirectives()
      .filter((d) => !builtIn.has(d.name))
      .sort(byName);
    return `<section id="directives">
<h2>Directives</h2>
<p>The schema's own directives; the reference above already shows what each one means for a field.</p>
<table>
<thead><tr><th>Directive</th><th>Arguments</th><th>Description</th></tr></thead>
<tbody>
${directives
  .map(
    (d) =>
      `<tr id="directive-${escapeHtml(d.name)}"><td><code>@${escapeHtml(d.name)}</code></td><td>${[...d.args]
        .sort(byName)
        .map((arg) => `<code>${escapeHtml(arg.name)}: ${this.typeRef(arg.type)}</code>`)
        .join('<br>')}</td><td>${cellText(d.description)}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
</section>`;
  }

  private errorsSection(): string {
    return `<section id="error-codes">
<h2>Error codes</h2>
<p>Every error a client sees has one of these codes in <code>extensions.code</code>. <em>HTTP</em> is the status of a
request refused as a whole with the code (before anything runs, or throttled with nothing answered); an error of one
field during execution comes back in <code>errors[]</code> beside the data, with 200. <em>Retryable</em>: the same request
may succeed later, after <code>Retry-After</code> when the response has one.</p>
<table class="errors">
<thead><tr><th>Code</th><th>HTTP</th><th>Retryable</th><th>Default message</th><th>Meaning</th></tr></thead>
<tbody>
${(Object.entries(ERROR_CATALOG) as Array<[ErrorCode, (typeof ERROR_CATALOG)[ErrorCode]]>)
  .map(
    ([code, entry]) =>
      `<tr id="${errorId(code)}"><td><code>${escapeHtml(code)}</code></td><td>${entry.httpStatus}</td><td>${entry.retryable ? 'yes' : 'no'}</td><td>${escapeHtml(entry.message)}</td><td>${cellText(entry.description)}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
</section>`;
  }

  private examplesSection(examples: ExampleFile[] | undefined): string {
    if (!examples || examples.length === 0) {
      return `<section id="examples"><h2>Example operations</h2><p>This build ships no example operations.</p></section>`;
    }
    return `<section id="examples">
<h2>Example operations</h2>
<p>The operations of the client apps, as published in the persisted-operation manifests, grouped by app.</p>
${examples
  .map(
    (file) => `<section class="example-file" id="${exampleFileId(file.file)}">
<h3><code>${escapeHtml(file.file)}</code></h3>
${prose(file.summary)}
${file.operations.map((operation) => this.example(operation)).join('\n')}
</section>`,
  )
  .join('\n')}
</section>`;
  }

  private example(operation: ExampleOperation): string {
    const root = operation.kind === 'mutation' ? 'Mutation' : operation.kind === 'query' ? 'Query' : 'Subscription';
    const uses = operation.rootFields.map((name) => {
      const field = this.rootType(root)?.getFields()[name];
      const access = field ? this.accessOf(field) : undefined;
      return `${this.rootFieldLink(root, name)}${access ? ` ${accessBadge(access)}` : ''}`;
    });
    return `<article class="example" id="op-${escapeHtml(operation.name)}">
<h4><code>${escapeHtml(operation.name)}</code> <span class="kind">${operation.kind}</span></h4>
${prose(operation.note)}
${uses.length > 0 ? `<p class="uses">Calls ${uses.join(', ')}</p>` : ''}
<pre><code>${escapeHtml(operation.source)}</code></pre>
</article>`;
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  private rootType(root: 'Query' | 'Mutation' | 'Subscription'): GraphQLObjectType | null | undefined {
    if (root === 'Query') return this.schema.getQueryType();
    if (root === 'Mutation') return this.schema.getMutationType();
    return this.schema.getSubscriptionType();
  }

  /** A link to a root field when the schema has it, plain code otherwise. */
  private rootFieldLink(root: 'Query' | 'Mutation' | 'Subscription', name: string): string {
    const type = this.rootType(root);
    const label = `<code>${escapeHtml(name)}</code>`;
    return type?.getFields()[name] && root !== 'Subscription'
      ? `<a href="#${escapeHtml(memberId(type.name, name))}">${label}</a>`
      : label;
  }

  /** A link to a named type when the schema has it; `label` is HTML. */
  private typeLink(name: string, label: string): string {
    return this.schema.getType(name) ? `<a href="#${escapeHtml(typeId(name))}">${label}</a>` : label;
  }

  private errorLink(code: ErrorCode): string {
    return `<a href="#${errorId(code)}"><code>${code}</code></a>`;
  }

  private typeRef(type: GraphQLType): string {
    if (isNonNullType(type)) return `${this.typeRef(type.ofType)}!`;
    if (isListType(type)) return `[${this.typeRef(type.ofType)}]`;
    return `<a href="#${escapeHtml(typeId(type.name))}">${escapeHtml(type.name)}</a>`;
  }

  private directive<T extends object = Record<string, unknown>>(
    node: GraphQLField<unknown, unknown> | GraphQLNamedType,
    name: string,
  ): T | undefined {
    return getDirective(this.schema, node, name)?.[0] as T | undefined;
  }

  private accessOf(field: GraphQLField<unknown, unknown>): Access | undefined {
    if (this.directive(field, 'public')) return { kind: 'public' };
    const auth = this.directive<{ anyOf?: string[] }>(field, 'auth');
    if (!auth) return undefined;
    return auth.anyOf && auth.anyOf.length > 0 ? { kind: 'permissions', anyOf: auth.anyOf } : { kind: 'authenticated' };
  }
}

function sortedFields(type: { getFields(): Record<string, GraphQLField<unknown, unknown>> }) {
  return Object.values(type.getFields()).sort(byName);
}

/** Case-insensitive, then by code point: the same order on every machine, so every instance sends the same ETag. */
function byName(a: { name: string }, b: { name: string }): number {
  const [x, y] = [a.name.toLowerCase(), b.name.toLowerCase()];
  if (x !== y) return x < y ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function exampleFileId(file: string): string {
  return `examples-${basename(file, '.graphql').replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function defaultValue(input: GraphQLArgument | GraphQLInputField): string {
  if (input.defaultValue === undefined) return '';
  const ast = astFromValue(input.defaultValue, input.type);
  return ast ? `<code>${escapeHtml(print(ast))}</code>` : '';
}

function accessBadge(access: Access): string {
  if (access.kind === 'public') return '<span class="badge public">public</span>';
  if (access.kind === 'authenticated') return '<span class="badge auth">authenticated</span>';
  const permissions = access.anyOf.map(
    (key) => `<a href="#${escapeHtml(memberId('PermissionKey', key))}"><code>${escapeHtml(key)}</code></a>`,
  );
  return `<span class="badge perm">any of</span> ${permissions.join(' ')}`;
}

function rateLimitText(limit: RateLimit): string {
  const per = limit.identityArgs?.length
    ? `, counted separately per ${limit.identityArgs.map((path) => `<code>${escapeHtml(path)}</code>`).join(', ')}`
    : '';
  return `at most ${escapeHtml(String(limit.max))} calls per ${escapeHtml(limit.window)} per caller${per}`;
}

function cacheText(hint: CacheHint): string {
  if (hint.inheritMaxAge) return 'inherits the cache age of the field that returns it';
  if (hint.maxAge === undefined) return escapeHtml(hint.scope ?? '');
  const scope = hint.scope === 'PRIVATE' ? ' (private: the caller only)' : '';
  return hint.maxAge === 0 ? 'not cacheable' : `cacheable for ${escapeHtml(String(hint.maxAge))} s${scope}`;
}

/** The page's only style; pinned in the CSP by its hash. */
const STYLE = `
:root{--fg:#1d232b;--muted:#5b6573;--bg:#fff;--panel:#f5f7fa;--line:#dde2e8;--link:#0b5cad;--code:#eef1f5;
--public:#1f7a3a;--auth:#6b4fb3;--perm:#a35200;--limit:#a3123a;--cache:#0b6f80;--sens:#7a3b00}
@media (prefers-color-scheme:dark){:root{--fg:#e3e7ec;--muted:#9aa5b1;--bg:#14181d;--panel:#1b2027;--line:#2d343d;
--link:#6cb0ff;--code:#232a33;--public:#5fd38a;--auth:#b9a3ff;--perm:#ffb35c;--limit:#ff7a9a;--cache:#5fd3e4;--sens:#ffa860}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
display:grid;grid-template-columns:17rem minmax(0,1fr)}
a{color:var(--link);text-decoration:none}
a:hover{text-decoration:underline}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.9em}
:not(pre)>code{background:var(--code);padding:.05em .3em;border-radius:3px}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem;overflow:auto;line-height:1.4}
nav{position:sticky;top:0;height:100vh;overflow:auto;border-right:1px solid var(--line);background:var(--panel);padding:1rem;font-size:.9rem}
nav ul{list-style:none;margin:.2rem 0 .6rem;padding:0 0 0 .6rem}
nav li{margin:.1rem 0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
nav summary{cursor:pointer;font-weight:600;margin:.3rem 0}
.nav-title{font-weight:700;font-size:1.05rem;margin:0 0 .6rem}
.count{color:var(--muted);font-weight:400;font-size:.8em}
main{padding:1.5rem 2.5rem 4rem;max-width:72rem}
h1{font-size:1.9rem;margin:.2rem 0 .4rem}
h2{font-size:1.45rem;margin:2.8rem 0 .8rem;padding-bottom:.3rem;border-bottom:2px solid var(--line)}
h3{font-size:1.15rem;margin:1.8rem 0 .5rem}
h4{font-size:1.02rem;margin:1.4rem 0 .4rem}
.lede{color:var(--muted);font-size:1.05rem}
.kind{color:var(--muted);font-weight:400;font-size:.8em}
article{border-top:1px solid var(--line);padding:.2rem 0 .6rem}
article:target,tr:target{background:var(--panel);outline:2px solid var(--link);outline-offset:2px}
.desc{margin:.3rem 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .6rem;border-bottom:1px solid var(--line)}
th{background:var(--panel);font-weight:600}
td:first-child{white-space:nowrap}
.inline-args{margin:.3rem 0 0;padding-left:1rem;color:var(--muted)}
.notes{margin-top:.25rem}
.legend li{margin:.25rem 0}
.badge{display:inline-block;font-size:.75rem;font-weight:600;letter-spacing:.02em;padding:.05rem .45rem;border-radius:999px;
border:1px solid currentColor;color:var(--muted);vertical-align:baseline}
.badge.public{color:var(--public)}
.badge.auth{color:var(--auth)}
.badge.perm{color:var(--perm)}
.badge.limit{color:var(--limit)}
.badge.cache{color:var(--cache)}
.badge.sensitive{color:var(--sens)}
.uses{margin:.3rem 0}
@media (max-width:900px){body{display:block}nav{position:static;height:auto;border-right:0;border-bottom:1px solid var(--line)}main{padding:1rem}}
`;

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { HTTPGraphQLRequest } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { Kind, parse, print, specifiedRules, validate, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import { AppError, ErrorCode } from '../errors/index.js';
import type { Logger } from '../observability/logger.js';

/** One operation of an Apollo persisted query manifest, with the manifest it came from. */
export interface PersistedOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
  /** File name of the manifest, e.g. one per client app version (logs and metrics). */
  manifest: string;
}

/** The union of the configured manifests, each document parsed and validated once. */
export interface PersistedOperations {
  byId: ReadonlyMap<string, { operation: PersistedOperation; document: DocumentNode }>;
  /** Normalized form (see `normalizeDocument`) → operation, for clients that send the document. */
  byNormalized: ReadonlyMap<string, PersistedOperation>;
}

/** A manifest that cannot be served: startup stops and names every problem. */
export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`Persisted-operation manifests are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The form two documents share when they differ only in layout, comments, definition order or
 * `__typename` selections (which Apollo Client adds): the operation first, then fragments by
 * name, without `__typename`, printed by graphql-js.
 */
export function normalizeDocument(document: DocumentNode): string {
  const stripped = visit(document, {
    Field(node) {
      return node.name.value === '__typename' && !node.alias ? null : undefined;
    },
  });
  const definitions = [...stripped.definitions].sort((a, b) => {
    const rank = (d: (typeof stripped.definitions)[number]) => (d.kind === Kind.OPERATION_DEFINITION ? 0 : 1);
    const name = (d: (typeof stripped.definitions)[number]) => ('name' in d && d.name ? d.name.value : '');
    return rank(a) - rank(b) || name(a).localeCompare(name(b));
  });
  return print({ ...stripped, definitions });
}

const OPERATION_TYPES = new Set(['query', 'mutation', 'subscription']);

function readManifest(path: string, problems: string[]): PersistedOperation[] {
  const label = basename(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    problems.push(`${label}: cannot be read as JSON (${(error as Error).message})`);
    return [];
  }
  const manifest = raw as { format?: unknown; version?: unknown; operations?: unknown };
  if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1) {
    problems.push(`${label}: not an Apollo persisted query manifest (format/version 1)`);
    return [];
  }
  if (!Array.isArray(manifest.operations)) {
    problems.push(`${label}: operations must be an array`);
    return [];
  }
  const operations: PersistedOperation[] = [];
  for (const [index, item] of (manifest.operations as Record<string, unknown>[]).entries()) {
    const { id, name, type, body } = item ?? {};
    if (
      typeof id !== 'string' ||
      typeof name !== 'string' ||
      typeof body !== 'string' ||
      !OPERATION_TYPES.has(String(type))
    ) {
      problems.push(`${label}: operation ${index} needs string id, name, body and a query/mutation/subscription type`);
      continue;
    }
    if (sha256Hex(body) !== id) {
      problems.push(`${label}: operation ${name} has id ${id}, which is not the sha256 of its body`);
      continue;
    }
    operations.push({ id, name, type: type as PersistedOperation['type'], body, manifest: label });
  }
  return operations;
}

/**
 * Loads and checks every manifest: ids are the sha256 of their bodies, each body is one named
 * operation (plus its fragments) that is valid against the schema. Done once at startup, so
 * requests for manifest operations skip parsing and validation.
 */
export function loadPersistedOperations(paths: readonly string[], schema: GraphQLSchema): PersistedOperations {
  const problems: string[] = [];
  const byId = new Map<string, { operation: PersistedOperation; document: DocumentNode }>();
  const byNormalized = new Map<string, PersistedOperation>();
  for (const path of paths) {
    for (const operation of readManifest(path, problems)) {
      if (byId.has(operation.id)) continue; // the same document in two app versions' manifests
      let document: DocumentNode;
      try {
        document = parse(operation.body);
      } catch (error) {
        problems.push(`${operation.manifest}: ${operation.name} does not parse (${(error as Error).message})`);
        continue;
      }
      const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      if (operations.length !== 1 || operations[0]?.name?.value !== operation.name) {
        problems.push(`${operation.manifest}: ${operation.name} must hold exactly that one named operation`);
        continue;
      }
      const errors = validate(schema, document, specifiedRules);
      if (errors.length > 0) {
        problems.push(
          `${operation.manifest}: ${operation.name} is not valid against the schema: ${errors[0]?.message}`,
        );
        continue;
      }
      byId.set(operation.id, { operation, document });
      byNormalized.set(normalizeDocument(document), operation);
    }
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return { byId, byNormalized };
}

/** Apollo prefixes its cache keys (a schema hash, `apq:`) with colons; the query hash comes last. */
function queryHashOfKey(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

/**
 * Apollo's document store (parsed and validated documents by query hash) with the manifest's
 * documents always present: a request whose document is a manifest body, or that sends only a
 * manifest id, is neither parsed nor validated again. Other documents are cached as usual.
 */
export function createDocumentStore(operations: PersistedOperations | undefined): KeyValueCache<DocumentNode> {
  const cache = new LRUCache<string, DocumentNode>({
    maxSize: 30 * 1024 * 1024,
    // Roughly the memory of a parsed document: a few times its printed size.
    sizeCalculation: (document) => Math.max(1, (document.loc?.end ?? 1_000) * 4),
  });
  const manifestDocument = (key: string) => operations?.byId.get(queryHashOfKey(key))?.document;
  return {
    async get(key) {
      return manifestDocument(key) ?? cache.get(key);
    },
    async set(key, value) {
      if (!manifestDocument(key)) cache.set(key, value);
    },
    async delete(key) {
      cache.delete(key);
    },
  };
}

export interface PersistedOperationStats {
  /** Requests that ran a manifest operation (by id or by document). */
  hits: number;
  /** audit mode: requests that ran a document the manifests do not hold. */
  unknown: number;
  /** safelist mode: requests refused with PERSISTED_QUERY_NOT_IN_LIST. */
  rejected: number;
}

export interface PersistedOperationsGateOptions {
  mode: 'safelist' | 'audit';
  operations: PersistedOperations;
  logger: Logger;
  /** Parser options (token limit) for documents that must be normalized to be recognised. */
  parseOptions: { maxTokens: number };
  stats: PersistedOperationStats;
}

/**
 * What the gate decided: the request to run (its document filled in) and the manifest operation it
 * is, when it is one; or the coded refusal.
 */
export type GateDecision = { request: HTTPGraphQLRequest; operation?: PersistedOperation } | { error: AppError };

/**
 * Safelist and audit modes (DESIGN.md section 5), in front of Apollo Server. A request may name
 * a manifest operation by id (`extensions.persistedQuery.sha256Hash`, as Apollo Client's
 * persisted-queries link sends it, in a POST body or a GET query string) or send its document in
 * any layout; in safelist mode anything else is refused before it is parsed or validated. Audit
 * mode runs everything and logs each unknown document once. Requests the gate cannot read (bad
 * JSON, batches) pass unchanged for Apollo to refuse with its own errors.
 */
export function createPersistedOperationsGate(options: PersistedOperationsGateOptions) {
  // parseOptions is the object Apollo parses with, so a configuration reload reaches both.
  const { mode, operations, logger, parseOptions, stats } = options;
  const safelist = mode === 'safelist';
  // Query hash → the manifest operation it normalizes to, so a document that is not
  // byte-identical to its manifest body is parsed for recognition once, not per request.
  const recognised = new LRUCache<string, PersistedOperation | { unknown: true }>({ max: 10_000 });

  function recognise(query: string, knownHash: string | undefined): PersistedOperation | undefined {
    const queryHash = knownHash ?? sha256Hex(query);
    const exact = operations.byId.get(queryHash);
    if (exact) return exact.operation;
    let known = recognised.get(queryHash);
    if (!known) {
      let normalized: string | undefined;
      try {
        normalized = normalizeDocument(parse(query, parseOptions));
      } catch {
        normalized = undefined; // not even GraphQL: certainly not in the list
      }
      known = (normalized !== undefined && operations.byNormalized.get(normalized)) || { unknown: true };
      recognised.set(queryHash, known);
      if ('unknown' in known && !safelist) {
        logger.info('persisted operations: unknown operation', { queryHash, length: query.length });
      }
    }
    return 'unknown' in known ? undefined : known;
  }

  /**
   * The document of a request, its own query or the manifest body its id names, with its sha256
   * when the request already carried (and so proved) it.
   */
  function resolve(
    query: unknown,
    extensions: Record<string, unknown> | undefined,
  ): { document: string; hash: string | undefined } | AppError | undefined {
    const persisted = extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
    if (persisted === undefined) return typeof query === 'string' ? { document: query, hash: undefined } : undefined;
    const id = persisted.sha256Hash;
    if (persisted.version !== 1 || typeof id !== 'string') {
      return new AppError(ErrorCode.BAD_REQUEST, {
        message: 'extensions.persistedQuery needs version 1 and a sha256Hash.',
      });
    }
    if (typeof query === 'string' && query !== '') {
      if (sha256Hex(query) !== id) {
        return new AppError(ErrorCode.BAD_REQUEST, { message: 'The sha256Hash does not match the query.' });
      }
      return { document: query, hash: id };
    }
    const entry = operations.byId.get(id);
    if (entry) return { document: entry.operation.body, hash: id };
    if (safelist) return new AppError(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST);
    // Audit mode: an APQ-style client answers this by sending the document.
    return new AppError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, { message: 'PersistedQueryNotFound' });
  }

  /**
   * Resolves and admits a request's document; `rewrite` puts a document named by id into the
   * request in place of the persistedQuery extension (`rest` is what remains of the extensions).
   */
  function decide(
    request: HTTPGraphQLRequest,
    query: unknown,
    extensions: Record<string, unknown> | undefined,
    rewrite: (document: string, rest: Record<string, unknown>) => HTTPGraphQLRequest,
  ): GateDecision {
    const resolved = resolve(query, extensions);
    if (resolved instanceof AppError) return { error: resolved };
    if (resolved === undefined) return { request };
    const { document, hash } = resolved;
    const admitted = admitDocument(document, hash);
    if (admitted instanceof AppError) return { error: admitted };
    const operation = admitted;
    if (!extensions?.persistedQuery) return { request, operation };
    const { persistedQuery: _persisted, ...rest } = extensions;
    return { request: rewrite(document, rest), operation };
  }

  /** The manifest operation a document is, or the refusal (safelist); undefined for an unknown one in audit mode. */
  function admitDocument(document: string, hash: string | undefined): PersistedOperation | AppError | undefined {
    const operation = recognise(document, hash);
    if (operation) {
      stats.hits += 1;
      return operation;
    }
    if (safelist) {
      stats.rejected += 1;
      return new AppError(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST);
    }
    stats.unknown += 1;
    return undefined;
  }

  function admitGet(request: HTTPGraphQLRequest): GateDecision {
    const params = new URLSearchParams(request.search);
    let extensions: Record<string, unknown> | undefined;
    const rawExtensions = params.get('extensions');
    if (rawExtensions) {
      try {
        extensions = JSON.parse(rawExtensions) as Record<string, unknown>;
      } catch {
        return { request };
      }
    }
    return decide(request, params.get('query') ?? undefined, extensions, (document, rest) => {
      params.set('query', document);
      if (Object.keys(rest).length > 0) params.set('extensions', JSON.stringify(rest));
      else params.delete('extensions');
      return { ...request, search: `?${params.toString()}` };
    });
  }

  function admitPost(request: HTTPGraphQLRequest): GateDecision {
    const body = request.body as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return { request };
    const extensions =
      body.extensions && typeof body.extensions === 'object' ? (body.extensions as Record<string, unknown>) : undefined;
    // Apollo's own APQ handling is off in this mode: the request now carries its document.
    return decide(request, body.query, extensions, (document, rest) => ({
      ...request,
      body: { ...body, query: document, extensions: rest },
    }));
  }

  return {
    admit(request: HTTPGraphQLRequest): GateDecision {
      if (request.method === 'GET') return admitGet(request);
      if (request.method === 'POST') return admitPost(request);
      return { request };
    },
  };
}

export type PersistedOperationsGate = ReturnType<typeof createPersistedOperationsGate>;

/**
 * APQ mode's store: manifest operations are always registered (a client built with the
 * manifest never needs the register round trip); everything else comes from `store`.
 */
export function withManifestOperations(
  store: KeyValueCache<string>,
  operations: PersistedOperations | undefined,
): KeyValueCache<string> {
  const manifestBody = (key: string) => operations?.byId.get(queryHashOfKey(key))?.operation.body;
  return {
    async get(key) {
      return manifestBody(key) ?? store.get(key);
    },
    async set(key, value, options) {
      if (!manifestBody(key)) await store.set(key, value, options);
    },
    async delete(key) {
      return store.delete(key);
    },
  };
}

import type { HTTPGraphQLRequest } from '@apollo/server';
import { LRUCache } from 'lru-cache';
import { AppError, ErrorCode } from '../errors/index.js';
import type { Identity, VerifiedToken } from '../modules/identity/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { PersistedOperation } from './persisted-operations.js';
import { entityTag, matchesEntityTag } from './plugins/http-cache.plugin.js';
import {
  costExtension,
  costHeaders,
  type createRequestCharger,
  type RateLimitOptions,
} from './plugins/rate-limit.plugin.js';

export interface CachedReadLaneOptions {
  /** The catalog version the database announces (src/platform/db/version-watch.ts); `unknown` closes the lane. */
  catalogVersion: () => string;
  authenticate: Identity['authenticate'];
  /** The same charge the rate-limit plugin applies (IP and user windows, cost budget). */
  charge: ReturnType<typeof createRequestCharger>;
  limits: RateLimitOptions['limits'];
  metrics: Metrics;
  /** The response cache's hit counter: a hit here is a response-cache hit too. */
  stats: { hits: number };
  /** Most bytes of response data held per instance. @default 64 MiB */
  maxBytes?: number;
}

/** A manifest query this lane could answer: its cache key and the catalog version it was read under. */
export interface CachedRead {
  operation: PersistedOperation;
  key: string;
  version: string;
}

/** What the route sends for a hit: a complete response, or a coded refusal (rate limit). */
export type LaneResponse =
  | { kind: 'response'; status: 200; headers: [string, string][]; body: Buffer }
  | { kind: 'response'; status: 304; headers: [string, string][] }
  | { kind: 'refused'; error: AppError; headers: [string, string][] };

interface Entry {
  /** `data` of the response, serialized and UTF-8 encoded once: a hit copies bytes, it encodes nothing. */
  data: Buffer;
  cacheControl: string;
  etag: string;
  cost: number;
}

const PUBLIC_MAX_AGE = /^max-age=(\d+), public$/;
const DATA_OPEN = Buffer.from('{"data":');
const DATA_CLOSE = Buffer.from('}');

function variablesOf(request: HTTPGraphQLRequest): { variables: string; operationName: unknown } | undefined {
  if (request.method === 'GET') {
    const params = new URLSearchParams(request.search);
    const raw = params.get('variables');
    try {
      return { variables: JSON.stringify(raw ? JSON.parse(raw) : {}), operationName: params.get('operationName') };
    } catch {
      return undefined; // Apollo answers the malformed request
    }
  }
  const body = request.body as { variables?: unknown; operationName?: unknown } | null;
  if (body === null || typeof body !== 'object') return undefined;
  const variables = body.variables ?? {};
  if (typeof variables !== 'object') return undefined;
  return { variables: JSON.stringify(variables), operationName: body.operationName };
}

/**
 * The cached-read lane (issue 7): public catalog reads answered in front of Apollo from an
 * in-process copy of responses Apollo already produced. Only manifest queries whose whole result
 * Apollo declared `public` with a max-age (the schema's `@cacheControl` hints) and that had no
 * errors are kept, under the catalog version they were read at, for at most that max-age; a
 * change to products, variants, stock or warehouses moves the version and makes every older
 * entry unreachable, exactly like the shared response cache behind it. A hit still authenticates
 * the caller (a presented token that does not check out goes to Apollo, which answers 401) and
 * pays the same rate limits and cost budget, and the client sees the same body, headers, ETag
 * and 304 as from Apollo. Misses, private data and everything else take the normal path.
 */
export function createCachedReadLane(options: CachedReadLaneOptions) {
  const { catalogVersion, authenticate, charge, limits, metrics, stats } = options;
  const entries = new LRUCache<string, Entry>({
    maxSize: options.maxBytes ?? 64 * 1024 * 1024,
    sizeCalculation: (entry) => entry.data.length + entry.etag.length + 64,
  });
  let entriesVersion = '';

  return {
    /** The read a request would be, when it is a manifest query and the catalog version is known. */
    begin(operation: PersistedOperation | undefined, request: HTTPGraphQLRequest): CachedRead | undefined {
      if (operation?.type !== 'query') return undefined;
      const version = catalogVersion();
      if (version === 'unknown') return undefined;
      const parts = variablesOf(request);
      if (!parts) return undefined;
      // An operationName other than the manifest's is Apollo's to refuse.
      if (parts.operationName != null && parts.operationName !== operation.name) return undefined;
      if (version !== entriesVersion) {
        // Everything older is unreachable: free it now rather than when it ages out.
        entries.clear();
        entriesVersion = version;
      }
      return { operation, version, key: `${operation.id}:${parts.variables}` };
    },

    /** Answers a read from the lane, or returns undefined for Apollo to run it. */
    async serve(
      read: CachedRead,
      request: HTTPGraphQLRequest,
      caller: { clientIp: string },
    ): Promise<LaneResponse | undefined> {
      const started = performance.now();
      const entry = read.version === entriesVersion ? entries.get(read.key) : undefined;
      if (!entry) return undefined;
      let token: VerifiedToken | undefined;
      try {
        token = await authenticate.verify(request.headers.get('authorization'));
      } catch {
        return undefined; // Apollo's path formats the 401 and logs it
      }
      // The token's revocation state is read in the charge's round trip: one Redis command per
      // hit instead of two. A revoked token is charged, then answered 401 by Apollo's path.
      const outcome = await charge(
        { clientIp: caller.clientIp, userId: token?.userId ?? null, cost: entry.cost },
        token?.revocationKeys,
      );
      if (token) {
        try {
          await authenticate.confirm(token, outcome.values);
        } catch {
          return undefined;
        }
      }
      if (outcome.refused) {
        const { message, retryAfterSeconds } = outcome.refused;
        return {
          kind: 'refused',
          error: new AppError(ErrorCode.RATE_LIMITED, { message, details: { retryAfterSeconds } }),
          headers: [['retry-after', String(retryAfterSeconds)]],
        };
      }
      stats.hits += 1;
      const name = read.operation.name;
      metrics.graphql.operations.inc({ operation_name: name, type: 'query', status: 'success' });
      metrics.graphql.duration.observe({ operation_name: name, type: 'query' }, (performance.now() - started) / 1000);
      const headers: [string, string][] = [
        ['content-type', 'application/json; charset=utf-8'],
        ['cache-control', entry.cacheControl],
        ...(outcome.report ? costHeaders(limits, outcome.report) : []),
      ];
      if (request.method === 'GET') {
        headers.push(['etag', entry.etag]);
        const ifNoneMatch = request.headers.get('if-none-match');
        if (ifNoneMatch && matchesEntityTag(ifNoneMatch, entry.etag)) {
          return { kind: 'response', status: 304, headers };
        }
      }
      const close = outcome.report
        ? Buffer.from(`,"extensions":{"cost":${JSON.stringify(costExtension(outcome.report))}}}`)
        : DATA_CLOSE;
      return { kind: 'response', status: 200, headers, body: Buffer.concat([DATA_OPEN, entry.data, close]) };
    },

    /** Keeps Apollo's answer to a read when the whole of it is public, cacheable and error-free. */
    remember(
      read: CachedRead,
      response: { status?: number; headers: Map<string, string>; body: { kind: string; string?: string } },
    ): void {
      if ((response.status ?? 200) !== 200 || response.body.kind !== 'complete') return;
      const maxAge = PUBLIC_MAX_AGE.exec(response.headers.get('cache-control') ?? '');
      if (!maxAge || Number(maxAge[1]) <= 0 || read.version !== entriesVersion) return;
      const parsed = JSON.parse(response.body.string ?? '{}') as {
        data?: unknown;
        errors?: unknown;
        extensions?: { cost?: { requested?: number } };
      };
      // The cost the rate-limit plugin charged; without it (an allowlisted caller) there is none to reuse.
      const cost = parsed.extensions?.cost?.requested;
      if (parsed.errors || parsed.data == null || cost === undefined) return;
      const data = JSON.stringify(parsed.data);
      // The ETag of src/graphql/plugins/http-cache.plugin.ts: over the data only.
      const etag = entityTag(data);
      entries.set(
        read.key,
        { data: Buffer.from(data), etag, cacheControl: maxAge[0], cost },
        { ttl: Number(maxAge[1]) * 1000 },
      );
    },

    stats: () => ({ entries: entries.size, bytes: entries.calculatedSize }),
  };
}

export type CachedReadLane = ReturnType<typeof createCachedReadLane>;

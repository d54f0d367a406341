import type { ApolloServerPlugin, HTTPGraphQLRequest } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import { AppError, ErrorCode } from '../errors/index.js';
import type { Identity, VerifiedToken } from '../modules/identity/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { VersionWatch } from '../platform/db/version-watch.js';
import type { GraphQLContext } from './context.js';
import type { PersistedOperation } from './persisted-operations.js';
import { entityTag, matchesEntityTag } from './plugins/http-cache.plugin.js';
import {
  costExtension,
  costHeaders,
  type createRequestCharger,
  type RateLimitOptions,
} from './plugins/rate-limit.plugin.js';

export interface CachedReadLaneOptions {
  /**
   * The catalog changes the database announces (src/platform/db/version-watch.ts): entries live
   * under the version of the last whole-catalog change (`unknown` closes the lane) until a
   * change to the stock they show. Stock changes name their variants.
   */
  catalog: Pick<VersionWatch, 'unkeyed' | 'changes'>;
  authenticate: Identity['authenticate'];
  /** The same charge the rate-limit plugin applies (IP and user windows, cost budget). */
  charge: ReturnType<typeof createRequestCharger>;
  limits: RateLimitOptions['limits'];
  metrics: Metrics;
  /** The response cache's counters: a hit here is a response-cache hit too; `coalesced` counts reads that waited for the same read. */
  stats: { hits: number; coalesced: number };
  /** Most bytes of response data held per instance. @default 64 MiB */
  maxBytes?: number;
  /** Longest a read waits for the same read already running before it runs itself (the execution timeout). @default 10 s */
  maxCoalesceWaitMs?: number;
}

/**
 * What a read's answer depends on, recorded while Apollo executes it: the variants whose stock it
 * showed. An answer that was not executed (the shared cache's) has unknown dependencies.
 */
export class CacheDependencies {
  readonly stockOfVariants = new Set<string>();
  executed = false;
  /** The result Apollo serialized into the response (set when it sends it, executed or not). */
  result: FormattedExecutionResult | undefined;

  /** Called by every resolver that reads stock levels (ProductVariant.stockLevels). */
  stockOf(variantId: string): void {
    this.stockOfVariants.add(variantId);
  }
}

/** A manifest query this lane could answer: its cache key and the catalog state it was read under. */
export interface CachedRead {
  operation: PersistedOperation;
  key: string;
  /** The whole-catalog version when the read began. */
  version: string;
  /** The keyed-change mark when the read began: stock changes heard after it are newer than the answer. */
  mark: number;
  deps: CacheDependencies;
  /** Set when this read runs for the others waiting on the same key (see `settle`). */
  lead?: () => void;
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
  /** Served while no stock change to these variants (to any variant when undefined) was heard after `mark`. */
  mark: number;
  stockOfVariants: string[] | undefined;
}

/** Most reads waiting for another at once, per instance. */
const MAX_WAITING = 256;
const PUBLIC_MAX_AGE = /^max-age=(\d+), public$/;
const DATA_PREFIX = '{"data":';
const DATA_OPEN = Buffer.from(DATA_PREFIX);
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
 * errors are kept, for at most that max-age. A change to products, variants or warehouses makes
 * every entry unreachable. A stock change drops only the entries that showed that variant's
 * stock, and any stock change drops an answer that came from the shared cache (what it showed is
 * unknown). An entry records the change mark its read began at: every change heard before then is
 * in what the read saw, and one heard after it to a variant the entry shows makes it stale, whatever
 * the order of commits and notifications. A hit still authenticates the caller (a presented token
 * that does not check out goes to Apollo, which answers 401) and pays the same rate limits and
 * cost budget, and the client sees the same body, headers, ETag and 304 as from Apollo. A miss on a
 * key that was cacheable before waits for the same read when one is running (single flight: a
 * page that expires under load is read once, not once per waiting request). Misses, private data
 * and everything else take the normal path.
 */
export function createCachedReadLane(options: CachedReadLaneOptions) {
  const { catalog, authenticate, charge, limits, metrics, stats } = options;
  const entries = new LRUCache<string, Entry>({
    maxSize: options.maxBytes ?? 64 * 1024 * 1024,
    sizeCalculation: (entry) => entry.data.length + entry.etag.length + 64,
    // An entry is dropped when its max-age (10-30 s) ends, not when the bytes of later ones push
    // it out: the lane holds what was read in the last half minute, not 64 MiB of expired pages.
    ttlAutopurge: true,
  });
  let entriesVersion = '';
  const stale = (mark: number, variants: string[] | Set<string> | undefined) =>
    variants === undefined ? catalog.changes.anySince(mark) : catalog.changes.changedSince(mark, variants);
  // Single flight: a miss on a key that was cacheable before waits for the same read already
  // running, then takes its answer from here. Keys of private or failing reads never wait.
  const running = new Map<string, Promise<void>>();
  const cacheable = new LRUCache<string, true>({ max: 10_000 });
  const maxWaitMs = options.maxCoalesceWaitMs ?? 10_000;
  let waiting = 0;

  /** The entry for a read, when there is one its read may still be answered with. */
  function current(read: CachedRead): Entry | undefined {
    const entry = read.version === entriesVersion ? entries.get(read.key) : undefined;
    if (entry && stale(entry.mark, entry.stockOfVariants)) {
      entries.delete(read.key);
      return undefined;
    }
    return entry;
  }

  /**
   * For a key that was cacheable before: waits (bounded) for the same read when one is running, or
   * makes this read the one others wait for. Other keys (private, failing, new) run alone.
   */
  async function afterRunning(read: CachedRead): Promise<Entry | undefined> {
    if (!cacheable.has(read.key)) return undefined;
    const pending = running.get(read.key);
    // Waiting reads are outside admission control: past MAX_WAITING they run (and may be shed).
    if (pending && waiting < MAX_WAITING) {
      stats.coalesced += 1;
      waiting += 1;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pending, new Promise((resolve) => (timer = setTimeout(resolve, maxWaitMs)))]);
      clearTimeout(timer);
      waiting -= 1;
      const entry = current(read);
      if (entry) return entry;
    }
    if (!running.has(read.key)) {
      let done!: () => void;
      running.set(read.key, new Promise<void>((resolve) => (done = resolve)));
      read.lead = () => {
        running.delete(read.key);
        done();
      };
    }
    return undefined;
  }

  return {
    /** The read a request would be, when it is a manifest query and the catalog version is known. */
    begin(operation: PersistedOperation | undefined, request: HTTPGraphQLRequest): CachedRead | undefined {
      if (operation?.type !== 'query') return undefined;
      const version = catalog.unkeyed();
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
      return {
        operation,
        version,
        key: `${operation.id}:${parts.variables}`,
        mark: catalog.changes.mark(),
        deps: new CacheDependencies(),
      };
    },

    /** Answers a read from the lane, or returns undefined for Apollo to run it. */
    async serve(
      read: CachedRead,
      request: HTTPGraphQLRequest,
      caller: { clientIp: string },
    ): Promise<LaneResponse | undefined> {
      const started = performance.now();
      const entry = current(read) ?? (await afterRunning(read));
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
      const result = read.deps.result;
      if (!result || result.errors || result.data == null) return;
      // The cost the rate-limit plugin charged; without it (an allowlisted caller) there is none to reuse.
      const cost = (result.extensions?.cost as { requested?: number } | undefined)?.requested;
      if (cost === undefined) return;
      const stockOfVariants = read.deps.executed ? [...read.deps.stockOfVariants] : undefined;
      // A change heard while it ran: serve() would drop it anyway, so it is not stored.
      if (stale(read.mark, stockOfVariants)) return;
      const data = dataText(response.body.string ?? '', result);
      // The ETag of src/graphql/plugins/http-cache.plugin.ts: over the data only.
      const etag = entityTag(data);
      cacheable.set(read.key, true);
      entries.set(
        read.key,
        { data: Buffer.from(data), etag, cacheControl: maxAge[0], cost, mark: read.mark, stockOfVariants },
        { ttl: Number(maxAge[1]) * 1000 },
      );
    },

    /** Ends a read that went to Apollo: the reads waiting for it look for its answer now. Always called. */
    settle(read: CachedRead): void {
      read.lead?.();
      read.lead = undefined;
    },

    stats: () => ({ entries: entries.size, bytes: entries.calculatedSize }),
  };
}

export type CachedReadLane = ReturnType<typeof createCachedReadLane>;

/**
 * Tells a read's dependencies whether Apollo executed it (rather than answering from the shared
 * cache), and hands the lane the result it sent, so the lane need not parse the body again.
 */
export const cacheDependenciesPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async executionDidStart({ contextValue }) {
        if (contextValue.cacheDeps) contextValue.cacheDeps.executed = true;
      },
      async willSendResponse({ contextValue, response }) {
        if (contextValue.cacheDeps && response.body.kind === 'single') {
          contextValue.cacheDeps.result = response.body.singleResult;
        }
      },
    };
  },
};

/**
 * The `data` part of Apollo's body, as text. Apollo writes `JSON.stringify({ errors, data,
 * extensions }) + '\n'`; when the body is exactly that, `data` is cut out of it rather than
 * serialized a second time (53 KB for a catalog page). Anything else is serialized.
 */
function dataText(body: string, result: FormattedExecutionResult): string {
  const tail = result.extensions === undefined ? '}\n' : `,"extensions":${JSON.stringify(result.extensions)}}\n`;
  if (body.startsWith(DATA_PREFIX) && body.endsWith(tail)) return body.slice(DATA_PREFIX.length, -tail.length);
  return JSON.stringify(result.data);
}

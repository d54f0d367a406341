import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../observability/logger.js';

export interface VersionWatchOptions {
  /** Connection string of the database (one connection of its own: LISTEN needs to keep it). */
  url: string;
  /**
   * NOTIFY channel whose payloads are a version number, optionally followed by `:` and the keys
   * that change alone concerned (comma-separated): `42` changed everything, `43:a,b` only a and b.
   */
  channel: string;
  /** Sequence the versions come from, read on every (re)connect to catch up. */
  sequence: string;
  /** Notifications within this window are applied together (bursts of writes flush once). */
  coalesceMs: number;
  logger: Logger;
  /** Most keys whose last change is remembered; past it the record restarts as one whole change. @default 100_000 */
  maxKeys?: number;
}

/**
 * The order in which keyed changes were heard, for caches that keep an entry until one of its
 * keys changes. A read takes a `mark()` before it starts; its result is current while
 * `changedSince(mark, its keys)` is false. Marks are local to this instance.
 */
export interface KeyedChanges {
  mark(): number;
  /** Whether a change to one of `keys`, or to everything, was heard after `mark`. */
  changedSince(mark: number, keys: Iterable<string>): boolean;
  /** Whether any change at all, keyed or not, was heard after `mark`. */
  anySince(mark: number): boolean;
}

export interface VersionWatch {
  /**
   * The version to key shared caches by; `unknown` until the first read and while disconnected.
   * It changes on every change heard: `42`, `42~41` when 41 committed after 42, and `42@a1b2c3d4`
   * (this instance's own) after a (re)connect, until the next higher version.
   */
  current(): string;
  /**
   * The newest version of a change that was not keyed (or was missed while disconnected);
   * `unknown` like `current`. Entries under it also need `changes` to stay current.
   */
  unkeyed(): string;
  changes: KeyedChanges;
  close(): Promise<void>;
}

const KEYED_PAYLOAD = /^(\d+)(?::(.+))?$/;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Follows a version that database triggers bump with `pg_notify(channel, nextval(sequence))`:
 * every instance converges on the same number, so it can be part of a shared cache key. While
 * the connection is down the version is `unknown` (callers then skip the cache), and each
 * reconnect reads the sequence again, so no change is missed: what happened meanwhile counts
 * as a change to everything. A keyed notification moves `current` but not `unkeyed`, and
 * records its keys in `changes`.
 */
export function watchVersion(options: VersionWatchOptions): VersionWatch {
  const { url, channel, sequence, coalesceMs, logger } = options;
  if (!IDENTIFIER.test(channel) || !IDENTIFIER.test(sequence)) throw new Error('invalid channel or sequence name');
  const maxKeys = options.maxKeys ?? 100_000;
  let version = 'unknown';
  let unkeyedVersion = 'unknown';
  // The highest version heard, and the version the pending batch ends on (see `versionAfter`).
  let highest: bigint | undefined;
  let pendingVersion: string | undefined;
  let pendingUnkeyed: bigint | undefined;
  const pendingKeys = new Set<string>();
  // Keyed changes: a counter of applied batches, the batch each key last changed in, and the
  // batch of the last change to everything (keys older than it need no record).
  let heard = 0;
  let everything = 0;
  const lastChange = new Map<string, number>();
  let flush: NodeJS.Timeout | undefined;
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  const handled = new WeakSet<pg.Client>();

  const newer = (current: string, next: bigint) =>
    current === 'unknown' || next > BigInt(current) ? next.toString() : current;

  /**
   * The shared version after a notification. Versions are taken when a statement runs, not when
   * it commits, so a change can arrive after a higher one: it still moves the version (to
   * `highest~late`), or answers cached under `highest` without it would stay reachable. Every
   * instance hears notifications in commit order, so instances that heard the same ones agree.
   */
  const versionAfter = (value: bigint): string => {
    if (highest === undefined || value > highest) {
      highest = value;
      return value.toString();
    }
    return `${highest}~${value}`;
  };

  /** Applies a batch: the version it ends on, whether something unkeyed changed, the keys changed. */
  const apply = (next: string, unkeyed: bigint | undefined, keys: Iterable<string>) => {
    version = next;
    heard += 1;
    if (unkeyed !== undefined) {
      unkeyedVersion = newer(unkeyedVersion, unkeyed);
      everything = heard;
      lastChange.clear();
      return;
    }
    for (const key of keys) lastChange.set(key, heard);
    if (lastChange.size > maxKeys) {
      // Bounded memory: forgetting which keys changed makes it a change to everything.
      everything = heard;
      lastChange.clear();
      unkeyedVersion = version;
    }
  };

  function clearPending(): void {
    clearTimeout(flush);
    flush = undefined;
    pendingVersion = undefined;
    pendingUnkeyed = undefined;
    pendingKeys.clear();
  }

  const connect = async () => {
    const next = new pg.Client({ connectionString: url, application_name: 'erp-gateway-version-watch' });
    next.on('notification', (message) => {
      if (message.channel !== channel || !message.payload) return;
      const parsed = KEYED_PAYLOAD.exec(message.payload);
      if (!parsed) {
        logger.warn('version watch ignored a malformed notification', { channel });
        return;
      }
      const value = BigInt(parsed[1]!);
      pendingVersion = versionAfter(value);
      if (parsed[2] === undefined) {
        pendingUnkeyed = pendingUnkeyed === undefined || value > pendingUnkeyed ? value : pendingUnkeyed;
      } else {
        for (const key of parsed[2].split(',')) pendingKeys.add(key);
      }
      flush ??= setTimeout(() => {
        if (pendingVersion !== undefined) apply(pendingVersion, pendingUnkeyed, pendingKeys);
        clearPending();
      }, coalesceMs);
    });
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, new Error('connection ended')));
    try {
      await next.connect();
      await next.query(`LISTEN ${channel}`);
      const { rows } = await next.query<{ last_value: string }>(`SELECT last_value::text FROM ${sequence}`);
      client = next;
      if (failures > 0) logger.info('version watch reconnected', { channel });
      failures = 0;
      // Whatever changed while nobody listened is unknown: a change to everything. Until the next
      // higher version, this instance's version is its own: another's under the same number may
      // lack a change that committed late, before this connection listened.
      const last = BigInt(rows[0]?.last_value ?? '0');
      clearPending();
      highest = highest === undefined || last > highest ? last : highest;
      apply(`${highest}@${randomUUID().slice(0, 8)}`, last, []);
    } catch (error) {
      await next.end().catch(() => undefined);
      lost(next, error as Error);
    }
  };

  function lost(which: pg.Client, error: Error): void {
    // A client reports its loss once (error and end both fire), and only the current one counts.
    if (closed || handled.has(which) || (client !== undefined && client !== which)) return;
    handled.add(which);
    client = undefined;
    version = 'unknown';
    unkeyedVersion = 'unknown';
    // A batch heard before the loss must not reopen the caches while nobody listens.
    clearPending();
    failures += 1;
    if (failures === 1)
      logger.warn('version watch lost its connection: caching paused', { channel, error: error.message });
    clearTimeout(retry);
    retry = setTimeout(() => void connect(), Math.min(5_000, 250 * 2 ** Math.min(failures, 5)));
    retry.unref();
  }

  void connect();
  return {
    current: () => version,
    unkeyed: () => unkeyedVersion,
    changes: {
      mark: () => heard,
      changedSince(mark, keys) {
        if (everything > mark) return true;
        for (const key of keys) if ((lastChange.get(key) ?? 0) > mark) return true;
        return false;
      },
      anySince: (mark) => heard > mark,
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      clearTimeout(flush);
      await client?.end().catch(() => undefined);
    },
  };
}

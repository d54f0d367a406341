import pg from 'pg';
import type { Logger } from '../../observability/logger.js';

export interface VersionWatchOptions {
  /** Connection string of the database (one connection of its own: LISTEN needs to keep it). */
  url: string;
  /** NOTIFY channel whose payloads are version numbers. */
  channel: string;
  /** Sequence the versions come from, read on every (re)connect to catch up. */
  sequence: string;
  /** Notifications within this window are applied together (bursts of writes flush once). */
  coalesceMs: number;
  logger: Logger;
}

export interface VersionWatch {
  /** The newest version seen; `unknown` until the first read and while disconnected. */
  current(): string;
  close(): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Follows a version that database triggers bump with `pg_notify(channel, nextval(sequence))`:
 * every instance converges on the same number, so it can be part of a shared cache key. While
 * the connection is down the version is `unknown` (callers then skip the cache), and each
 * reconnect reads the sequence again, so no change is missed.
 */
export function watchVersion(options: VersionWatchOptions): VersionWatch {
  const { url, channel, sequence, coalesceMs, logger } = options;
  if (!IDENTIFIER.test(channel) || !IDENTIFIER.test(sequence)) throw new Error('invalid channel or sequence name');
  let version = 'unknown';
  let pending: bigint | undefined;
  let flush: NodeJS.Timeout | undefined;
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  const handled = new WeakSet<pg.Client>();

  const apply = (next: bigint) => {
    if (version === 'unknown' || next > BigInt(version)) version = next.toString();
  };

  const connect = async () => {
    const next = new pg.Client({ connectionString: url, application_name: 'erp-gateway-version-watch' });
    next.on('notification', (message) => {
      if (message.channel !== channel || !message.payload) return;
      const value = BigInt(message.payload);
      pending = pending === undefined || value > pending ? value : pending;
      flush ??= setTimeout(() => {
        flush = undefined;
        if (pending !== undefined) apply(pending);
        pending = undefined;
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
      apply(BigInt(rows[0]?.last_value ?? '0'));
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
    async close() {
      closed = true;
      clearTimeout(retry);
      clearTimeout(flush);
      await client?.end().catch(() => undefined);
    },
  };
}

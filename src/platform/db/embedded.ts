import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from '../../observability/logger.js';

export interface EmbeddedPostgresOptions {
  /** Data directory; created on first start and kept across restarts. */
  dataDir: string;
  /** Loopback port the Postgres wire protocol is served on. */
  port: number;
  logger: Logger;
  /**
   * Connections the socket server accepts; PGlite runs one statement at a time anyway, so this
   * only has to exceed the sum of every client pool. @default 20
   */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  connectionString: string;
  stop(): Promise<void>;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PGlite does not lock its data directory; two processes on one directory would corrupt it. */
function acquireLock(dataDir: string): () => void {
  const lockFile = join(dataDir, '.gateway.pid');
  try {
    const holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder)) {
      throw new Error(
        `The embedded database in ${dataDir} is in use by process ${holder}; stop it or set EMBEDDED_DB_DIR.`,
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

/**
 * A newcomer's database (DESIGN.md section 5): PGlite (Postgres compiled to WASM) served over
 * the Postgres wire protocol on loopback, so the gateway talks to it through the same
 * @prisma/adapter-pg path as to a real server. Development and test only: loadConfig refuses
 * to run without DATABASE_URL in staging and production.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  mkdirSync(options.dataDir, { recursive: true });
  const releaseLock = acquireLock(options.dataDir);
  const started = Date.now();
  try {
    // Extensions must be registered on every open, not only when first created.
    const db = await PGlite.create({ dataDir: options.dataDir, extensions: { citext } });
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: options.port,
      maxConnections: options.maxConnections ?? 20,
    });
    await server.start();
    options.logger.info('embedded Postgres (PGlite) started', {
      dataDir: options.dataDir,
      address: server.getServerConn(),
      durationMs: Date.now() - started,
    });
    return {
      connectionString: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
      async stop() {
        await server.stop();
        await db.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

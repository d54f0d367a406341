import { loadConfig, type AppConfig } from '../../config/index.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { findProjectRoot } from '../project-root.js';

export interface CliDatabase {
  config: AppConfig;
  logger: Logger;
  rootDir: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * The database a command-line tool works on: DATABASE_URL, or the embedded one the gateway
 * uses in development when nothing is configured.
 */
export async function openCliDatabase(): Promise<CliDatabase> {
  const rootDir = findProjectRoot();
  const config = loadConfig({ rootDir });
  const logger = createLogger({ level: 'info', format: config.log.format, secretValues: config.secretValues });
  if (config.database.url !== undefined) {
    return { config, logger, rootDir, url: config.database.url, stop: async () => undefined };
  }
  const { startEmbeddedPostgres } = await import('./embedded.js');
  const embedded = await startEmbeddedPostgres({ ...config.database.embedded, logger });
  return { config, logger, rootDir, url: embedded.connectionString, stop: () => embedded.stop() };
}

// The entry point: configuration, logger and tracing first, then the gateway itself, imported
// only once tracing is installed so that http, pg, ioredis and graphql are instrumented.
// Decorator metadata for type-graphql must exist before any resolver module is evaluated.
import 'reflect-metadata';
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, loadConfig, type AppConfig } from './config/index.js';
import { createLogger } from './observability/logger.js';
import { startTracing } from './observability/tracing.js';
import { findProjectRoot, readPackageVersion } from './platform/project-root.js';
// Types only: erased at compile time, so nothing of the gateway loads before tracing.
import type { Running } from './gateway.js';

async function main(): Promise<void> {
  const rootDir = findProjectRoot();
  let config: AppConfig;
  try {
    config = loadConfig({ rootDir });
  } catch (error) {
    // REQ 15.3: every problem named, then a non-zero exit. Messages never contain values.
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    secretValues: config.secretValues,
  });
  const tracing = startTracing(config.tracing, readPackageVersion(rootDir), logger);
  const { MigrationError, start, stop } = await import('./gateway.js');
  const running: Running = {};

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutdown started', { signal });
    const force = setTimeout(
      () => {
        logger.error('shutdown timed out; exiting', { timeoutMs: config.shutdownTimeoutMs });
        process.exit(1);
      },
      config.shutdownReadinessGraceMs + config.shutdownTimeoutMs + 5_000,
    );
    force.unref();
    stop(running, logger)
      // Telemetry is flushed last but one: the spans of the drained requests go out too.
      .then(() => tracing.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  // Hot reload (REQ 15.4): SIGHUP, or CONFIG_FILE changing, re-reads the configuration and
  // applies the log level, operation limits and rate limits; an invalid file changes nothing.
  const reload = (trigger: string) => {
    if (stopping || !running.app) return;
    let next: AppConfig;
    try {
      next = loadConfig({ rootDir });
    } catch (error) {
      logger.error('configuration reload refused: keeping the running configuration', {
        trigger,
        problems: error instanceof ConfigError ? error.problems : [String(error)],
      });
      return;
    }
    logger.info('configuration reload requested', { trigger });
    running.app.reload(next);
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (config.configFile && config.watchConfigFile) {
    const file = config.configFile;
    let debounce: NodeJS.Timeout | undefined;
    // The folder, not the file: editors and ConfigMap updates replace the file rather than write it.
    watch(dirname(file), (_event, name) => {
      // Kubernetes swaps a ConfigMap's files through its ..data link.
      if (name !== basename(file) && name !== '..data') return;
      clearTimeout(debounce);
      debounce = setTimeout(() => reload('CONFIG_FILE changed'), 200);
    }).unref();
  }

  try {
    await start(config, logger, rootDir, running);
  } catch (error) {
    if (error instanceof MigrationError)
      logger.error(error.message, { kind: error.kind, migrations: error.migrations });
    else logger.error('startup failed', { error });
    await stop(running, logger).catch(() => undefined);
    process.exitCode = 1;
    // Let the logger flush before the process ends.
    setTimeout(() => process.exit(1), 100).unref();
  }
}

void main();

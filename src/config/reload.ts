import type { AppConfig } from './load.js';

/** What SIGHUP or a changed CONFIG_FILE may change while the gateway runs (REQ 15.4). */
export interface ReloadableSettings {
  logLevel: string;
  limits: AppConfig['graphql']['limits'];
  rateLimits: AppConfig['graphql']['rateLimits'];
}

export function reloadableSettings(config: AppConfig): ReloadableSettings {
  return {
    logLevel: config.log.level,
    limits: { ...config.graphql.limits },
    rateLimits: { ...config.graphql.rateLimits, allowlist: [...config.graphql.rateLimits.allowlist] },
  };
}

function changedPaths(before: unknown, after: unknown, path: string, out: string[]): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  if (
    before !== null &&
    after !== null &&
    typeof before === 'object' &&
    typeof after === 'object' &&
    !Array.isArray(before) &&
    !Array.isArray(after)
  ) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      changedPaths(
        (before as Record<string, unknown>)[key],
        (after as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
        out,
      );
    }
    return;
  }
  out.push(path);
}

/**
 * Compares a freshly loaded configuration with the running one: the reloadable settings that
 * changed, and everything else that changed but needs a restart (connections, secrets, ports…).
 * Secret values are never named, only their settings' paths.
 */
export function compareForReload(running: AppConfig, next: AppConfig): { changed: string[]; needsRestart: string[] } {
  const changed: string[] = [];
  changedPaths(reloadableSettings(running), reloadableSettings(next), '', changed);
  const needsRestart: string[] = [];
  const fixed = (config: AppConfig) => {
    const { log: _log, graphql, generatedSecrets: _generated, secretValues: _values, ...rest } = config;
    const { limits: _limits, rateLimits: _rateLimits, ...graphqlRest } = graphql;
    return { ...rest, graphql: graphqlRest, logFormat: config.log.format };
  };
  changedPaths(fixed(running), fixed(next), '', needsRestart);
  return { changed, needsRestart };
}

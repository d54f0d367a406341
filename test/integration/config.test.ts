import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { ROOT, strongSecret } from '../helpers/kit.js';

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'erp-config-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig({ rootDir: ROOT, env });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('configuration (REQ 15)', () => {
  it('development with nothing configured: embedded database, generated secrets, sandbox on', () => {
    const config = loadConfig({ rootDir: ROOT, env: {} });
    expect(config.env).toBe('development');
    expect(config.database.url).toBeUndefined();
    expect(config.database.migrateOnStart).toBe(true);
    expect(config.generatedSecrets).toEqual(['JWT_SECRETS', 'PASSWORD_PEPPER']);
    expect(config.graphql.sandbox).toBe(true);
    expect(config.http.port).toBe(4000);
  });

  it('production defaults are the safe ones', () => {
    const config = loadConfig({
      rootDir: ROOT,
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: `postgres://u:${strongSecret()}@db/erp`,
        REDIS_URL: `redis://:${strongSecret()}@redis:6379`,
        JWT_SECRETS: strongSecret(),
        PASSWORD_PEPPER: strongSecret(),
      },
    });
    expect(config.graphql).toMatchObject({ introspection: false, sandbox: false });
    expect(config.graphql.limits).toMatchObject({ depth: 10, aliases: 30, cost: 50_000 });
    expect(config.database.migrateOnStart).toBe(false);
    expect(config.database.seedDemoData).toBe(false);
    expect(config.log.format).toBe('json');
  });

  it('precedence: environment over CONFIG_FILE over config/<env>.env over the spec default', () => {
    const file = tempFile('gateway.env', 'LOG_LEVEL=error\nPORT=5005\nDATABASE_POOL_SIZE=7\n');
    const config = loadConfig({ rootDir: ROOT, env: { NODE_ENV: 'development', CONFIG_FILE: file, PORT: '6006' } });
    expect(config.http.port).toBe(6006); // environment
    expect(config.log.level).toBe('error'); // CONFIG_FILE beats config/development.env's debug
    expect(config.database.poolSize).toBe(7); // CONFIG_FILE beats the spec default
    expect(config.log.format).toBe('pretty'); // config/development.env beats the spec default
  });

  it('reads secrets from *_FILE (container secrets) and refuses NAME and NAME_FILE together', () => {
    const pepper = strongSecret();
    const config = loadConfig({
      rootDir: ROOT,
      env: { NODE_ENV: 'test', PASSWORD_PEPPER_FILE: tempFile('pepper', `${pepper}\n`) },
    });
    expect(config.auth.passwordPepper).toBe(pepper);
    expect(
      problemsOf({ NODE_ENV: 'test', PASSWORD_PEPPER: pepper, PASSWORD_PEPPER_FILE: tempFile('p', pepper) }),
    ).toEqual(['PASSWORD_PEPPER and PASSWORD_PEPPER_FILE are both set; set only one']);
    expect(problemsOf({ NODE_ENV: 'test', JWT_SECRETS_FILE: '/nonexistent/secret' })).toEqual([
      'JWT_SECRETS_FILE points at a file that cannot be read (ENOENT)',
    ]);
  });

  it('reports every invalid value at once, by name', () => {
    const problems = problemsOf({ NODE_ENV: 'test', PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    expect(problems.some((p) => p.startsWith('PORT is invalid'))).toBe(true);
    expect(problems.some((p) => p.startsWith('LOG_LEVEL is invalid'))).toBe(true);
    expect(problemsOf({ NODE_ENV: 'test', DATABASE_URL: 'mysql://x' })).toEqual([
      'DATABASE_URL must use postgres:// or postgresql://',
    ]);
    expect(problemsOf({ NODE_ENV: 'qa' })).toEqual(['NODE_ENV must be one of development, test, staging, production']);
  });

  it('weak secrets are refused in every environment, not only production', () => {
    expect(problemsOf({ NODE_ENV: 'development', JWT_SECRETS: `${strongSecret()},short` })).toEqual([
      'JWT_SECRETS entry 2 is 5 bytes long; at least 32 bytes (256 bits) are required',
    ]);
  });

  it('refuses the Sandbox in staging and production', () => {
    const problems = problemsOf({
      NODE_ENV: 'staging',
      GRAPHQL_SANDBOX: 'true',
      DATABASE_URL: `postgres://u:${strongSecret()}@db/erp`,
      REDIS_URL: `redis://:${strongSecret()}@redis:6379`,
      JWT_SECRETS: strongSecret(),
      PASSWORD_PEPPER: strongSecret(),
    });
    expect(problems).toEqual(['GRAPHQL_SANDBOX must be false in staging/production']);
  });

  it('refuses edge settings that cannot work, naming them', () => {
    expect(
      problemsOf({
        NODE_ENV: 'test',
        GRAPHQL_SANDBOX_HEADERS: '["authorization"]',
        FIELD_RATE_LIMIT_SCALE: '0',
        GRAPHQL_EXECUTION_TIMEOUT_MS: '-1',
        PERSISTED_OPERATIONS_MODE: 'safelist',
        PERSISTED_OPERATIONS_MANIFESTS: ' , ',
      }),
    ).toEqual([
      'GRAPHQL_SANDBOX_HEADERS must be a JSON object of header names to string values',
      'FIELD_RATE_LIMIT_SCALE must be positive',
      'GRAPHQL_EXECUTION_TIMEOUT_MS must be positive',
      'PERSISTED_OPERATIONS_MANIFESTS must name at least one manifest unless PERSISTED_OPERATIONS_MODE=off',
    ]);
  });
});

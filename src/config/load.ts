import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { cleanEnv } from 'envalid';
import { generateEphemeralSecret, judgeSecret, readSecretSource } from './secrets.js';
import { configSpec, ENVIRONMENTS, type Environment, type SecretVariable } from './spec.js';

export interface AppConfig {
  env: Environment;
  /** Absolute path of CONFIG_FILE when one is used, and whether changes to it are applied live. */
  configFile: string | undefined;
  watchConfigFile: boolean;
  /** staging and production: no embedded defaults, no generated secrets, strict checks. */
  isProductionLike: boolean;
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    trustedProxies: string[];
    corsOrigins: string[];
    overload: { maxEventLoopDelayMs: number; maxHeapBytes: number; maxInFlight: number };
  };
  log: { level: string; format: 'json' | 'pretty' };
  database: {
    /** undefined: run the embedded Postgres (never in staging/production). */
    url: string | undefined;
    poolSize: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    slowQueryMs: number;
    txMaxWaitMs: number;
    txTimeoutMs: number;
    migrateOnStart: boolean;
    allowDestructiveMigrations: boolean;
    seedDemoData: boolean;
    embedded: { dataDir: string; port: number };
  };
  redis: { url: string | undefined; keyPrefix: string };
  auth: {
    jwtSecrets: string[];
    jwtIssuer: string;
    jwtAudience: string;
    passwordPepper: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    mfaChallengeTtlSeconds: number;
    /** External identity provider; undefined when not configured. */
    jwks: { url: string; issuer: string; audience: string } | undefined;
    password: { minLength: number; argon2MemoryKib: number; argon2TimeCost: number };
    login: { ipMaxAttempts: number; ipWindowSeconds: number; lockoutThreshold: number; lockoutSeconds: number };
    cache: { permissionTtlSeconds: number; roleTtlSeconds: number; localTtlMs: number };
  };
  graphql: {
    introspection: boolean;
    sandbox: boolean;
    /** Headers the Sandbox pre-fills (development). */
    sandboxHeaders: Record<string, string>;
    limits: {
      depth: number;
      aliases: number;
      rootFields: number;
      directives: number;
      tokens: number;
      documentBytes: number;
      cost: number;
    };
    rateLimits: {
      ipPerMinute: number;
      userPerHour: number;
      costPerHour: number;
      allowlist: string[];
      /** Multiplier of every @rateLimit max. */
      fieldScale: number;
    };
    executionTimeoutMs: number;
    responseCache: { enabled: boolean; coalesceMs: number };
    /** Queries answered by one compiled statement when every field has a projection (ADR 0008). */
    compiledReads: boolean;
    persisted: {
      mode: PersistedOperationsMode;
      /** Absolute paths of the manifests. */
      manifests: string[];
      apqTtlSeconds: number;
      storeTimeoutMs: number;
    };
  };
  shutdownTimeoutMs: number;
  shutdownIdleGraceMs: number;
  backup: { dir: string; keep: { daily: number; weekly: number; monthly: number } };
  /** OpenTelemetry; `endpoint` empty: tracing off. */
  tracing: { endpoint: string; serviceName: string; sampleRatio: number; resolverDepth: number; exportDelayMs: number };
  /** /metrics: a separate port (0: the main one) and an optional bearer token. */
  metrics: { port: number; token: string | undefined };
  shutdownReadinessGraceMs: number;
  /** Workforce scheduling (issue 8): the solver's limits, this instance's solve slots, the cache. */
  scheduling: {
    solveBudgetMs: number;
    memoryLimitMb: number;
    concurrency: number;
    minRestMinutes: number;
    cacheTtlSeconds: number;
  };
  mail: {
    /** undefined: emails are logged instead of sent (REQ 5.5 notifications still go through the outbox). */
    smtpUrl: string | undefined;
    from: string;
    outboxPollMs: number;
  };
  /** Secrets that were not configured and were generated for this process (development/test only). */
  generatedSecrets: SecretVariable[];
  /** Every secret value in force, so the logger can scrub them wherever they appear. */
  secretValues: string[];
}

export type PersistedOperationsMode = 'safelist' | 'audit' | 'apq' | 'off';

/** Startup refused: `problems` names each variable and what is wrong, never a value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** The environment to read. @default process.env (tests pass their own) */
  env?: Record<string, string | undefined>;
  /** Folder holding `config/<NODE_ENV>.env`. */
  rootDir: string;
}

function readEnvFile(path: string, problems: string[], label: string): Record<string, string> {
  if (!existsSync(path)) {
    if (label === 'CONFIG_FILE') problems.push(`CONFIG_FILE points at a missing file`);
    return {};
  }
  try {
    return parseDotenv(readFileSync(path));
  } catch {
    problems.push(`${label} could not be read`);
    return {};
  }
}

function checkUrlSecret(
  name: 'DATABASE_URL' | 'REDIS_URL' | 'SMTP_URL',
  value: string,
  protocols: string[],
  strict: boolean,
  problems: string[],
  secretValues: string[],
): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} is not a valid URL`);
    return;
  }
  if (!protocols.includes(url.protocol)) {
    problems.push(`${name} must use ${protocols.map((p) => p.replace(':', '://')).join(' or ')}`);
    return;
  }
  const password = decodeURIComponent(url.password);
  if (password) secretValues.push(password, url.password);
  if (!strict) return;
  const verdict = judgeSecret(password || undefined);
  if (!verdict.ok) problems.push(`${name} password ${verdict.reason}`);
}

/** GRAPHQL_SANDBOX_HEADERS: a JSON object of string header values, or nothing. */
function parseHeaders(value: string, problems: string[]): Record<string, string> {
  if (value.trim() === '') return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      !Array.isArray(parsed) &&
      Object.values(parsed).every((v) => typeof v === 'string')
    ) {
      return parsed as Record<string, string>;
    }
  } catch {
    // reported below
  }
  problems.push('GRAPHQL_SANDBOX_HEADERS must be a JSON object of header names to string values');
  return {};
}

/** A comma-separated setting as its trimmed, non-empty entries. */
function listOf(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** The development-only store of generated secrets (.data/dev-secrets.json, git-ignored). */
function readDevSecrets(rootDir: string): { values: Partial<Record<SecretVariable, string>>; save(): void } {
  const path = join(rootDir, '.data', 'dev-secrets.json');
  let values: Partial<Record<SecretVariable, string>> = {};
  try {
    values = JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<SecretVariable, string>>;
  } catch {
    values = {};
  }
  return {
    values,
    save() {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
    },
  };
}

/**
 * Builds the configuration from (lowest to highest precedence) the spec defaults,
 * `config/<NODE_ENV>.env`, `CONFIG_FILE` and the environment (REQ 15.1, 15.5), then validates
 * every value and secret (REQ 1, 15.2). Throws ConfigError listing every problem (REQ 15.3).
 */
export function loadConfig({ env = process.env, rootDir }: LoadConfigOptions): AppConfig {
  const problems: string[] = [];
  const nodeEnv = (env.NODE_ENV ?? 'development') as Environment;
  if (!ENVIRONMENTS.includes(nodeEnv)) {
    throw new ConfigError([`NODE_ENV must be one of ${ENVIRONMENTS.join(', ')}`]);
  }
  const envFile = readEnvFile(join(rootDir, 'config', `${nodeEnv}.env`), problems, `config/${nodeEnv}.env`);
  const configFilePath = env.CONFIG_FILE ?? envFile.CONFIG_FILE;
  const deploymentFile = configFilePath
    ? readEnvFile(
        isAbsolute(configFilePath) ? configFilePath : resolve(rootDir, configFilePath),
        problems,
        'CONFIG_FILE',
      )
    : {};

  const merged: Record<string, string | undefined> = { ...envFile, ...deploymentFile, NODE_ENV: nodeEnv };
  for (const key of Object.keys(configSpec)) {
    if (env[key] !== undefined) merged[key] = env[key];
  }
  const values = cleanEnv(merged, configSpec, {
    reporter: ({ errors }) => {
      for (const [key, error] of Object.entries(errors)) {
        problems.push(
          `${key} ${error instanceof Error && error.message ? `is invalid: ${error.message}` : 'is invalid'}`,
        );
      }
    },
  });
  if (problems.length > 0) throw new ConfigError(problems);

  const isProductionLike = nodeEnv === 'staging' || nodeEnv === 'production';
  // Development keeps its generated secrets in .data/ so tokens and demo passwords survive a
  // restart; tests get fresh ones every time; staging/production never get here.
  const devSecrets = nodeEnv === 'development' ? readDevSecrets(rootDir) : undefined;
  const devSecret = (name: SecretVariable): string => {
    if (!devSecrets) return generateEphemeralSecret();
    devSecrets.values[name] ??= generateEphemeralSecret();
    devSecrets.save();
    return devSecrets.values[name];
  };
  const secretValues: string[] = [];
  const generatedSecrets: SecretVariable[] = [];

  // JWT_SECRETS: several at once for zero-downtime rotation (REQ 1.5); each judged alone.
  const jwtSource = readSecretSource(env, 'JWT_SECRETS');
  let jwtSecrets: string[] = [];
  if (jwtSource.error) problems.push(jwtSource.error);
  else if (jwtSource.value === undefined) {
    if (isProductionLike) problems.push('JWT_SECRETS is missing (set JWT_SECRETS or JWT_SECRETS_FILE)');
    else {
      jwtSecrets = [devSecret('JWT_SECRETS')];
      generatedSecrets.push('JWT_SECRETS');
    }
  } else {
    jwtSecrets = jwtSource.value.split(',').map((s) => s.trim());
    jwtSecrets.forEach((secret, index) => {
      const verdict = judgeSecret(secret);
      if (!verdict.ok) problems.push(`JWT_SECRETS entry ${index + 1} ${verdict.reason}`);
    });
  }
  secretValues.push(...jwtSecrets);

  const pepperSource = readSecretSource(env, 'PASSWORD_PEPPER');
  let passwordPepper = '';
  if (pepperSource.error) problems.push(pepperSource.error);
  else if (pepperSource.value === undefined) {
    if (isProductionLike) problems.push('PASSWORD_PEPPER is missing (set PASSWORD_PEPPER or PASSWORD_PEPPER_FILE)');
    else {
      passwordPepper = devSecret('PASSWORD_PEPPER');
      generatedSecrets.push('PASSWORD_PEPPER');
    }
  } else {
    passwordPepper = pepperSource.value;
    const verdict = judgeSecret(passwordPepper);
    if (!verdict.ok) problems.push(`PASSWORD_PEPPER ${verdict.reason}`);
  }
  if (passwordPepper) secretValues.push(passwordPepper);

  const dbSource = readSecretSource(env, 'DATABASE_URL');
  if (dbSource.error) problems.push(dbSource.error);
  else if (dbSource.value === undefined) {
    if (isProductionLike) problems.push('DATABASE_URL is missing (embedded Postgres is refused in staging/production)');
  } else {
    checkUrlSecret(
      'DATABASE_URL',
      dbSource.value,
      ['postgres:', 'postgresql:'],
      isProductionLike,
      problems,
      secretValues,
    );
  }

  const redisSource = readSecretSource(env, 'REDIS_URL');
  if (redisSource.error) problems.push(redisSource.error);
  else if (redisSource.value === undefined) {
    if (isProductionLike) problems.push('REDIS_URL is missing (in-memory stores are refused in staging/production)');
  } else {
    checkUrlSecret('REDIS_URL', redisSource.value, ['redis:', 'rediss:'], isProductionLike, problems, secretValues);
  }

  // Optional everywhere; main.ts warns when staging/production run without it. The password is
  // issued by the mail provider, so it is scrubbed from logs but not judged like our own secrets.
  const metricsTokenSource = readSecretSource(env, 'METRICS_TOKEN');
  if (metricsTokenSource.error) problems.push(metricsTokenSource.error);
  else if (metricsTokenSource.value !== undefined) {
    const verdict = judgeSecret(metricsTokenSource.value);
    if (!verdict.ok) problems.push(`METRICS_TOKEN ${verdict.reason}`);
    secretValues.push(metricsTokenSource.value);
  }

  const smtpSource = readSecretSource(env, 'SMTP_URL');
  if (smtpSource.error) problems.push(smtpSource.error);
  else if (smtpSource.value !== undefined) {
    checkUrlSecret('SMTP_URL', smtpSource.value, ['smtp:', 'smtps:'], false, problems, secretValues);
  }
  if (values.OUTBOX_POLL_MS <= 0) problems.push('OUTBOX_POLL_MS must be a positive number of milliseconds');
  const wholeIn = (name: keyof typeof values, min: number, max: number) => {
    const value = values[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}`);
    }
  };
  wholeIn('SHUTDOWN_IDLE_GRACE_MS', 0, 60_000);
  wholeIn('SCHEDULING_SOLVE_BUDGET_MS', 100, 30_000);
  wholeIn('SCHEDULING_MEMORY_LIMIT_MB', 64, 65_536);
  wholeIn('SCHEDULING_CONCURRENCY', 0, 64);
  wholeIn('SCHEDULING_MIN_REST_MINUTES', 0, 1_440);
  wholeIn('SCHEDULING_CACHE_TTL_SECONDS', 0, 2_592_000);

  if (isProductionLike && values.GRAPHQL_SANDBOX) problems.push('GRAPHQL_SANDBOX must be false in staging/production');
  const sandboxHeaders = parseHeaders(values.GRAPHQL_SANDBOX_HEADERS, problems);
  if (values.TRACING_SAMPLE_RATIO < 0 || values.TRACING_SAMPLE_RATIO > 1) {
    problems.push('TRACING_SAMPLE_RATIO must be between 0 and 1');
  }
  if (values.TRACING_OTLP_ENDPOINT && !/^https?:\/\//.test(values.TRACING_OTLP_ENDPOINT)) {
    problems.push('TRACING_OTLP_ENDPOINT must be an http:// or https:// URL');
  }
  if (values.FIELD_RATE_LIMIT_SCALE <= 0) problems.push('FIELD_RATE_LIMIT_SCALE must be positive');
  if (values.GRAPHQL_EXECUTION_TIMEOUT_MS <= 0) problems.push('GRAPHQL_EXECUTION_TIMEOUT_MS must be positive');
  if (values.PERSISTED_OPERATIONS_MODE !== 'off' && listOf(values.PERSISTED_OPERATIONS_MANIFESTS).length === 0) {
    problems.push(
      'PERSISTED_OPERATIONS_MANIFESTS must name at least one manifest unless PERSISTED_OPERATIONS_MODE=off',
    );
  }
  for (const origin of listOf(values.CORS_ORIGINS)) {
    let valid: boolean;
    try {
      valid = new URL(origin).origin === origin;
    } catch {
      valid = false;
    }
    if (!valid)
      problems.push(
        'CORS_ORIGINS entries must be exact origins such as https://shop.example.com (no *, paths or trailing /)',
      );
  }
  if (values.JWKS_URL && (!values.JWKS_ISSUER || !values.JWKS_AUDIENCE)) {
    problems.push('JWKS_ISSUER and JWKS_AUDIENCE are required with JWKS_URL');
  }
  if (values.JWKS_URL && isProductionLike && !values.JWKS_URL.startsWith('https://')) {
    problems.push('JWKS_URL must use https:// in staging/production');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    env: nodeEnv,
    configFile: configFilePath
      ? isAbsolute(configFilePath)
        ? configFilePath
        : resolve(rootDir, configFilePath)
      : undefined,
    watchConfigFile: values.CONFIG_FILE_WATCH,
    isProductionLike,
    http: {
      host: values.HOST,
      port: values.PORT,
      bodyLimitBytes: values.BODY_LIMIT_BYTES,
      trustedProxies: listOf(values.TRUSTED_PROXIES),
      corsOrigins: listOf(values.CORS_ORIGINS),
      overload: {
        maxEventLoopDelayMs: values.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
        maxHeapBytes: values.OVERLOAD_MAX_HEAP_BYTES,
        maxInFlight: values.OVERLOAD_MAX_IN_FLIGHT,
      },
    },
    log: { level: values.LOG_LEVEL, format: values.LOG_FORMAT as 'json' | 'pretty' },
    database: {
      url: dbSource.value,
      poolSize: values.DATABASE_POOL_SIZE,
      connectTimeoutMs: values.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
      slowQueryMs: values.DATABASE_SLOW_QUERY_MS,
      txMaxWaitMs: values.DATABASE_TX_MAX_WAIT_MS,
      txTimeoutMs: values.DATABASE_TX_TIMEOUT_MS,
      migrateOnStart: values.DATABASE_MIGRATE_ON_START,
      allowDestructiveMigrations: values.DATABASE_ALLOW_DESTRUCTIVE_MIGRATIONS,
      seedDemoData: values.SEED_DEMO_DATA,
      embedded: { dataDir: resolve(rootDir, values.EMBEDDED_DB_DIR), port: values.EMBEDDED_DB_PORT },
    },
    redis: { url: redisSource.value, keyPrefix: values.REDIS_KEY_PREFIX },
    auth: {
      jwtSecrets,
      jwtIssuer: values.JWT_ISSUER,
      jwtAudience: values.JWT_AUDIENCE,
      passwordPepper,
      accessTokenTtlSeconds: values.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: values.REFRESH_TOKEN_TTL_SECONDS,
      mfaChallengeTtlSeconds: values.MFA_CHALLENGE_TTL_SECONDS,
      jwks: values.JWKS_URL
        ? { url: values.JWKS_URL, issuer: values.JWKS_ISSUER, audience: values.JWKS_AUDIENCE }
        : undefined,
      password: {
        minLength: values.PASSWORD_MIN_LENGTH,
        argon2MemoryKib: values.ARGON2_MEMORY_KIB,
        argon2TimeCost: values.ARGON2_TIME_COST,
      },
      login: {
        ipMaxAttempts: values.LOGIN_IP_MAX_ATTEMPTS,
        ipWindowSeconds: values.LOGIN_IP_WINDOW_SECONDS,
        lockoutThreshold: values.LOGIN_LOCKOUT_THRESHOLD,
        lockoutSeconds: values.LOGIN_LOCKOUT_SECONDS,
      },
      cache: {
        permissionTtlSeconds: values.PERMISSION_CACHE_TTL_SECONDS,
        roleTtlSeconds: values.ROLE_CACHE_TTL_SECONDS,
        localTtlMs: values.PERMISSION_LOCAL_TTL_MS,
      },
    },
    graphql: {
      introspection: values.GRAPHQL_INTROSPECTION,
      sandbox: values.GRAPHQL_SANDBOX,
      sandboxHeaders,
      limits: {
        depth: values.GRAPHQL_MAX_DEPTH,
        aliases: values.GRAPHQL_MAX_ALIASES,
        rootFields: values.GRAPHQL_MAX_ROOT_FIELDS,
        directives: values.GRAPHQL_MAX_DIRECTIVES,
        tokens: values.GRAPHQL_MAX_TOKENS,
        documentBytes: values.GRAPHQL_MAX_DOCUMENT_BYTES,
        cost: values.GRAPHQL_MAX_COST,
      },
      rateLimits: {
        ipPerMinute: values.RATE_LIMIT_IP_PER_MINUTE,
        userPerHour: values.RATE_LIMIT_USER_PER_HOUR,
        costPerHour: values.COST_BUDGET_PER_HOUR,
        allowlist: listOf(values.RATE_LIMIT_ALLOWLIST),
        fieldScale: values.FIELD_RATE_LIMIT_SCALE,
      },
      executionTimeoutMs: values.GRAPHQL_EXECUTION_TIMEOUT_MS,
      responseCache: { enabled: values.RESPONSE_CACHE_ENABLED, coalesceMs: values.RESPONSE_CACHE_COALESCE_MS },
      compiledReads: values.COMPILED_READS_ENABLED,
      persisted: {
        mode: values.PERSISTED_OPERATIONS_MODE as PersistedOperationsMode,
        manifests: listOf(values.PERSISTED_OPERATIONS_MANIFESTS).map((path) => resolve(rootDir, path)),
        apqTtlSeconds: values.APQ_TTL_SECONDS,
        storeTimeoutMs: values.APQ_STORE_TIMEOUT_MS,
      },
    },
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    shutdownIdleGraceMs: values.SHUTDOWN_IDLE_GRACE_MS,
    metrics: { port: values.METRICS_PORT, token: metricsTokenSource.value },
    tracing: {
      endpoint: values.TRACING_OTLP_ENDPOINT,
      serviceName: values.TRACING_SERVICE_NAME,
      sampleRatio: values.TRACING_SAMPLE_RATIO,
      resolverDepth: values.TRACING_RESOLVER_DEPTH,
      exportDelayMs: values.TRACING_EXPORT_DELAY_MS,
    },
    backup: {
      dir: resolve(rootDir, values.BACKUP_DIR),
      keep: {
        daily: values.BACKUP_KEEP_DAILY,
        weekly: values.BACKUP_KEEP_WEEKLY,
        monthly: values.BACKUP_KEEP_MONTHLY,
      },
    },
    shutdownReadinessGraceMs: values.SHUTDOWN_READINESS_GRACE_MS,
    scheduling: {
      solveBudgetMs: values.SCHEDULING_SOLVE_BUDGET_MS,
      memoryLimitMb: values.SCHEDULING_MEMORY_LIMIT_MB,
      concurrency: values.SCHEDULING_CONCURRENCY,
      minRestMinutes: values.SCHEDULING_MIN_REST_MINUTES,
      cacheTtlSeconds: values.SCHEDULING_CACHE_TTL_SECONDS,
    },
    mail: { smtpUrl: smtpSource.value, from: values.MAIL_FROM, outboxPollMs: values.OUTBOX_POLL_MS },
    generatedSecrets,
    secretValues: [...new Set(secretValues.filter((s) => s.length > 0))],
  });
}

import { bool, num, port, str } from 'envalid';

export const ENVIRONMENTS = ['development', 'test', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/**
 * Every variable the gateway reads (REQ 15). Defaults here are the production-safe ones;
 * `config/<NODE_ENV>.env` overrides them per environment and `CONFIG_FILE` per deployment.
 * The README's configuration table is generated from this spec (`npm run docs:config`).
 *
 * Secrets (JWT_SECRETS, PASSWORD_PEPPER, DATABASE_URL, REDIS_URL, SMTP_URL) are not in this table:
 * they are read by `loadConfig` from NAME or NAME_FILE and validated there.
 */
export const configSpec = {
  NODE_ENV: str({
    choices: ENVIRONMENTS,
    default: 'development',
    desc: 'Environment; selects config/<NODE_ENV>.env and the strictness of secret checks.',
  }),
  CONFIG_FILE: str({
    default: '',
    desc: 'Optional dotenv-format file with deployment settings; environment variables win over it.',
  }),
  CONFIG_FILE_WATCH: bool({
    default: true,
    desc: 'Reload the log level, operation limits and rate limits when CONFIG_FILE changes (SIGHUP always reloads).',
  }),
  HOST: str({ default: '0.0.0.0', desc: 'Interface the HTTP server listens on.' }),
  PORT: port({ default: 4000, desc: 'HTTP port of the GraphQL endpoint and the health routes.' }),
  BODY_LIMIT_BYTES: num({ default: 1_048_576, desc: 'Largest accepted request body, in bytes.' }),
  TRUSTED_PROXIES: str({
    default: '',
    desc: 'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed; empty trusts none.',
  }),
  CORS_ORIGINS: str({
    default: '',
    desc: 'Comma-separated browser origins allowed to call the API (exact match, e.g. https://shop.example.com); empty allows none.',
  }),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: num({
    default: 1_000,
    desc: 'Event-loop delay above which requests get 503 with Retry-After instead of piling up (0 disables).',
  }),
  OVERLOAD_MAX_IN_FLIGHT: num({
    default: 100,
    desc: 'GraphQL operations executing at once per instance; more get 503 with Retry-After at once instead of queueing for the database pool. Cached reads are not counted (0 disables).',
  }),
  OVERLOAD_MAX_HEAP_BYTES: num({
    default: 0,
    desc: 'Heap use above which requests get 503 with Retry-After (0 disables; set below --max-old-space-size).',
  }),
  LOG_LEVEL: str({
    choices: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
    default: 'info',
    desc: 'Winston log level.',
  }),
  LOG_FORMAT: str({ choices: ['json', 'pretty'], default: 'json', desc: 'json for machines, pretty for a terminal.' }),

  DATABASE_POOL_SIZE: num({ default: 10, desc: 'Connections in the pg pool of each instance.' }),
  DATABASE_CONNECT_TIMEOUT_MS: num({ default: 5_000, desc: 'Time to wait for a pool connection before failing.' }),
  DATABASE_STATEMENT_TIMEOUT_MS: num({ default: 15_000, desc: 'Postgres statement_timeout for every connection.' }),
  DATABASE_SLOW_QUERY_MS: num({
    default: 100,
    desc: 'Queries slower than this are logged with redacted parameters (REQ 6.4).',
  }),
  DATABASE_TX_MAX_WAIT_MS: num({ default: 2_000, desc: 'Longest wait for a connection to start a transaction.' }),
  DATABASE_TX_TIMEOUT_MS: num({ default: 10_000, desc: 'Longest an interactive transaction may stay open.' }),
  DATABASE_MIGRATE_ON_START: bool({
    default: false,
    desc: 'Apply pending (non-destructive) migrations at startup; otherwise refuse to start while any are pending.',
  }),
  DATABASE_ALLOW_DESTRUCTIVE_MIGRATIONS: bool({
    default: false,
    desc: 'Confirms DROP/TRUNCATE/DELETE/type-change migrations (REQ 19.4); prefer the --allow-destructive flag of db:migrate.',
  }),
  SEED_DEMO_DATA: bool({ default: false, desc: 'Seed demo data at startup when the catalog is empty (no products).' }),
  EMBEDDED_DB_DIR: str({
    default: '.data/pglite',
    desc: 'Data directory of the embedded Postgres (PGlite) used when DATABASE_URL is unset outside production.',
  }),
  EMBEDDED_DB_PORT: port({ default: 54329, desc: 'Loopback port on which the embedded Postgres is served.' }),

  JWT_ISSUER: str({ default: 'erp-gateway', desc: 'iss claim of issued tokens, required on verified tokens.' }),
  JWT_AUDIENCE: str({ default: 'erp-clients', desc: 'aud claim of issued tokens, required on verified tokens.' }),
  REDIS_KEY_PREFIX: str({
    default: 'erp:',
    desc: 'Prefix of every Redis key and channel, so several deployments can share one Redis.',
  }),
  ACCESS_TOKEN_TTL_SECONDS: num({ default: 900, desc: 'Lifetime of access tokens (15 minutes).' }),
  REFRESH_TOKEN_TTL_SECONDS: num({
    default: 604_800,
    desc: 'Lifetime of refresh tokens (7 days); each refresh rotates it.',
  }),
  MFA_CHALLENGE_TTL_SECONDS: num({ default: 300, desc: 'How long the second login step (TOTP code) may take.' }),
  JWKS_URL: str({
    default: '',
    desc: 'Optional JWKS URL of an external identity provider whose tokens are also accepted (RS/ES algorithms).',
  }),
  JWKS_ISSUER: str({ default: '', desc: 'Required iss of external tokens (with JWKS_URL).' }),
  JWKS_AUDIENCE: str({ default: '', desc: 'Required aud of external tokens (with JWKS_URL).' }),
  PASSWORD_MIN_LENGTH: num({ default: 12, desc: 'Shortest password accepted for new passwords.' }),
  ARGON2_MEMORY_KIB: num({ default: 19_456, desc: 'Argon2id memory cost in KiB (OWASP: 19 MiB).' }),
  ARGON2_TIME_COST: num({ default: 2, desc: 'Argon2id iterations.' }),
  LOGIN_IP_MAX_ATTEMPTS: num({ default: 5, desc: 'Login attempts allowed per client IP per window (REQ 5.1).' }),
  LOGIN_IP_WINDOW_SECONDS: num({ default: 900, desc: 'The per-IP login window (15 minutes).' }),
  LOGIN_LOCKOUT_THRESHOLD: num({ default: 5, desc: 'Consecutive failed logins that lock an account (REQ 5.2).' }),
  LOGIN_LOCKOUT_SECONDS: num({ default: 900, desc: 'How long a locked account stays locked (15 minutes).' }),
  PERMISSION_CACHE_TTL_SECONDS: num({ default: 300, desc: "A user's effective permissions in Redis (REQ 7.1)." }),
  ROLE_CACHE_TTL_SECONDS: num({ default: 600, desc: "A user's roles in Redis (REQ 7.2)." }),
  PERMISSION_LOCAL_TTL_MS: num({
    default: 5_000,
    desc: 'In-process first-level permission cache lifetime; changes also invalidate it at once over Redis pub/sub.',
  }),

  GRAPHQL_INTROSPECTION: bool({ default: false, desc: 'Allow schema introspection (off in production).' }),
  GRAPHQL_SANDBOX: bool({ default: false, desc: 'Serve the Apollo Sandbox landing page at / (development only).' }),
  GRAPHQL_SANDBOX_HEADERS: str({
    default: '',
    desc: 'JSON object of headers Sandbox pre-fills for every request, e.g. {"authorization":"Bearer <accessToken>"}.',
  }),
  GRAPHQL_MAX_DEPTH: num({ default: 10, desc: 'Deepest field nesting an operation may have (fragments expanded).' }),
  GRAPHQL_MAX_ALIASES: num({ default: 30, desc: 'Most aliased fields in one operation.' }),
  GRAPHQL_MAX_ROOT_FIELDS: num({ default: 10, desc: 'Most top-level fields in one operation.' }),
  GRAPHQL_MAX_DIRECTIVES: num({ default: 30, desc: 'Most directive uses in one operation.' }),
  GRAPHQL_MAX_TOKENS: num({ default: 3_000, desc: 'Most lexical tokens in a document (parsing stops beyond).' }),
  GRAPHQL_MAX_DOCUMENT_BYTES: num({ default: 30_000, desc: 'Largest GraphQL document, in bytes.' }),
  GRAPHQL_MAX_COST: num({
    default: 50_000,
    desc: 'Largest static cost estimate: each field counts once per item its parents may return (list sizes from limit, else 10).',
  }),
  GRAPHQL_EXECUTION_TIMEOUT_MS: num({
    default: 10_000,
    desc: 'Longest an operation may run; past it the client gets 504 OPERATION_TIMEOUT and its transactions roll back.',
  }),
  RESPONSE_CACHE_ENABLED: bool({
    default: true,
    desc: 'Cache public catalog reads (memory and Redis); changes invalidate them, in memory a stock change only where it is shown.',
  }),
  RESPONSE_CACHE_COALESCE_MS: num({
    default: 250,
    desc: 'Catalog and stock changes heard within this window are applied together (a burst of checkouts invalidates once).',
  }),
  COMPILED_READS_ENABLED: bool({
    default: true,
    desc: 'Answer a query whose every field has a SQL projection (order histories, customers, products, variants) with one statement that builds the JSON (ADR 0008); false executes every query field by field.',
  }),
  PERSISTED_OPERATIONS_MODE: str({
    choices: ['safelist', 'audit', 'apq', 'off'],
    default: 'safelist',
    desc: 'safelist: only manifest operations run; audit: anything runs, unknown operations are logged and counted; apq: automatic persisted queries shared through Redis; off.',
  }),
  PERSISTED_OPERATIONS_MANIFESTS: str({
    default: 'schema/generated/persisted-operations.json',
    desc: 'Comma-separated persisted-operation manifests (Apollo format), e.g. one per client app version; relative to the project root.',
  }),
  APQ_TTL_SECONDS: num({ default: 86_400, desc: 'How long an automatic persisted query stays registered in Redis.' }),
  APQ_STORE_TIMEOUT_MS: num({
    default: 100,
    desc: 'Longest wait for the APQ store; a slow or failing Redis counts as a miss, never a hung request.',
  }),
  RATE_LIMIT_IP_PER_MINUTE: num({ default: 100, desc: 'GraphQL requests per client IP per minute (003 SEC-002).' }),
  RATE_LIMIT_USER_PER_HOUR: num({ default: 1_000, desc: 'GraphQL requests per signed-in user per hour.' }),
  COST_BUDGET_PER_HOUR: num({
    default: 500_000,
    desc: 'Static cost a caller (user, else IP) may spend per hour; reported in extensions.cost and RateLimit-* headers.',
  }),
  FIELD_RATE_LIMIT_SCALE: num({
    default: 1,
    desc: 'Multiplies the max of every @rateLimit field limit in the SDL (e.g. 2 doubles them all); must be positive.',
  }),
  RATE_LIMIT_ALLOWLIST: str({
    default: '',
    desc: 'Comma-separated client IPs or user ids of internal services exempt from rate limits and budgets.',
  }),
  METRICS_PORT: num({
    default: 0,
    desc: 'Port of a separate listener serving only /metrics (same HOST); 0 serves /metrics on PORT.',
  }),
  TRACING_OTLP_ENDPOINT: str({
    default: '',
    desc: 'OTLP/HTTP traces URL, e.g. http://jaeger:4318/v1/traces; empty turns tracing off.',
  }),
  TRACING_SAMPLE_RATIO: num({
    default: 0.1,
    desc: 'Share of new traces sampled (0..1); a sampled or unsampled traceparent from the caller is followed.',
  }),
  TRACING_RESOLVER_DEPTH: num({
    default: 2,
    desc: 'Deepest GraphQL field path that gets a resolver span (-1: all); SQL and Redis spans are always kept.',
  }),
  TRACING_SERVICE_NAME: str({ default: 'erp-gateway', desc: 'service.name of exported spans.' }),
  TRACING_EXPORT_DELAY_MS: num({ default: 5_000, desc: 'How long finished spans are batched before export.' }),
  SHUTDOWN_READINESS_GRACE_MS: num({
    default: 0,
    desc: 'On SIGTERM, how long readiness answers 503 while requests are still accepted, before the listener closes (load balancers notice first); 0 with a Kubernetes preStop delay instead.',
  }),
  SHUTDOWN_TIMEOUT_MS: num({ default: 30_000, desc: 'Longest drain of in-flight requests on SIGTERM (REQ 9.2).' }),
  SHUTDOWN_IDLE_GRACE_MS: num({
    default: 1_000,
    desc: 'During the drain, how long a connection with no request in progress stays open before the gateway closes it: a request may already be on its way on a connection just accepted or kept alive.',
  }),

  BACKUP_DIR: str({
    default: '.data/backups',
    desc: 'Folder of `npm run backup` dumps and backup-status.json (read by /metrics for the backup alerts); relative to the project root.',
  }),
  BACKUP_KEEP_DAILY: num({ default: 7, desc: 'Daily backups kept (the newest of each day).' }),
  BACKUP_KEEP_WEEKLY: num({ default: 4, desc: 'Weekly backups kept (the newest of each ISO week).' }),
  BACKUP_KEEP_MONTHLY: num({ default: 12, desc: 'Monthly backups kept (the newest of each month).' }),

  SCHEDULING_SOLVE_BUDGET_MS: num({
    default: 10_000,
    desc: 'Time budget of a schedule solve when generateSchedule names none (at most 30000); past it the best schedule found, else the greedy heuristic, is used.',
  }),
  SCHEDULING_MEMORY_LIMIT_MB: num({
    default: 2_048,
    desc: "Memory limit of a solve (its worker thread's heap and HiGHS's Wasm memory, each); over it the solve falls back to the heuristic. Size pods for SCHEDULING_CONCURRENCY × 2 × this.",
  }),
  SCHEDULING_CONCURRENCY: num({
    default: 1,
    desc: 'Schedule solves this instance runs at once (0: it only enqueues; other instances solve).',
  }),
  SCHEDULING_MIN_REST_MINUTES: num({
    default: 660,
    desc: 'Least rest between two shifts of one employee (11 h, the EU working-time rule).',
  }),
  SCHEDULING_CACHE_TTL_SECONDS: num({
    default: 86_400,
    desc: 'How long a solved schedule is reused for an identical problem (Redis; in memory without REDIS_URL); 0 turns the cache off.',
  }),

  MAIL_FROM: str({ default: 'ERP Gateway <no-reply@erp.local>', desc: 'From address of notification emails.' }),
  OUTBOX_POLL_MS: num({
    default: 1_000,
    desc: 'How often the email outbox worker looks for pending emails when the previous batch was not full.',
  }),
} as const;

/** Secret variables: read from NAME or NAME_FILE, never logged, validated in loadConfig. */
export const SECRET_VARIABLES = {
  JWT_SECRETS:
    'Comma-separated HS256 signing secrets; the first signs, all verify (rotation, REQ 1.5). Each >= 32 bytes, high entropy.',
  PASSWORD_PEPPER: 'Pepper mixed into password hashes; >= 32 bytes, high entropy, never the old default.',
  DATABASE_URL:
    'postgres:// URL. Unset outside production: an embedded PGlite database is used. In staging/production its password is validated like a secret.',
  REDIS_URL: 'redis:// URL. Unset outside production: in-memory stores are used. Required in staging/production.',
  METRICS_TOKEN:
    'Optional bearer token /metrics then requires (Authorization: Bearer <token>); >= 32 bytes, high entropy. Unset: /metrics is open (bind it to METRICS_PORT on a private network).',
  SMTP_URL:
    'smtp:// or smtps:// URL of the mail relay, credentials in the URL. Unset: emails are logged, not sent (a warning in staging/production).',
} as const;

export type SecretVariable = keyof typeof SECRET_VARIABLES;

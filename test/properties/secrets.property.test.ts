import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  judgeSecret,
  KNOWN_DEFAULT_SECRETS,
  loadConfig,
  MIN_SECRET_BYTES,
} from '../../src/config/index.js';
import { ROOT, strongSecret } from '../helpers/kit.js';

const RUNS = { numRuns: 100 };
const SECRET_NAMES = ['JWT_SECRETS', 'PASSWORD_PEPPER'] as const;

function productionEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: `postgres://gateway:${strongSecret()}@db.internal:5432/erp`,
    REDIS_URL: `redis://:${strongSecret()}@redis.internal:6379`,
    JWT_SECRETS: strongSecret(),
    PASSWORD_PEPPER: strongSecret(),
    ...overrides,
  };
}

function configProblems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig({ rootDir: ROOT, env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('PROP 2 JWT secret entropy', () => {
  it('rejects every secret shorter than 32 bytes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: 'grapheme' }), (value) => {
        fc.pre(Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES);
        expect(judgeSecret(value).ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('accepts secrets of 32+ random bytes, in hex or base64', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 32, max: 64 }),
        fc.constantFrom('hex', 'base64', 'base64url'),
        (bytes, encoding) => {
          const secret = randomBytes(bytes).toString(encoding as BufferEncoding);
          expect(judgeSecret(secret)).toEqual({ ok: true });
        },
      ),
      RUNS,
    );
  });

  it('rejects long but low-entropy secrets: repeats, sequences and dictionary phrases', () => {
    const lowEntropy = fc.oneof(
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 8, max: 40 }))
        .map(([unit, n]) => unit.repeat(n)),
      fc
        .integer({ min: 32, max: 60 })
        .map((n) => 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, n)),
      fc
        .array(
          fc.constantFrom('password', 'secret', 'change', 'production', 'admin', 'default', 'welcome', 'letmein'),
          {
            minLength: 5,
            maxLength: 8,
          },
        )
        .map((words) => words.join('-')),
    );
    fc.assert(
      fc.property(lowEntropy, (value) => {
        fc.pre(Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES);
        expect(judgeSecret(value).ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('an accepted secret is never short, never a known default', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom(...KNOWN_DEFAULT_SECRETS)), (value) => {
        const verdict = judgeSecret(value);
        if (verdict.ok) {
          expect(Buffer.byteLength(value, 'utf8')).toBeGreaterThanOrEqual(MIN_SECRET_BYTES);
          expect(KNOWN_DEFAULT_SECRETS).not.toContain(value.trim().toLowerCase());
        }
      }),
      RUNS,
    );
  });
});

describe('PROP 1 secret validation on startup', () => {
  it('production refuses to start when any secret is missing, weak or a default, and names it without its value', () => {
    const badValue = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 31 }),
      fc.constantFrom(...KNOWN_DEFAULT_SECRETS, 'erpgo-secret-pepper-change-in-production'),
      fc.integer({ min: 8, max: 20 }).map((n) => 'ab'.repeat(n)),
    );
    fc.assert(
      fc.property(fc.constantFrom(...SECRET_NAMES), badValue, (name, value) => {
        const problems = configProblems(productionEnv({ [name]: value }));
        expect(problems.some((p) => p.startsWith(name))).toBe(true);
        // Long enough not to collide with the words of the messages themselves.
        if (value && value.length >= 12) expect(problems.join('\n')).not.toContain(value);
      }),
      RUNS,
    );
  });

  it('production starts with strong secrets from env or *_FILE, and several JWT secrets for rotation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), (count) => {
        const secrets = Array.from({ length: count }, strongSecret);
        const config = loadConfig({ rootDir: ROOT, env: productionEnv({ JWT_SECRETS: secrets.join(',') }) });
        expect(config.auth.jwtSecrets).toEqual(secrets);
        expect(config.generatedSecrets).toEqual([]);
        for (const secret of secrets) expect(config.secretValues).toContain(secret);
      }),
      RUNS,
    );
  });

  it('rejects the default pepper with a clear message (REQ 1.4)', () => {
    const problems = configProblems(productionEnv({ PASSWORD_PEPPER: 'erpgo-secret-pepper-change-in-production' }));
    expect(problems).toEqual(['PASSWORD_PEPPER is a known default value']);
  });

  it('validates the database and Redis passwords in production', () => {
    expect(configProblems(productionEnv({ DATABASE_URL: 'postgres://gateway:postgres@db:5432/erp' }))).toEqual([
      'DATABASE_URL password is a known default value',
    ]);
    expect(configProblems(productionEnv({ REDIS_URL: 'redis://redis.internal:6379' }))).toEqual([
      'REDIS_URL password is missing or empty',
    ]);
    expect(configProblems(productionEnv({ DATABASE_URL: undefined }))[0]).toMatch(/^DATABASE_URL is missing/);
  });
});

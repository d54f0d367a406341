import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEn from '@zxcvbn-ts/language-en';

/** REQ 1.3: a secret carries at least 256 bits, i.e. 32 bytes. */
export const MIN_SECRET_BYTES = 32;

/**
 * REQ 1.4 and the values that ship in tutorials, docker-compose files and earlier versions of
 * this system. Compared case-insensitively and ignoring surrounding whitespace.
 */
export const KNOWN_DEFAULT_SECRETS: readonly string[] = [
  'erpgo-secret-pepper-change-in-production',
  'erpgo-jwt-secret-change-in-production',
  'your-256-bit-secret',
  'your-secret-key',
  'change-me',
  'changeme',
  'change-this-secret',
  'changeit',
  'secret',
  'supersecret',
  'super-secret-key',
  'password',
  'postgres',
  'redis',
  'default',
  'development',
  'test',
  'jwt-secret',
  'pepper',
];

/**
 * Only the first characters are scored: the estimator is quadratic in length, and a secret
 * whose first 64 characters are strong is not weak because of what follows.
 */
const SCORED_PREFIX = 64;

/**
 * A random string scores about one order of magnitude of guesses per character; dictionary
 * words, repeats, sequences and keyboard walks score far less. Below this ratio a secret is
 * "dictionary-like or repeated" (REQ 1.2).
 */
const MIN_GUESSES_LOG10_PER_CHAR = 0.85;

export type SecretProblem = 'missing' | 'known-default' | 'too-short' | 'low-entropy';

export interface SecretVerdict {
  ok: boolean;
  problem?: SecretProblem;
  /** Human explanation; never contains the value. */
  reason?: string;
}

/**
 * Held weakly: secrets are judged when the configuration loads or reloads, and the estimator's
 * ranked dictionaries (about 15 MB of heap) would otherwise stay for the life of the process.
 * A load judges all its secrets in one synchronous pass, which keeps it alive for that pass.
 */
let estimator: WeakRef<ZxcvbnFactory> | undefined;

function getEstimator(): ZxcvbnFactory {
  let live = estimator?.deref();
  if (!live) {
    live = new ZxcvbnFactory({
      dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary },
      graphs: zxcvbnCommon.adjacencyGraphs,
      maxLength: SCORED_PREFIX,
      // l33t matching costs ~300 ms per long string and adds nothing for machine secrets.
      l33tMaxSubstitutions: 0,
    });
    estimator = new WeakRef(live);
  }
  return live;
}

/**
 * Judges a secret value (REQ 1.2-1.4, PROP 1, PROP 2). The verdict explains the problem
 * without ever repeating the value.
 */
export function judgeSecret(value: string | undefined): SecretVerdict {
  if (value === undefined || value.trim() === '') {
    return { ok: false, problem: 'missing', reason: 'is missing or empty' };
  }
  const normalized = value.trim().toLowerCase();
  if (KNOWN_DEFAULT_SECRETS.includes(normalized)) {
    return { ok: false, problem: 'known-default', reason: 'is a known default value' };
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    return {
      ok: false,
      problem: 'too-short',
      reason: `is ${bytes} bytes long; at least ${MIN_SECRET_BYTES} bytes (256 bits) are required`,
    };
  }
  const scored = value.slice(0, SCORED_PREFIX);
  const { guessesLog10 } = getEstimator().check(scored);
  if (guessesLog10 < MIN_GUESSES_LOG10_PER_CHAR * scored.length) {
    return {
      ok: false,
      problem: 'low-entropy',
      reason: 'has low entropy (repeated, sequential or dictionary-like); generate one with `openssl rand -base64 48`',
    };
  }
  return { ok: true };
}

/** A fresh random secret for development runs that configured none. */
export function generateEphemeralSecret(): string {
  return randomBytes(48).toString('base64url');
}

/**
 * Reads `NAME` or `NAME_FILE` (container secrets). Setting both is an error, so that a stale
 * variable can never silently win over a mounted secret.
 */
export function readSecretSource(
  env: Record<string, string | undefined>,
  name: string,
): { value: string | undefined; source: 'env' | 'file' | 'unset'; error?: string } {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    return { value: undefined, source: 'unset', error: `${name} and ${name}_FILE are both set; set only one` };
  }
  if (file !== undefined && file !== '') {
    try {
      return { value: readFileSync(file, 'utf8').replace(/\r?\n$/, ''), source: 'file' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      return {
        value: undefined,
        source: 'unset',
        error: `${name}_FILE points at a file that cannot be read (${code})`,
      };
    }
  }
  if (direct !== undefined && direct !== '') return { value: direct, source: 'env' };
  return { value: undefined, source: 'unset' };
}

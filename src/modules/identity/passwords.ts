import { hash, verify } from '@node-rs/argon2';

/** Argon2id in @node-rs/argon2's Algorithm const enum (which isolatedModules cannot read). */
const ARGON2ID = 2;
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEn from '@zxcvbn-ts/language-en';

export interface PasswordHasherOptions {
  /** Mixed into every hash as Argon2's secret: a stolen database alone cannot be cracked. */
  pepper: string;
  /** @default 19456 (OWASP) */
  memoryKib?: number;
  /** @default 2 */
  timeCost?: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Spends the same time as a real verification, for logins of unknown emails: the client
   * cannot tell "no such user" from "wrong password" by timing (no user enumeration).
   */
  verifyNothing(password: string): Promise<false>;
}

/** Argon2id with a validated pepper (DESIGN.md section 5; @node-rs/argon2 needs no install script). */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const secret = Buffer.from(options.pepper, 'utf8');
  const params = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKib ?? 19_456,
    timeCost: options.timeCost ?? 2,
    parallelism: 1,
    secret,
  };
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, params),
    verify: async (passwordHash, password) => {
      try {
        return await verify(passwordHash, password, { secret });
      } catch {
        return false;
      }
    },
    async verifyNothing(password) {
      dummyHash ??= hash('no-such-user-password-placeholder', params);
      await verify(await dummyHash, password, { secret }).catch(() => false);
      return false;
    },
  };
}

let estimator: ZxcvbnFactory | undefined;

/**
 * Password rules (003 SEC-001, REQ 10.5): length, not a common or breached password (the
 * common-password and dictionary lists of zxcvbn), not guessable, and not containing the email.
 * Returns the problems, empty when the password is acceptable.
 */
export function checkPasswordStrength(password: string, context: { email: string; minLength: number }): string[] {
  const problems: string[] = [];
  if (password.length < context.minLength) problems.push(`must be at least ${context.minLength} characters`);
  if (password.length > 128) problems.push('must be at most 128 characters');
  const local = context.email.split('@')[0]?.toLowerCase() ?? '';
  if (local.length >= 3 && password.toLowerCase().includes(local)) problems.push('must not contain the email address');
  if (problems.length === 0) {
    estimator ??= new ZxcvbnFactory({
      dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary },
      graphs: zxcvbnCommon.adjacencyGraphs,
      // Bounded work per check: full l33t analysis of a long password takes seconds and runs on
      // the event loop, so an attacker could stall the instance with long passwords.
      maxLength: 64,
      l33tMaxSubstitutions: 10,
    });
    const result = estimator.check(password, [context.email, local]);
    // score 3: "safely unguessable: moderate protection from offline slow-hash scenario".
    if (result.score < 3) problems.push('is too common or too easy to guess');
  }
  return problems;
}

import { createHash } from 'node:crypto';

/** prevHash of the first row of the chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The fields of one audit row the chain hash covers, as they read back from the database:
 * `sequence` as a decimal string (BIGINT exceeds 2^53), `timestamp` as the instant,
 * `details` as parsed JSON. The writer hashes exactly what it stores and the verifier
 * exactly what it reads, so any difference between the two is tampering.
 */
export interface AuditChainFields {
  id: string;
  sequence: string;
  timestamp: Date;
  eventType: string;
  userId: string | null;
  resourceId: string | null;
  action: string;
  ipAddress: string | null;
  userAgent: string | null;
  success: boolean;
  details: unknown;
  prevHash: string;
}

/**
 * Canonical JSON (RFC 8785 JCS for the values JSON can hold): object keys sorted by UTF-16
 * code units, no whitespace, numbers and strings as ECMAScript's JSON.stringify writes them.
 * Property order of the input, which JSONB does not preserve, therefore never matters.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // undefined, functions and symbols have no JSON form; neither JSONB nor the chain stores them.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/** sha256 hex of the canonical serialization of one row, its prevHash included (REQ 18.4). */
export function computeAuditHash(fields: AuditChainFields): string {
  const canonical = canonicalJson({
    id: fields.id,
    sequence: fields.sequence,
    timestamp: fields.timestamp.toISOString(),
    eventType: fields.eventType,
    userId: fields.userId,
    resourceId: fields.resourceId,
    action: fields.action,
    ipAddress: fields.ipAddress,
    userAgent: fields.userAgent,
    success: fields.success,
    details: fields.details ?? null,
    prevHash: fields.prevHash,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse for stored JSON (JSONB as text), safe from a V8 bug in Node 24 and 26: once a
 * key such as `\\` has been parsed, a later object key written with an escape (`"\""`) can
 * come back as that earlier key (nodejs/node#63785, crbug 521080746). A hash chain must not
 * depend on it, so texts with any backslash are read by this strict parser instead.
 */
export function parseJsonText(text: string): unknown {
  if (!text.includes('\\')) return JSON.parse(text);
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`invalid JSON at position ${i}: ${what}`);
  };
  const skipWhitespace = () => {
    while (i < text.length && WHITESPACE.has(text[i]!)) i += 1;
  };
  const expect = (char: string) => {
    if (text[i] !== char) fail(`expected ${char}`);
    i += 1;
  };
  const readString = (): string => {
    expect('"');
    let out = '';
    let start = i;
    for (;;) {
      const char = text[i];
      if (char === undefined) return fail('unterminated string');
      if (char === '"') {
        out += text.slice(start, i);
        i += 1;
        return out;
      }
      if (char === '\\') {
        out += text.slice(start, i);
        const escape = text[i + 1] ?? '';
        if (escape === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else {
          const decoded = ESCAPES[escape];
          if (decoded === undefined) fail('bad escape');
          out += decoded;
          i += 2;
        }
        start = i;
        continue;
      }
      if (char < ' ') fail('control character in string');
      i += 1;
    }
  };
  const readValue = (): unknown => {
    skipWhitespace();
    const char = text[i];
    if (char === '"') return readString();
    if (char === '{') {
      i += 1;
      const out: Record<string, unknown> = {};
      skipWhitespace();
      if (text[i] === '}') {
        i += 1;
        return out;
      }
      for (;;) {
        skipWhitespace();
        const key = readString();
        skipWhitespace();
        expect(':');
        // defineProperty, as JSON.parse does: "__proto__" stays an ordinary key.
        Object.defineProperty(out, key, { value: readValue(), enumerable: true, writable: true, configurable: true });
        skipWhitespace();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        expect('}');
        return out;
      }
    }
    if (char === '[') {
      i += 1;
      const out: unknown[] = [];
      skipWhitespace();
      if (text[i] === ']') {
        i += 1;
        return out;
      }
      for (;;) {
        out.push(readValue());
        skipWhitespace();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        expect(']');
        return out;
      }
    }
    for (const [literal, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return value;
      }
    }
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) return fail('unexpected character');
    i += match[0].length;
    return Number(match[0]);
  };
  const result = readValue();
  skipWhitespace();
  if (i !== text.length) fail('trailing characters');
  return result;
}

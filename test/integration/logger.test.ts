import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureLogger, strongSecret } from '../helpers/kit.js';

describe('secret values never appear in logs', () => {
  it('scrubs configured secret values from messages, fields, nested objects and errors', () => {
    fc.assert(
      fc.property(fc.constantFrom('message', 'field', 'nested', 'error', 'array'), fc.string(), (where, noise) => {
        const secret = strongSecret();
        const { logger, lines } = captureLogger('info', [secret]);
        const text = `${noise}${secret}${noise}`;
        if (where === 'message') logger.info(text);
        if (where === 'field') logger.info('event', { url: `postgres://u:${secret}@db/x` });
        if (where === 'nested') logger.info('event', { a: { b: { c: text } } });
        if (where === 'error') logger.error('failed', { error: new Error(`connect failed for ${text}`) });
        if (where === 'array') logger.info('event', { list: [1, text] });
        const output = lines().join('\n');
        expect(output).not.toContain(secret);
        expect(output).toContain('[REDACTED]');
      }),
      { numRuns: 100 },
    );
  });

  it('redacts fields whose names mark them as sensitive, whatever their value', () => {
    const { logger, lines } = captureLogger('info');
    logger.info('login', { password: 'hunter2', authorization: 'Bearer abc', refreshToken: 'r-1', user: 'ada' });
    const line = JSON.parse(lines()[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      password: '[REDACTED]',
      authorization: '[REDACTED]',
      refreshToken: '[REDACTED]',
      user: 'ada',
    });
  });
});

describe('log levels', () => {
  it('an entry below the level is neither formatted nor written; a child follows its parent level changes', () => {
    const { logger, lines } = captureLogger('info');
    const child = logger.child({ component: 'test' });
    let formatted = 0;
    // A field whose serialization is observable: formatting an entry reads it.
    const probe = {
      toJSON() {
        formatted += 1;
        return 'probe';
      },
    };
    logger.http('request completed', { probe });
    child.debug('details', { probe });
    expect(formatted).toBe(0);
    expect(lines()).toHaveLength(0);
    child.info('kept', { probe });
    expect(formatted).toBe(1);
    // A reload lowers the level: the same calls now write, through the child too.
    logger.level = 'debug';
    logger.http('request completed', { probe });
    child.debug('details', { probe });
    expect(lines().map((l) => (JSON.parse(l) as { message: string }).message)).toEqual([
      'kept',
      'request completed',
      'details',
    ]);
  });
});

import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/kit.js';

describe('GraphQL over HTTP conformance (graphql-http auditServer)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { actAs: 'anonymous' });
  });
  afterAll(() => t.close());

  it('passes every MUST of the GraphQL-over-HTTP spec', async () => {
    const results = await auditServer({
      url: `${t.url}/graphql`,
      // The audit's own requests carry no preflight header; CSRF prevention would refuse its GETs.
      fetchFn: (input: string | URL | Request, init?: RequestInit) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), 'apollo-require-preflight': 'true' },
        }),
    });
    const failedMusts = results.filter((r) => r.status === 'error' && r.name.startsWith('MUST'));
    expect(
      failedMusts.map((r) => `${r.name}: ${r.status === 'error' ? r.reason : ''}`),
      'failed MUST audits',
    ).toEqual([]);
    expect(results.filter((r) => r.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });
});

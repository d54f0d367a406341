import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGraphQLSchema } from '../../src/graphql/schema.js';
import {
  loadPersistedOperations,
  ManifestError,
  normalizeDocument,
  sha256Hex,
} from '../../src/graphql/persisted-operations.js';
import { ROOT } from '../helpers/kit.js';

const MANIFEST = join(ROOT, 'schema/generated/persisted-operations.json');

interface Manifest {
  format: string;
  version: number;
  operations: { id: string; name: string; type: string; body: string }[];
}

const committed = (): Manifest => JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;

function write(manifest: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'app.json');
  writeFileSync(path, JSON.stringify(manifest));
  return path;
}

function entry(name: string, body: string) {
  return { id: sha256Hex(body), name, type: 'query', body };
}

// The manifests are checked once at startup: a stale or tampered one stops the gateway (issue 5).
describe('persisted-operation manifests', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGraphQLSchema();
  });

  it('loads the committed manifest: every operation of schema/operations, valid against the schema', () => {
    const operations = loadPersistedOperations([MANIFEST], schema);
    expect(operations.byId.size).toBe(committed().operations.length);
    expect([...operations.byId.values()].map((o) => o.operation.name)).toContain('CatalogPage');
  });

  it('serves the union of several manifests (one per client app version)', () => {
    const newer = write({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [entry('HealthCheck', 'query HealthCheck {\n  health {\n    status\n  }\n}')],
    });
    const operations = loadPersistedOperations([MANIFEST, newer], schema);
    expect(operations.byId.size).toBe(committed().operations.length + 1);
    expect(
      operations.byId.get(sha256Hex('query HealthCheck {\n  health {\n    status\n  }\n}'))?.operation,
    ).toMatchObject({ name: 'HealthCheck', manifest: 'app.json' });
  });

  it('refuses tampered ids, invalid operations, unnamed bodies and foreign formats, naming each', () => {
    const good = committed().operations[0]!;
    const path = write({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [
        { ...good, body: `${good.body}\n` },
        entry('Ghost', 'query Ghost {\n  noSuchField\n}'),
        entry('Wrong', 'query Other {\n  health {\n    status\n  }\n}'),
      ],
    });
    let error: unknown;
    try {
      loadPersistedOperations([path], schema);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ManifestError);
    const problems = (error as ManifestError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/not the sha256 of its body/);
    expect(problems[1]).toMatch(/Ghost is not valid against the schema/);
    expect(problems[2]).toMatch(/Wrong must hold exactly that one named operation/);
    expect(() => loadPersistedOperations([write({ operations: [] })], schema)).toThrow(/not an Apollo persisted/);
  });

  it('normalizes away layout, comments, definition order and __typename, and nothing else', () => {
    const a = parse('fragment F on Product { id __typename }\nquery Q { products { items { ...F } } }');
    const b = parse('# comment\nquery Q {\n products { items { ...F __typename } } }\nfragment F on Product { id }');
    const c = parse('query Q { products { items { ...F } } } fragment F on Product { sku }');
    expect(normalizeDocument(a)).toBe(normalizeDocument(b));
    expect(normalizeDocument(a)).not.toBe(normalizeDocument(c));
  });
});

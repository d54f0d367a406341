import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { lexicographicSortSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compareSdl } from '../../scripts/lib/schema-contract.js';
import { buildGraphQLSchema } from '../../src/graphql/schema.js';
import { ROOT } from '../helpers/kit.js';

const BEFORE = `type Query { product(id: ID!): Product }
type Product { id: ID! name: String! sku: String! }`;

describe('the SDL as a contract', () => {
  it('the committed schema/schema.graphql is what the code builds', async () => {
    const built = printSchemaWithDirectives(lexicographicSortSchema(await buildGraphQLSchema()));
    expect(readFileSync(join(ROOT, 'schema', 'schema.graphql'), 'utf8')).toContain(built);
  });

  it('every type, field and argument of the graph has a description (REQ 13)', async () => {
    const schema = await buildGraphQLSchema();
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      // The root operation types are described by their fields; type-graphql gives them no description.
      if (!type.description && type !== schema.getQueryType() && type !== schema.getMutationType())
        missing.push(type.name);
      if ('getFields' in type) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : [])
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('flags removed fields as breaking until they are acknowledged with a reason', async () => {
    const after = `type Query { product(id: ID!): Product }
type Product { id: ID! name: String! description: String }`;
    const report = await compareSdl(BEFORE, after, []);
    expect(report.breaking.map((c) => c.message)).toEqual(["Field 'sku' was removed from object type 'Product'"]);
    expect(report.changes.some((c) => c.message.includes("'description' was added"))).toBe(true);
    expect(report.unacknowledged).toHaveLength(1);
    const blankReason = await compareSdl(BEFORE, after, [
      { change: "Field 'sku' was removed from object type 'Product'", reason: ' ' },
    ]);
    expect(blankReason.unacknowledged).toHaveLength(1);
    const acknowledged = await compareSdl(BEFORE, after, [
      {
        change: "Field 'sku' was removed from object type 'Product'",
        reason: 'deprecated since 2026-01, no client reads it',
      },
    ]);
    expect(acknowledged.unacknowledged).toHaveLength(0);
  });

  it('adding optional things is not breaking', async () => {
    const after = `type Query { product(id: ID!): Product products(limit: Int): [Product!]! }
type Product { id: ID! name: String! sku: String! tags: [String!] }`;
    expect((await compareSdl(BEFORE, after, [])).breaking).toEqual([]);
  });
});

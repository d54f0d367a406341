import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { SystemResolver } from '../modules/system/index.js';

// Every module's resolvers, in SDL order. Modules register here through their index.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- type-graphql's resolver class type
const RESOLVERS: NonEmptyArray<Function> = [SystemResolver];

/** Builds the executable schema from the type-graphql classes (no SDL file is read). */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  // Validation runs in our own input layer, which reports all field errors at once.
  return buildSchema({ resolvers: RESOLVERS, validate: false });
}

import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { getVariableValues, Kind, type FragmentDefinitionNode, type GraphQLSchema } from 'graphql';
import type { Metrics } from '../../observability/metrics.js';
import type { Database } from '../../platform/db/index.js';
import { createReadCompiler, takeStockOf } from '../compiled-reads.js';
import type { GraphQLContext } from '../context.js';
import type { Projections } from '../projections.js';
import { applyOperationPolicy, type OperationPolicies } from './cache-policy.plugin.js';

/** Statements prepared per connection, at most (the first texts seen; the rest run unnamed). */
const MAX_NAMED_STATEMENTS = 256;

export interface CompiledReadsOptions {
  schema: GraphQLSchema;
  projections: Projections;
  database: Pick<Database, 'readText'>;
  policyOf: OperationPolicies;
  metrics: Pick<Metrics, 'graphql'>;
}

/**
 * Answers the queries the read compiler can compile (ADR 0008) in Apollo's `responseForOperation`
 * hook, after the response cache's: persisted operations, operation limits, rate limits and the
 * budget have run by then, and metrics, cache policy and error formatting run after as for any
 * operation. A statement that fails leaves the query to execution, which reports the failure as
 * it always does; unless the request is past its deadline, whose 504 has been sent already.
 */
export function createCompiledReadsPlugin(options: CompiledReadsOptions): ApolloServerPlugin<GraphQLContext> {
  const compile = createReadCompiler(options.schema, options.projections);
  const names = new Map<string, string>();
  const statementName = (sql: string): string | undefined => {
    let name = names.get(sql);
    if (!name && names.size < MAX_NAMED_STATEMENTS) {
      name = `read_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      names.set(sql, name);
    }
    return name;
  };
  const { compiledReads, rootFields } = options.metrics.graphql;
  const executed = (logger: GraphQLContext['logger'], reason: string) => {
    compiledReads.inc({ result: 'executed' });
    logger.debug('query executed, not compiled', { reason });
    return null;
  };
  return {
    async requestDidStart() {
      return {
        async responseForOperation(requestContext) {
          const { document, contextValue, request } = requestContext;
          // Undefined when the operation name resolves to nothing (typed otherwise): Apollo's 400.
          const operation = requestContext.operation as typeof requestContext.operation | undefined;
          if (!operation || operation.operation !== 'query') return null;
          const coerced = getVariableValues(
            options.schema,
            operation.variableDefinitions ?? [],
            request.variables ?? {},
          );
          if (coerced.errors) return executed(contextValue.logger, 'variables');
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
          }
          const compilation = compile(operation, fragments, coerced.coerced, contextValue);
          if ('reason' in compilation) return executed(contextValue.logger, compilation.reason);
          const { read } = compilation;
          const started = performance.now();
          let text: string | null;
          try {
            text = await options.database.readText(read.sql, read.values, statementName(read.sql));
          } catch (error) {
            compiledReads.inc({ result: 'failed' });
            // The error's code only: a driver's message can quote a parameter (REQ 6.4).
            const code = (error as { code?: string }).code;
            if (contextValue.signal.aborted) throw error;
            contextValue.logger.warn('compiled read failed; executing the query instead', { code });
            return null;
          }
          const seconds = (performance.now() - started) / 1000;
          for (const field of read.rootFields) rootFields.observe({ field }, seconds);
          compiledReads.inc({ result: 'answered' });
          applyOperationPolicy(options.policyOf, requestContext);
          const data = JSON.parse(text ?? 'null') as Record<string, unknown>;
          // What a cached-read lane keeps this answer by (ADR 0007): read now, showing this stock.
          const deps = contextValue.cacheDeps;
          if (deps) deps.executed = true;
          if (read.stockOf.length > 0) for (const id of takeStockOf(data, read.stockOf)) deps?.stockOf(id);
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { data } },
          };
        },
      };
    },
  };
}

// Benchmark reference 2 (the ratio baseline): Apollo Server 5 on Fastify with a one-field schema,
// `type Query { hello: String }`, as its documentation sets it up. What GraphQL over this stack costs
// before any of the gateway's own work (auth, limits, database, Redis). Started by load/bench.ts.
import { ApolloServer } from '@apollo/server';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify from 'fastify';
import { runBenchChild } from './capacity.js';

await runBenchChild('apollo-hello-server', async () => {
  const fastify = Fastify({ logger: false });
  const apollo = new ApolloServer({
    typeDefs: 'type Query { hello: String }',
    resolvers: { Query: { hello: () => 'world' } },
    introspection: false,
    plugins: [fastifyApolloDrainPlugin(fastify)],
  });
  await apollo.start();
  await fastify.register(fastifyApollo(apollo));
  const address = await fastify.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `${address}/graphql`,
    server: fastify.server,
    async stop() {
      await apollo.stop();
      await fastify.close();
    },
  };
});

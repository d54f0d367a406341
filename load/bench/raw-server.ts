// Benchmark reference 1: a raw Node HTTP server answering every request with the same small JSON body.
// The ceiling of the machine and the load generator: no framework, no GraphQL. Started by load/bench.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runBenchChild } from './capacity.js';

/** The same answer the Apollo hello server gives (shape and size alike). */
const BODY = Buffer.from('{"data":{"hello":"world"}}');

await runBenchChild('raw-server', async () => {
  const server = createServer((request, response) => {
    // Read the request to its end, as a real server would, then answer.
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': BODY.length });
      response.end(BODY);
    });
  });
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    server,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});

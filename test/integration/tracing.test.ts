import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../helpers/databases.js';
import { startGatewayProcess, until, type GatewayProcess } from '../helpers/gateway-process.js';
import { scratchDatabase } from '../helpers/kit.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
  events?: { name: string; attributes: { key: string; value: Record<string, unknown> }[] }[];
}

/** A real OTLP/HTTP receiver on loopback: decodes every export (JSON encoding) into spans. */
/** A real SMTP server on loopback that keeps each message's raw text. */
async function startSmtp(): Promise<{ port: number; received: string[]; server: SMTPServer }> {
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, received, server };
}

async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; server: Server; contentTypes: Set<string> }> {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      contentTypes.add(String(request.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans, server, contentTypes };
}

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
}

// REQ 12 / PROP 15: the real entry point exports its spans to a real OTLP receiver.
describe('tracing over OTLP/HTTP', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gateway: GatewayProcess;
  const scratch: string[] = [];

  let smtp: { port: number; received: string[]; server: SMTPServer };
  let databaseUrl = '';
  beforeAll(async () => {
    receiver = await startReceiver();
    smtp = await startSmtp();
    const { url, name } = await scratchDatabase('tracing', { migrated: true });
    databaseUrl = url;
    scratch.push(name);
    gateway = await startGatewayProcess(url, {
      LOG_LEVEL: 'http',
      TRACING_OTLP_ENDPOINT: receiver.url,
      TRACING_SAMPLE_RATIO: '1',
      TRACING_EXPORT_DELAY_MS: '100',
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      OUTBOX_POLL_MS: '100',
    });
  }, 60_000);

  afterAll(async () => {
    await gateway.stop();
    receiver.server.close();
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
    for (const name of scratch) await dropDatabase(name);
  });

  async function post(query: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${gateway.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, body: (await res.json()) as { errors?: { extensions: Record<string, unknown> }[] } };
  }

  it('continues the caller’s trace: HTTP, GraphQL, resolver, SQL and Redis spans in one tree', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    // Two statements: the catalog page (variants nested in it) and the warehouses.
    const res = await post('{ products(limit: 2) { items { id variants { id } } } warehouses { id } }', {
      traceparent: `00-${traceId}-${callerSpan}-01`,
    });
    expect(res.status).toBe(200);
    await until(
      () => receiver.spans.some((s) => s.traceId === traceId && s.kind === 2),
      'the request span to be exported',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const root = spans.find((s) => s.kind === 2)!; // SERVER
    expect(root.parentSpanId).toBe(callerSpan);
    expect(attribute(root, 'http.route') ?? attribute(root, 'url.path') ?? attribute(root, 'http.target')).toMatch(
      /graphql/,
    );
    // Every other span hangs off the request span, through its parents.
    for (const span of spans) {
      let current: OtlpSpan | undefined = span;
      let hops = 0;
      while (current && current !== root && hops < 50) {
        current = current.parentSpanId ? byId.get(current.parentSpanId) : undefined;
        hops += 1;
      }
      expect(current, `${span.name} reaches the request span`).toBe(root);
    }
    const names = spans.map((s) => s.name);
    expect(names).toContain('graphql.parse');
    expect(names).toContain('graphql.validate');
    expect(names.some((n) => n === 'query' || n.startsWith('query'))).toBe(true);
    expect(names.some((n) => n.startsWith('graphql.resolve products'))).toBe(true);
    expect(names.filter((n) => n.startsWith('pg.query')).length).toBeGreaterThanOrEqual(2);
    expect(spans.some((s) => attribute(s, 'db.system') === 'redis' || attribute(s, 'db.system.name') === 'redis')).toBe(
      true,
    );
    // The log lines written inside the request carry its trace id.
    expect(
      gateway
        .output()
        .split('\n')
        .some((line) => line.includes(`"traceId":"${traceId}"`)),
    ).toBe(true);
    expect(receiver.contentTypes.has('application/json')).toBe(true);
  });

  it('puts the trace id in error responses and records the error on the request span', async () => {
    const traceId = 'a3ce929d0e0e47364bf92f3577b34da6';
    const res = await post('{ product(id: "not-a-uuid") { id } }', {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', traceId });
    await until(
      () => receiver.spans.some((s) => s.traceId === traceId && s.kind === 2),
      'the request span to be exported',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The request span records the error as an exception event with its catalog code.
    const events = receiver.spans.filter((s) => s.traceId === traceId).flatMap((s) => s.events ?? []);
    const codes = events
      .filter((e) => e.name === 'exception')
      .map((e) => e.attributes.find((a) => a.key === 'graphql.error.code')?.value.stringValue);
    expect(codes).toContain('GRAPHQL_VALIDATION_FAILED');
  });

  it('propagates trace context on outgoing SMTP: the email carries the delivery span’s traceparent', async () => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO email_outbox (id, to_address, subject, text_body, template) VALUES (gen_random_uuid(), $1, 'Traced', 'Hello', 'test')`,
        ['someone@example.com'],
      );
    } finally {
      await db.end();
    }
    await until(() => smtp.received.length > 0, 'the email to arrive');
    const traceparent = /^traceparent:\s*(\S+)/im.exec(smtp.received[0]!)?.[1];
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const [, traceId, spanId] = traceparent!.split('-');
    await until(
      () => receiver.spans.some((s) => s.name === 'outbox.deliver' && s.traceId === traceId && s.spanId === spanId),
      'the delivery span to be exported',
    );
  });

  it('PROP 15: concurrent requests get unique trace ids', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 8 }), async (concurrent) => {
        const responses = await Promise.all(
          Array.from({ length: concurrent }, () => post('{ product(id: "not-a-uuid") { id } }')),
        );
        const ids = responses.map((r) => r.body.errors?.[0]?.extensions.traceId as string);
        for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
        expect(new Set(ids).size).toBe(concurrent);
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});

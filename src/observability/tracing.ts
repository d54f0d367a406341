import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { AppConfig } from '../config/index.js';
import type { Logger } from './logger.js';

export interface Tracing {
  /** Exports what is buffered and stops; the last step of shutdown before the logs. */
  shutdown(): Promise<void>;
}

const HEALTH_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * OpenTelemetry (REQ 12): a span per HTTP request (W3C trace context accepted from clients),
 * GraphQL parse/validate/execute and resolver spans down to `resolverDepth`, a span per SQL
 * statement (pg, which Prisma's adapter uses) and per Redis command, and trace context
 * propagated on outgoing fetches (JWKS). Exported over OTLP/HTTP to Jaeger or any collector.
 *
 * Must run before the instrumented libraries are loaded: main.ts starts it, then imports the
 * gateway. Without an endpoint nothing is installed and the API stays a no-op.
 */
export function startTracing(config: AppConfig['tracing'], version: string, logger: Logger): Tracing {
  if (!config.endpoint) return { shutdown: async () => undefined };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version }),
    // Follow the caller's decision when it sent one; sample new traces at the configured ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: config.endpoint }),
        scheduledDelayMillis: config.exportDelayMs,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes would drown the traces that matter.
        ignoreIncomingRequestHook: (request) => HEALTH_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        // The exporter's own requests are not traced.
        ignoreOutgoingRequestHook: () => true,
      }),
      new UndiciInstrumentation(),
      new GraphQLInstrumentation({
        depth: config.resolverDepth,
        mergeItems: true,
        ignoreTrivialResolveSpans: true,
      }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  logger.info('tracing on', {
    endpoint: config.endpoint,
    sampleRatio: config.sampleRatio,
    resolverDepth: config.resolverDepth,
  });
  return {
    async shutdown() {
      await provider.shutdown().catch((error: unknown) => logger.warn('trace export failed at shutdown', { error }));
    },
  };
}

/** The trace id of the active span, for logs and error responses; undefined when not tracing. */
export function activeTraceId(): string | undefined {
  const span: Span | undefined = trace.getActiveSpan();
  const spanContext = span?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

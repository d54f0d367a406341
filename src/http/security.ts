import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { AppConfig } from '../config/index.js';
import type { Logger } from '../observability/logger.js';

/** Apollo Sandbox (development only) loads from Apollo's CDN and talks to this server. */
const SANDBOX_SOURCES = [
  'https://embeddable-sandbox.cdn.apollographql.com',
  'https://apollo-server-landing-page.cdn.apollographql.com',
];

/**
 * The CSP of the pages the gateway renders itself (the API reference at /api/docs), the same in
 * every environment: nothing loads from anywhere, no script runs, and only the page's own
 * inline `<style>` blocks apply, pinned by their SHA-256 (the page is rendered once, so a hash
 * works where a per-response nonce would defeat caching). Sent by the route, it replaces the
 * API's policy of registerSecurity below, including the wider Sandbox one.
 */
export function renderedPageCsp(inlineStyles: readonly string[]): string {
  const hashes = inlineStyles.map((css) => `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`);
  return [
    "default-src 'none'",
    `style-src ${hashes.length > 0 ? hashes.join(' ') : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Seconds a client is asked to wait when the instance is overloaded. */
const OVERLOAD_RETRY_AFTER_SECONDS = 10;

/**
 * HTTP hardening (003 SEC-003, SEC-004; 004 section 1), registered before any route:
 * security headers, CORS with an explicit allowlist, and an overload guard that answers 503
 * with Retry-After before the process falls over. CSRF is Apollo Server's csrfPrevention
 * (on by default): a request must be non-simple (JSON body or a preflight header).
 */
export async function registerSecurity(
  server: FastifyInstance,
  config: AppConfig,
  logger: Logger,
  /** Told of every request shed for overload (the shed counter). */
  onShed: (reason: 'event_loop_delay' | 'heap') => void = () => undefined,
): Promise<void> {
  const sandbox = config.graphql.sandbox;
  // helmet's middleware built once: @fastify/helmet built it again on every request (its
  // directives parsed and its header names dashed per request: 4% of a cached catalog read's CPU).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      // Exactly the directives below: helmet's defaults would add looser ones (style-src https:…).
      useDefaults: false,
      // The API serves JSON; only the development Sandbox page needs anything loaded.
      directives: sandbox
        ? {
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'", "'unsafe-inline'", ...SANDBOX_SOURCES],
            styleSrc: ["'self'", "'unsafe-inline'", ...SANDBOX_SOURCES, 'https://fonts.googleapis.com'],
            imgSrc: ["'self'", 'data:', ...SANDBOX_SOURCES],
            fontSrc: ["'self'", 'https://fonts.gstatic.com'],
            frameSrc: ["'self'", ...SANDBOX_SOURCES],
            connectSrc: ["'self'", ...SANDBOX_SOURCES],
            manifestSrc: ["'self'", ...SANDBOX_SOURCES],
            frameAncestors: ["'none'"],
          }
        : { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    // HSTS with preload only where TLS is guaranteed; a developer's http://localhost must not be pinned.
    strictTransportSecurity: config.isProductionLike
      ? { maxAge: 63_072_000, includeSubDomains: true, preload: true }
      : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: !sandbox,
  });
  server.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });

  const allowed = new Set(config.http.corsOrigins);
  await server.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: [
      'content-type',
      'authorization',
      'apollo-require-preflight',
      // W3C trace context, so browser clients can continue their traces into the gateway.
      'traceparent',
      'tracestate',
      'x-apollo-operation-name',
      'x-request-id',
    ],
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    credentials: false,
    maxAge: 600,
  });

  const { maxEventLoopDelayMs, maxHeapBytes } = config.http.overload;
  if (maxEventLoopDelayMs > 0 || maxHeapBytes > 0) {
    await server.register(underPressure, {
      maxEventLoopDelay: maxEventLoopDelayMs > 0 ? maxEventLoopDelayMs : undefined,
      maxHeapUsedBytes: maxHeapBytes > 0 ? maxHeapBytes : undefined,
      retryAfter: OVERLOAD_RETRY_AFTER_SECONDS,
      sampleInterval: 250,
      // Liveness must keep answering while the instance sheds load, or it would be restarted.
      exposeStatusRoute: false,
      pressureHandler: (request, reply, type, value) => {
        if (request.url.startsWith('/health/live')) return; // handled as usual
        logger.warn('overloaded: shedding a request with 503', { type, value });
        onShed(type === 'eventLoopDelay' ? 'event_loop_delay' : 'heap');
        void reply
          .code(503)
          .header('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS))
          .send({
            errors: [
              { message: 'The service is overloaded. Retry later.', extensions: { code: 'SERVICE_UNAVAILABLE' } },
            ],
          });
      },
    });
  }
}

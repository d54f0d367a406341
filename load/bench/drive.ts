// Closed-loop load with autocannon: `connections` connections, each sending its next request as soon as
// the previous answer arrived, for a fixed time. Every answer is checked: a non-2xx status or a body
// with "errors" counts as an error (a server that is fast because it answers errors must show it),
// and the mean response body size is recorded.
import autocannon from 'autocannon';

export interface DriveOptions {
  /** The full URL requests go to (its path is used). */
  url: string;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
  /** The body of the next request (called once per request: rotate variables, hand out carts). */
  nextBody(): string;
}

export interface DriveResult {
  /** Answers received (any status) per second of the run. */
  requestsPerSecond: number;
  requests: number;
  durationSeconds: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** non-2xx answers + 2xx answers whose body has "errors" + connection errors and timeouts. */
  errors: number;
  non2xx: number;
  bodyErrors: number;
  socketErrors: number;
  timeouts: number;
  /** Mean response body, bytes. */
  meanResponseBytes: number;
  /** The first error answer (truncated), to tell what went wrong. */
  errorSample?: string;
}

const SAMPLE_CHARS = 400;

export async function drive(options: DriveOptions): Promise<DriveResult> {
  const target = new URL(options.url);
  let answers = 0;
  let bodyBytes = 0;
  let bodyErrors = 0;
  let non2xx = 0;
  let errorSample: string | undefined;
  const result = await autocannon({
    url: target.origin,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: target.pathname,
        headers: { ...options.headers, 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: options.nextBody() }),
        onResponse: (status, body) => {
          answers += 1;
          bodyBytes += Buffer.byteLength(body);
          const failed = status < 200 || status > 299;
          if (failed) non2xx += 1;
          else if (body.includes('"errors"')) bodyErrors += 1;
          if ((failed || body.includes('"errors"')) && errorSample === undefined) {
            errorSample = `${status} ${body.slice(0, SAMPLE_CHARS)}`;
          }
        },
      },
    ],
  });
  const durationSeconds = result.duration;
  return {
    requestsPerSecond: result.requests.total / durationSeconds,
    requests: result.requests.total,
    durationSeconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.mean,
    errors: non2xx + bodyErrors + result.errors,
    non2xx,
    bodyErrors,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    meanResponseBytes: answers > 0 ? bodyBytes / answers : 0,
    ...(errorSample !== undefined ? { errorSample } : {}),
  };
}

/**
 * The compiled gateway's command line after `node`, as the image (Dockerfile `CMD`) and `npm start`
 * (scripts/start.sh) run it; test/integration/start-command.test.ts holds the three equal. The load
 * runner starts its gateways with it, and the bench gives its gateway the same V8 flags
 * (docs/capacity.md, "Memory: the start command's flags").
 */
export const GATEWAY_COMMAND = [
  '--enable-source-maps',
  '--max-semi-space-size=8',
  '--heap-growing-percent=20',
  'dist/src/main.js',
] as const;

/** The V8 heap flags of GATEWAY_COMMAND: what the bench's gateway, run under tsx, shares with production. */
export const GATEWAY_HEAP_FLAGS = GATEWAY_COMMAND.filter((arg) =>
  /^--(max-semi-space-size|heap-growing-percent)=/.test(arg),
);

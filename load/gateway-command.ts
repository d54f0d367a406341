/** The V8 heap flags production starts with; the bench's gateway, run under tsx, gets them too. */
export const GATEWAY_HEAP_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=20'] as const;

/**
 * The compiled gateway's command line after `node`, as the image (Dockerfile `CMD`) and `npm start`
 * (scripts/start.sh) run it; test/integration/start-command.test.ts holds the three equal. The load
 * runner starts its gateways with it (docs/capacity.md, "Memory: the start command's flags").
 */
export const GATEWAY_COMMAND = ['--enable-source-maps', ...GATEWAY_HEAP_FLAGS, 'dist/src/main.js'] as const;

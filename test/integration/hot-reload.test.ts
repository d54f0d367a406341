import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../helpers/databases.js';
import { startGatewayProcess, until, type GatewayProcess } from '../helpers/gateway-process.js';
import { scratchDatabase } from '../helpers/kit.js';

// Depth 4: products → items → variants → stockLevels → (quantity)
const DEEP = '{ products(limit: 1) { items { variants { stockLevels { quantity } } } } }';

async function depthCode(gateway: GatewayProcess): Promise<unknown> {
  const res = await fetch(`${gateway.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: DEEP }),
  });
  const body = (await res.json()) as { errors?: { extensions: Record<string, unknown> }[] };
  return body.errors?.[0]?.extensions.code ?? 'OK';
}

const scratch: string[] = [];
afterAll(async () => {
  for (const name of scratch) await dropDatabase(name);
});

async function gatewayWithConfigFile(content: string, env: Record<string, string | undefined> = {}) {
  const { url, name } = await scratchDatabase('reload', { migrated: true });
  scratch.push(name);
  const file = join(mkdtempSync(join(tmpdir(), 'gateway-config-')), 'gateway.env');
  writeFileSync(file, content);
  const gateway = await startGatewayProcess(url, { CONFIG_FILE: file, ...env });
  return { gateway, file };
}

// REQ 15.4: log level, operation limits and rate limits change without a restart.
describe('configuration hot reload', () => {
  it('applies a changed CONFIG_FILE at once; refuses an invalid one and keeps running', async () => {
    // The log level comes from the file here (the environment would win over it).
    const { gateway, file } = await gatewayWithConfigFile('GRAPHQL_MAX_DEPTH=10\nLOG_LEVEL=info\n', {
      LOG_LEVEL: undefined,
    });
    try {
      expect(await depthCode(gateway)).toBe('OK');
      writeFileSync(file, 'GRAPHQL_MAX_DEPTH=2\nLOG_LEVEL=debug\n');
      await until(() => gateway.output().includes('configuration reloaded'), 'the reload');
      expect(await depthCode(gateway)).toBe('OPERATION_LIMIT_EXCEEDED');
      expect(gateway.output()).toMatch(/"changed":\["logLevel","limits.depth"\]/);

      writeFileSync(file, 'GRAPHQL_MAX_DEPTH=lots\n');
      await until(() => gateway.output().includes('configuration reload refused'), 'the refusal');
      expect(await depthCode(gateway)).toBe('OPERATION_LIMIT_EXCEEDED');
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  }, 60_000);

  it('reloads on SIGHUP, and names settings that need a restart instead of applying them', async () => {
    const { gateway, file } = await gatewayWithConfigFile('GRAPHQL_MAX_DEPTH=10\n', { CONFIG_FILE_WATCH: 'false' });
    try {
      writeFileSync(file, 'GRAPHQL_MAX_DEPTH=3\nDATABASE_POOL_SIZE=7\n');
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Not watched: nothing changes until the signal.
      expect(await depthCode(gateway)).toBe('OK');
      gateway.child.kill('SIGHUP');
      await until(() => gateway.output().includes('configuration reloaded'), 'the reload');
      expect(await depthCode(gateway)).toBe('OPERATION_LIMIT_EXCEEDED');
      expect(gateway.output()).toMatch(
        /configuration changes that need a restart were not applied.*database\.poolSize/,
      );
      expect(gateway.output()).toContain('"trigger":"SIGHUP"');
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  }, 60_000);
});

// Offline Prisma schema diff → PostgreSQL SQL through @prisma/schema-engine-wasm.
// The native schema engine cannot be downloaded (air-gapped installs, our CI); the WASM engine
// computes the same migration SQL. It needs no database: SchemaEngine.new() sends exactly one
// probe query, which the offline adapter below answers.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import * as engineModule from '@prisma/schema-engine-wasm/schema_engine_bg';

// The package's root module imports its .wasm as an ES module, which Node cannot load, and the
// .wasm is not exported: load it by path next to the JS glue.
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: Record<string, unknown>): Promise<{ instance: { exports: unknown } }>;
}

let initialized: Promise<void> | undefined;
function initWasm(): Promise<void> {
  initialized ??= (async () => {
    const glue = fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bytes = await readFile(glue.replace(/\.js$/, '.wasm'));
    // WebAssembly is a Node global, but not in the ES2023 lib this project compiles against.
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': engineModule });
    engineModule.__wbg_set_wasm(instance.exports as never);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  })();
  return initialized;
}

const PROBE = /SELECT EXISTS\(SELECT 1 FROM pg_namespace WHERE nspname = \$1\), version\(\)/;

function offlineAdapter() {
  const refuse = (what: string) => Promise.reject(new Error(`schema-diff offline adapter: unexpected ${what}`));
  return {
    provider: 'postgres' as const,
    adapterName: '@prisma/adapter-pg',
    queryRaw: async ({ sql }: { sql: string }) =>
      PROBE.test(sql)
        ? {
            columnNames: ['exists', 'version', 'numeric_version'],
            columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
            rows: [[true, 'PostgreSQL 15.0 (offline)', 150000]],
          }
        : refuse(`query: ${sql}`),
    executeRaw: ({ sql }: { sql: string }) => refuse(`executeRaw: ${sql}`),
    executeScript: (sql: string) => refuse(`executeScript: ${sql}`),
    startTransaction: () => refuse('startTransaction'),
    dispose: async () => undefined,
  };
}

const offlineFactory = {
  provider: 'postgres' as const,
  adapterName: '@prisma/adapter-pg',
  connect: async () => offlineAdapter(),
  connectToShadowDb: async () => offlineAdapter(),
};

function target(text: string | null, path: string) {
  return text?.trim() ? { tag: 'schemaDatamodel', files: [{ path, content: text }] } : { tag: 'empty' };
}

/** SQL that takes a database from the `from` datamodel (null: empty database) to `to`. */
export async function diffDatamodels(from: string | null, to: string | null): Promise<string> {
  if (!from?.trim() && !to?.trim()) return '';
  await initWasm();
  const engine = await engineModule.SchemaEngine.new(
    { datamodels: undefined },
    () => undefined,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the offline adapter implements the subset SchemaEngine.new() uses
    bindMigrationAwareSqlAdapterFactory(offlineFactory as any),
  );
  try {
    const result = await engine.diff({
      from: target(from, 'from.prisma'),
      to: target(to, 'schema.prisma'),
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    } as never);
    return (result as { stdout?: string }).stdout ?? '';
  } finally {
    engine.free();
  }
}

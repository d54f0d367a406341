import { defineConfig } from 'prisma/config';

// Prisma 7 keeps connection settings out of schema.prisma. Only `prisma generate` uses this
// file: migrations are applied by src/platform/db/migrator.ts (the native schema engine is not
// available offline), and drift is checked with @prisma/schema-engine-wasm.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});

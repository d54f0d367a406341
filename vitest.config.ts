import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql@16 has no "exports": Node loads its CommonJS build for type-graphql and Apollo,
    // while Vite would resolve our own imports to index.mjs — two realms ("Cannot use
    // GraphQLSchema from another module or realm"). Pin everything to the CommonJS build.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});

import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * One suite, run once per driver: `postgres` (PostgreSQL 15 + TimescaleDB on 127.0.0.1:5432,
 * a database per test file cloned from a migrated template) and `pglite` (embedded, in memory).
 */
export default defineConfig({
  // NOTE: Node loads graphql's CommonJS build (it has no "exports" map); Vite would pick its ESM
  // build and Apollo would see two graphql realms. Pin the one Node uses.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: { name: 'postgres', include: ['test/**/*.test.ts'], env: { TEST_DRIVER: 'postgres' }, globalSetup: ['test/helpers/global-setup-build.ts', 'test/helpers/global-setup-postgres.ts'] },
      },
      {
        extends: true,
        test: { name: 'pglite', include: ['test/**/*.test.ts'], exclude: ['test/**/*.pg-only.test.ts'], env: { TEST_DRIVER: 'pglite' }, globalSetup: ['test/helpers/global-setup-build.ts'] },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/portable/**', 'test/vm/**', 'node_modules/**'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});

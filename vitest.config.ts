import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kernel integration tests build namespaces and start processes: seconds, not ms.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel lab builds only add contention.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});

import { defineConfig } from 'vitest/config';

// One test style for every package: tests live next to the code (src/**/*.test.ts) or in test/.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: numeric tests are CPU-bound, running more at once only thrashes.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});

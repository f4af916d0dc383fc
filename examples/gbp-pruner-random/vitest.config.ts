import { defineConfig } from 'vitest/config';

// A third party's setup: @gbp/core is used as installed (its built dist), with no source aliases.
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 120_000, pool: 'forks', poolOptions: { forks: { maxForks: 2 } } },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// One test style for every package: tests live next to the code (src/**/*.test.ts) or in test/.
export default defineConfig({
  resolve: {
    // Tests of dependants run against core's sources, so they need no build of core first.
    // Published packages (and the npm-pack test) use dist/ through package.json exports.
    alias: [
      { find: /^@gbp\/core\/testing$/, replacement: src('core/src/testing/index.ts') },
      { find: /^@gbp\/core\/internal$/, replacement: src('core/src/internal.ts') },
      { find: /^@gbp\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@gbp\/runtime$/, replacement: src('runtime/src/index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: numeric tests are CPU-bound, running more at once only thrashes.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});

import { describe, expect, it } from 'vitest';
import { claimSingleCopy, DuplicateCoreError } from './single-copy.js';

describe('claimSingleCopy', () => {
  it('takes the first copy and accepts the same folder again', () => {
    const registry: Record<symbol, unknown> = {};
    claimSingleCopy('/app/node_modules/@gbp/core', registry);
    expect(() => claimSingleCopy('/app/node_modules/@gbp/core', registry)).not.toThrow();
  });

  it('refuses a second folder, naming both and how to link the plugin instead', () => {
    const registry: Record<symbol, unknown> = {};
    claimSingleCopy('/app/node_modules/@gbp/core', registry);
    const error = (() => {
      try {
        claimSingleCopy('/plugin/node_modules/@gbp/core', registry);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DuplicateCoreError);
    const message = (error as Error).message;
    expect(message).toContain('@gbp/core is loaded twice in one process: first from /app/node_modules/@gbp/core, now from /plugin/node_modules/@gbp/core');
    expect(message).toContain('peerDependency');
    expect(message).toContain('(in the plugin folder: npm install --no-save /app/node_modules/@gbp/core)');
    expect(message).toContain('npm pack in the plugin folder, then npm install <tarball> in the project');
  });

  it('is claimed by this package when core is imported', async () => {
    const { DuplicateCoreError: fromIndex } = await import('./index.js');
    expect(fromIndex).toBe(DuplicateCoreError);
    const registry = globalThis as unknown as Record<symbol, unknown>;
    expect(registry[Symbol.for('@gbp/core.loadedFrom')]).toMatch(/[\\/]core$/);
  });
});

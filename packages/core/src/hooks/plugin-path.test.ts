import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { absolutePluginEntry, isPluginPath } from './plugin-path.js';

describe('isPluginPath', () => {
  it('calls relative, absolute, nested and module-file entries paths', () => {
    for (const entry of ['./toy.mjs', '../p', '/abs/p.js', 'pruners/toy.mjs', 'pruners/toy', 'toy.mjs', 'toy.cjs', 'toy.ts', 'a\\b']) {
      expect(isPluginPath(entry), entry).toBe(true);
    }
  });
  it('calls built-ins and package names (scoped too) not paths', () => {
    for (const entry of ['baseline', 'magnitude', 'gbp-pruner-x', '@acme/gbp-pruner-x', 'custom']) {
      expect(isPluginPath(entry), entry).toBe(false);
    }
  });
  it('makes only paths absolute, against the given folder', () => {
    expect(absolutePluginEntry('pruners/toy.mjs', '/pipes')).toBe(resolve('/pipes', 'pruners/toy.mjs'));
    expect(absolutePluginEntry('@acme/gbp-pruner-x', '/pipes')).toBe('@acme/gbp-pruner-x');
  });
});

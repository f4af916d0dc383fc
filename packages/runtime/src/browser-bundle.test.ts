/**
 * What a browser loads: the bundle of src/index.ts for the browser platform has no static node:
 * import (Node-only file reading sits behind dynamic imports a browser never reaches).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('the browser bundle', () => {
  it('has no static import of a node: module, only dynamic ones', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      external: ['node:*'],
      metafile: true,
      logLevel: 'silent',
    });
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
    const nodeImports = imports.filter((i) => i.path.startsWith('node:'));
    expect(nodeImports.length).toBeGreaterThan(0);
    expect(nodeImports.filter((i) => i.kind !== 'dynamic-import')).toEqual([]);
  });
});

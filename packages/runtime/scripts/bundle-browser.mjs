/**
 * The browser build: one ES module, dist/browser/gbp-runtime.js (tfjs-core, both backends and the
 * runtime; no node: import), with tfjs-backend-wasm's .wasm files beside it, so a static page can
 * `import { TextClassifier } from './gbp-runtime.js'` and load with { wasmPaths: './' }.
 * esbuild: already installed with tsx and vite, and the bundler those use.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'browser');
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'src', 'index.ts')],
  outfile: join(out, 'gbp-runtime.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // Node-only reads sit behind dynamic import('node:…') that a browser never reaches.
  external: ['node:*'],
  metafile: true,
  logLevel: 'warning',
});
const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(wasmDir, name), join(out, name));
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`wrote ${join(out, 'gbp-runtime.js')} (${(bytes / 1024).toFixed(0)} KiB) and the tfjs-backend-wasm .wasm files`);

/**
 * The deployment path in a real browser: a compacted model (the reference checkpoint with heads and
 * FFN neurons removed, one layer without attention) exported with `--format tfjs`, served as a
 * static page with @gbp/runtime's browser bundle, classified in headless Chromium (Debian's, driven
 * by puppeteer-core) with the same logits as @gbp/runtime in Node and as gbp's own forward pass.
 * Skips, saying why, without Chromium (CHROMIUM_PATH or /usr/bin/chromium), the runtime's browser
 * bundle or the reference checkpoint.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compact, GatedBert, initBackend, InferenceModel, loadModel, writeModelFolder } from '@gbp/core/internal';
import { readReferenceOutputs, REFERENCE_MODEL_DIR, referenceModelPresent } from '@gbp/core/testing';
import { padBatch, TextClassifier, type TextInput } from '@gbp/runtime';
import { EXPORT_FORMATS } from '../src/export/formats.js';

const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
const bundleDir = fileURLToPath(new URL('../../runtime/dist/browser/', import.meta.url));
const skip = !chromium
  ? 'no Chromium (set CHROMIUM_PATH, or apt-get install chromium)'
  : !existsSync(join(bundleDir, 'gbp-runtime.js'))
    ? `no browser bundle at ${bundleDir} (npm run build -w @gbp/runtime)`
    : !referenceModelPresent()
      ? `no reference checkpoint at ${REFERENCE_MODEL_DIR}`
      : '';
if (skip) console.warn(`browser test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-browser-'));
const exportDir = join(dir, 'export');
let server: Server | undefined;
let inputs: TextInput[] = [];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.bin': 'application/octet-stream', '.txt': 'text/plain', '.map': 'application/json' };

/** The page: loads the bundle and the exported model, classifies the inputs, leaves the result on window. */
const page = (texts: TextInput[]) => `<!doctype html>
<script type="module">
  import { TextClassifier } from './gbp-runtime.js';
  try {
    const clf = await TextClassifier.load('./model/', { wasmPaths: './' });
    const out = await clf.classify(${JSON.stringify(texts)});
    window.gbpResult = { backend: clf.backend.name, logits: out.map((p) => p.logits) };
  } catch (error) {
    window.gbpResult = { error: String(error && error.stack || error) };
  }
</script>`;

beforeAll(async () => {
  if (skip) return;
  await initBackend('cpu');
  const reference = readReferenceOutputs();
  inputs = [...reference.texts.single, ...reference.texts.pair];
  // Compact the reference checkpoint: layer 0 loses head 1 and 64 of its 128 neurons, layer 1 every head.
  const loaded = await loadModel(REFERENCE_MODEL_DIR);
  const model = new GatedBert(loaded.config, { seed: 1 });
  model.setWeights(loaded.weights, REFERENCE_MODEL_DIR);
  const rowsMasked = (gate: string, rows: (r: number) => boolean) => {
    const g = model.gates.find((x) => x.name === gate)!;
    const [n, m] = g.shape;
    g.setMask(Float32Array.from({ length: n * m }, (_, i) => (rows(Math.floor(i / m)) ? 0 : 1)));
  };
  rowsMasked('encoder.layer.0.attention.output.dense', (r) => r >= 16 && r < 32);
  rowsMasked('encoder.layer.0.output.dense', (r) => r < 64);
  rowsMasked('encoder.layer.1.attention.output.dense', () => true);
  const { config, weights } = compact(model);
  model.dispose();
  expect(config.heads_per_layer).toEqual([3, 0]);
  expect(config.dff_per_layer).toEqual([64, 128]);
  const folder = join(dir, 'compacted');
  await writeModelFolder(folder, { config, task: 'sst2', weights, vocab: readFileSync(join(REFERENCE_MODEL_DIR, 'vocab.txt'), 'utf8'), lowercase: true });
  await EXPORT_FORMATS.tfjs!.write(exportDir, await loadModel(folder), { dtype: 'float32', force: false });

  const files = (path: string) => (path.startsWith('/model/') ? join(exportDir, path.slice('/model/'.length)) : join(bundleDir, path.slice(1)));
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page(inputs));
    const file = files(path);
    if (path.includes('..') || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
}, 120_000);

afterAll(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(Boolean(skip))('@gbp/runtime in headless Chromium', () => {
  it('classifies with an exported compacted model to the logits of Node and of gbp', async () => {
    const clf = await TextClassifier.load(exportDir);
    const node = (await clf.classify(inputs)).map((p) => p.logits);
    const gbpModel = await loadModel(join(dir, 'compacted'));
    const inference = InferenceModel.fromWeights(gbpModel.config, gbpModel.weights);
    const gbpLogits = inference.logits(padBatch(clf.encode(inputs), clf.tokenizer.padId));
    const gbp = gbpLogits.arraySync();
    gbpLogits.dispose();
    inference.dispose();
    clf.dispose();

    const browser = await puppeteer.launch({ executablePath: chromium!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const tab = await browser.newPage();
      const { port } = server!.address() as AddressInfo;
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.waitForFunction(() => (globalThis as unknown as { gbpResult?: unknown }).gbpResult !== undefined, { timeout: 60_000 });
      const result = (await tab.evaluate(() => (globalThis as unknown as { gbpResult: unknown }).gbpResult)) as { backend?: string; logits?: number[][]; error?: string };
      expect(result.error).toBeUndefined();
      expect(result.backend).toBe('wasm');
      expect(result.logits).toHaveLength(inputs.length);
      result.logits!.forEach((row, i) =>
        row.forEach((v, j) => {
          expect(Math.abs(v - node[i]![j]!)).toBeLessThan(1e-4);
          expect(Math.abs(v - gbp[i]![j]!)).toBeLessThan(1e-4);
        }),
      );
    } finally {
      await browser.close();
    }
  }, 120_000);
});

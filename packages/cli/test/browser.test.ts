/**
 * The deployment path in a real browser: a compacted model (the reference checkpoint with heads and
 * FFN neurons removed, one layer without attention) exported with `--format tfjs`, served as a
 * static page with @gbp/runtime's browser bundle, classified in headless Chromium (Debian's, driven
 * by puppeteer-core) with the same logits as @gbp/runtime in Node and as gbp's own forward pass.
 * Skips, saying why, without Chromium (CHROMIUM_PATH or /usr/bin/chromium), the runtime's browser
 * bundle or the reference checkpoint. The same model exported with `--format onnx` runs in the same
 * browser on onnxruntime-web to gbp's logits.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
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

// onnxruntime-web's dist folder: its main entry sits there (the package exports no package.json).
const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const dir = mkdtempSync(join(tmpdir(), 'gbp-browser-'));
const exportDir = join(dir, 'export');
const onnxDir = join(dir, 'onnx');
let server: Server | undefined;
let inputs: TextInput[] = [];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.onnx': 'application/octet-stream', '.wasm': 'application/wasm', '.json': 'application/json', '.bin': 'application/octet-stream', '.txt': 'text/plain', '.map': 'application/json' };

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

/** The ONNX page: onnxruntime-web (wasm, one thread) runs the exported graph on ids encoded in Node. */
const onnxPage = (feeds: { ids: number[]; types: number[]; mask: number[]; batch: number; seq: number }) => `<!doctype html>
<script type="module">
  import * as ort from './ort/ort.wasm.min.mjs';
  try {
    ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href;
    ort.env.wasm.numThreads = 1;
    const f = ${JSON.stringify(feeds)};
    const tensor = (values) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [f.batch, f.seq]);
    const session = await ort.InferenceSession.create('./onnx/model.onnx');
    const out = await session.run({ input_ids: tensor(f.ids), token_type_ids: tensor(f.types), attention_mask: tensor(f.mask) });
    window.gbpResult = { logits: Array.from(out.logits.data), dims: out.logits.dims };
  } catch (error) {
    window.gbpResult = { error: String(error && error.stack || error) };
  }
</script>`;
let onnxFeeds: Parameters<typeof onnxPage>[0] | undefined;

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
  await EXPORT_FORMATS.onnx!.write(onnxDir, await loadModel(folder), { dtype: 'float32', force: false });

  const mounts: [string, string][] = [['/model/', exportDir], ['/onnx/', onnxDir], ['/ort/', ortDir], ['/', bundleDir]];
  const files = (path: string) => {
    const [prefix, root] = mounts.find(([p]) => path.startsWith(p))!;
    return join(root, path.slice(prefix.length));
  };
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page(inputs));
    if (path === '/onnx.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(onnxPage(onnxFeeds!));
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

/** Opens `path` of the static server in headless Chromium and returns what its script left on window. */
async function pageResult<T>(path: string): Promise<T> {
  const browser = await puppeteer.launch({ executablePath: chromium!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const tab = await browser.newPage();
    const { port } = server!.address() as AddressInfo;
    await tab.goto(`http://127.0.0.1:${port}${path}`);
    await tab.waitForFunction(() => (globalThis as unknown as { gbpResult?: unknown }).gbpResult !== undefined, { timeout: 60_000 });
    return (await tab.evaluate(() => (globalThis as unknown as { gbpResult: unknown }).gbpResult)) as T;
  } finally {
    await browser.close();
  }
}

/** gbp's own logits (core's forward pass) for `inputs`, encoded by the runtime's tokenizer. */
async function gbpLogitsOf(clf: TextClassifier, texts: readonly TextInput[]) {
  const gbpModel = await loadModel(join(dir, 'compacted'));
  const inference = InferenceModel.fromWeights(gbpModel.config, gbpModel.weights);
  const batch = padBatch(clf.encode(texts), clf.tokenizer.padId);
  const logits = inference.logits(batch);
  const rows = logits.arraySync();
  logits.dispose();
  inference.dispose();
  return { rows, batch };
}

describe.skipIf(Boolean(skip))('@gbp/runtime in headless Chromium', () => {
  it('classifies with an exported compacted model to the logits of Node and of gbp', async () => {
    const clf = await TextClassifier.load(exportDir);
    const node = (await clf.classify(inputs)).map((p) => p.logits);
    const { rows: gbp } = await gbpLogitsOf(clf, inputs);
    clf.dispose();

    const result = await pageResult<{ backend?: string; logits?: number[][]; error?: string }>('/');
    expect(result.error).toBeUndefined();
    expect(result.backend).toBe('wasm');
    expect(result.logits).toHaveLength(inputs.length);
    result.logits!.forEach((row, i) =>
      row.forEach((v, j) => {
        expect(Math.abs(v - node[i]![j]!)).toBeLessThan(1e-4);
        expect(Math.abs(v - gbp[i]![j]!)).toBeLessThan(1e-4);
      }),
    );
  }, 120_000);

  it('runs the same model exported as ONNX on onnxruntime-web to gbp\'s logits', async () => {
    const clf = await TextClassifier.load(exportDir);
    const { rows: gbp, batch } = await gbpLogitsOf(clf, inputs);
    clf.dispose();
    onnxFeeds = { ids: Array.from(batch.inputIds), types: Array.from(batch.typeIds), mask: Array.from(batch.attentionMask), batch: batch.batchSize, seq: batch.seqLen };
    const result = await pageResult<{ logits?: number[]; dims?: number[]; error?: string }>('/onnx.html');
    expect(result.error).toBeUndefined();
    expect(result.dims).toEqual([inputs.length, 2]);
    result.logits!.forEach((v, k) => expect(Math.abs(v - gbp[Math.floor(k / 2)]![k % 2]!)).toBeLessThan(1e-4));
  }, 120_000);
});

/**
 * `gbp export --format tfjs` end to end: the command writes the folder, @gbp/runtime loads it, and
 * its logits equal core's (InferenceModel on the same model) within 1e-4 on the reference fixture
 * and on a compacted model with a 0-head layer and a 0-wide FFN; float16 within a stated tolerance.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceModel, loadModel, Rng, writeModelFolder, type ModelConfig } from '@gbp/core';
import { parameterSpecs } from '@gbp/core/internal';
import { readReferenceOutputs, REFERENCE_MODEL_DIR, referenceModelPresent } from '@gbp/core/testing';
import { padBatch, TextClassifier, type TextInput } from '@gbp/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { smallConfig } from '../../test/fixtures/bench-folders.js';
import { captureIO } from '../../test/fixtures/capture-io.js';
import { main } from '../cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-export-tfjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = () => captureIO(dir);
if (!referenceModelPresent()) console.warn(`[gbp] skipping gbp export --format tfjs of bert-ref-micro: no fixture at ${REFERENCE_MODEL_DIR}`);

// 60 tokens: smallConfig's vocab_size
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'abcdefghijklmnopqrstuvwxyz'.split(''), ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `##${c}`), ',', '.', '!'];
const TEXTS: TextInput[] = ['the cat sat', 'a dog! barked, twice', ['was it good', 'no'], 'xyz', 'hello world again and again'];

/** A compacted gbp model folder (layer 0: 2 heads, no FFN; layer 1: no head, 24 neurons) with a vocab.txt and weights that matter. */
async function compactedFolder(name: string, values?: (name: string, i: number) => number): Promise<{ folder: string; config: ModelConfig }> {
  const config = smallConfig({ heads_per_layer: [2, 0], dff_per_layer: [0, 24], dropout_rate: 0 });
  const rng = new Rng(5);
  const weights = new Map(
    parameterSpecs(config).map((spec) => {
      const data = Float32Array.from({ length: spec.shape.reduce((a, b) => a * b, 1) }, (_, i) => values?.(spec.name, i) ?? (spec.kind === 'ln_gamma' ? 1 : 0) + 0.3 * rng.normal());
      return [spec.name, { shape: spec.shape, data }] as const;
    }),
  );
  const folder = join(dir, name);
  await writeModelFolder(folder, { config, task: 'sst2', weights, vocab: `${VOCAB.join('\n')}\n` });
  return { folder, config };
}

async function coreLogits(modelDir: string, clf: TextClassifier, inputs: readonly TextInput[]): Promise<number[][]> {
  const loaded = await loadModel(modelDir);
  const model = InferenceModel.fromWeights(loaded.config, loaded.weights);
  try {
    const logits = model.logits(padBatch(clf.encode(inputs), clf.tokenizer.padId));
    const rows = logits.arraySync();
    logits.dispose();
    return rows;
  } finally {
    model.dispose();
  }
}

const maxAbsDiff = (a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]) =>
  Math.max(...a.flatMap((row, i) => Array.from(row, (x, j) => Math.abs(x - b[i]![j]!))));

describe('gbp export --format tfjs', () => {
  it.skipIf(!referenceModelPresent())('exports the reference checkpoint; @gbp/runtime gives its reference logits and core\'s within 1e-4', async () => {
    const t = io();
    const out = join(dir, 'tfjs-micro');
    expect(await main(['export', REFERENCE_MODEL_DIR, '--format', 'tfjs', '--output', out], t.value)).toBe(0);
    expect(t.out()).toBe(
      `exported ${REFERENCE_MODEL_DIR} to ${out}: a TF.js weights manifest with config and tokenizer (model.json + shards) that @gbp/runtime loads in Node or a browser, float32, 141,890 parameters\n` +
        'files: model.json, group1-shard1of1.bin\n',
    );
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const clf = await TextClassifier.load(out);
    try {
      expect(clf.backend.name).toBe('wasm');
      const ref = readReferenceOutputs();
      const inputs = [...ref.texts.single, ...ref.texts.pair];
      const logits = (await clf.classify(inputs)).map((p) => p.logits);
      expect(maxAbsDiff(logits, [...ref.cases.single.logits, ...ref.cases.pair.logits])).toBeLessThan(1e-4);
      expect(maxAbsDiff(logits, await coreLogits(REFERENCE_MODEL_DIR, clf, inputs))).toBeLessThan(1e-4);
      expect(clf.labels).toEqual(['LABEL_0', 'LABEL_1']);
    } finally {
      clf.dispose();
    }
  });

  it('exports a compacted job model with its task\'s labels; the runtime runs it as core does (1e-4), float16 within 2e-2', async () => {
    const { folder } = await compactedFolder('compacted');
    for (const dtype of ['float32', 'float16'] as const) {
      const out = join(dir, `tfjs-compacted-${dtype}`);
      expect(await main(['export', folder, '--format', 'tfjs', '--output', out, '--dtype', dtype], io().value)).toBe(0);
      const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { config: Record<string, unknown>; task: string };
      expect(manifest.config).toMatchObject({ heads_per_layer: [2, 0], dff_per_layer: [0, 24], layer_norm_eps: 1e-12, max_len: 32 });
      expect(manifest.task).toBe('sst2');
      const clf = await TextClassifier.load(out);
      try {
        expect(clf.labels).toEqual(['negative', 'positive']);
        const got = await clf.logits(clf.encode(TEXTS), 2);
        const expected = await coreLogits(folder, clf, TEXTS);
        expect(maxAbsDiff(got, expected)).toBeLessThan(dtype === 'float32' ? 1e-4 : 2e-2);
        expect(Math.abs(expected[0]![0]! - expected[1]![0]!)).toBeGreaterThan(1e-2);
      } finally {
        clf.dispose();
      }
    }
  });

  it('refuses a model without a tokenizer (exit 2), writing nothing', async () => {
    const { folder } = await compactedFolder('no-vocab');
    rmSync(join(folder, 'vocab.txt'));
    const t = io();
    expect(await main(['export', folder, '--format', 'tfjs', '--output', 'tfjs-no-vocab'], t.value)).toBe(2);
    expect(t.err()).toBe(`gbp export: ${folder}: the model has no vocab.txt or tokenizer.json; the tfjs export ships the tokenizer the runtime needs (add the one it was trained with)\n`);
    expect(existsSync(join(dir, 'tfjs-no-vocab'))).toBe(false);
  });

  it('refuses --dtype float16 for a weight beyond its range (exit 2), naming the weight, writing nothing', async () => {
    const { folder } = await compactedFolder('big', (name, i) => (name === 'pooler.dense.bias' && i === 3 ? 1e6 : 0.1));
    const t = io();
    expect(await main(['export', folder, '--format', 'tfjs', '--output', 'tfjs-big', '--dtype', 'float16'], t.value)).toBe(2);
    expect(t.err()).toBe("gbp export: weight 'pooler.dense.bias' holds 1000000 at index 3, outside float16's range (largest 65504); export it as float32\n");
    expect(existsSync(join(dir, 'tfjs-big'))).toBe(false);
  });

  it('lists the format in its help', async () => {
    const t = io();
    expect(await main(['export', '-h'], t.value)).toBe(0);
    expect(t.out()).toContain('tfjs: a TF.js weights manifest with config and tokenizer (model.json + shards) that @gbp/runtime loads in Node or a browser (--dtype float32|float16)');
  });
});

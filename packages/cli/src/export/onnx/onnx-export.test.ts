/**
 * The ONNX export run by onnxruntime-node: the reference checkpoint gives its reference logits and
 * gbp's own, a compacted model (a 0-head layer, a 0-wide FFN, uneven widths) gives gbp's logits, at
 * two batch/sequence shapes each (the axes are dynamic). A model ORT refuses fails with ORT's message.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, InferenceModel, loadModel, Rng, type LoadedModel, type ModelConfig, type ModelInput, type NamedTensor } from '@gbp/core';
import { parameterSpecs } from '@gbp/core/internal';
import { readReferenceOutputs, REFERENCE_MODEL_DIR, referenceModelPresent, type ReferenceCase } from '@gbp/core/testing';
import { ONNX_OPSET } from './bert-graph.js';
import { exportOnnxFolder } from './onnx-export.js';
import { createOrtSession, ortFeeds } from './ort.js';
import { decodeModel } from './proto.js';

const TOLERANCE = 1e-4;
/** float16 weights (11 significant bits) move the micro model's logits by a few 1e-4 (the HF export measured below 1e-3). */
const F16_TOLERANCE = 2e-3;
const present = referenceModelPresent();
if (!present) console.warn(`[gbp] skipping the ONNX export tests on bert-ref-micro: no fixture at ${REFERENCE_MODEL_DIR} (provide ../shared/models/bert-ref-micro)`);

let root: string;
beforeAll(async () => {
  await initBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'gbp-onnx-export-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

/** ORT's logits and pooler_output for `input` from the exported folder `dir`. */
async function runOnnx(dir: string, input: ModelInput): Promise<{ logits: Float32Array; pooled: Float32Array; dims: readonly number[] }> {
  const session = await createOrtSession(await readFile(join(dir, 'model.onnx')), join(dir, 'model.onnx'));
  try {
    const out = await session.run(await ortFeeds(input));
    return { logits: out.logits!.data as Float32Array, pooled: out.pooler_output!.data as Float32Array, dims: out.logits!.dims };
  } finally {
    await session.release();
  }
}

function gbpOutputs(model: Pick<LoadedModel, 'config' | 'weights'>, input: ModelInput): { logits: Float32Array; pooled: Float32Array } {
  const inference = InferenceModel.fromWeights(model.config, model.weights);
  const out = inference.outputs(input);
  const result = { logits: Float32Array.from(out.logits.dataSync()), pooled: Float32Array.from(out.pooled.dataSync()) };
  for (const t of [out.logits, out.pooled, out.hidden]) t.dispose();
  inference.dispose();
  return result;
}

const referenceInput = (c: ReferenceCase): ModelInput => ({
  inputIds: Int32Array.from(c.input_ids.flat()),
  typeIds: Int32Array.from(c.token_type_ids.flat()),
  attentionMask: Float32Array.from(c.attention_mask.flat()),
  batchSize: c.input_ids.length,
  seqLen: c.input_ids[0]!.length,
});

/** A batch of random ids; the second example padded after 3 tokens, a second segment from position 4. */
function randomBatch(config: ModelConfig, seed: number, batchSize: number, seqLen: number): ModelInput {
  const rng = new Rng(seed);
  const n = batchSize * seqLen;
  return {
    inputIds: Int32Array.from({ length: n }, () => rng.int(config.vocab_size)),
    typeIds: Int32Array.from({ length: n }, (_, i) => (i % seqLen >= 4 ? 1 : 0)),
    attentionMask: Float32Array.from({ length: n }, (_, i) => (Math.floor(i / seqLen) === 1 && i % seqLen >= 3 ? 0 : 1)),
    batchSize,
    seqLen,
  };
}

function randomWeights(config: ModelConfig, seed: number): Map<string, NamedTensor> {
  const rng = new Rng(seed);
  return new Map(
    parameterSpecs(config).map((spec) => {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const scale = spec.kind === 'weight' ? 1 / Math.sqrt(spec.shape[0]!) : 0.5;
      const data = Float32Array.from({ length: size }, () => (spec.kind === 'ln_gamma' ? 1 : 0) + scale * (2 * rng.next() - 1));
      return [spec.name, { shape: [...spec.shape], data }];
    }),
  );
}

describe.skipIf(!present)('ONNX export of the reference checkpoint', () => {
  it('onnxruntime-node gives the reference logits and pooler_output and gbp\'s, at both reference shapes', async () => {
    const model = await loadModel(REFERENCE_MODEL_DIR);
    const dir = join(root, 'reference');
    const summary = await exportOnnxFolder(dir, model, { dtype: 'float32', force: false });
    expect(summary.files.sort()).toEqual(['config.json', 'model.onnx', 'tokenizer_config.json', 'vocab.txt']);
    expect((await readdir(dir)).sort()).toEqual(summary.files.sort());
    const reference = readReferenceOutputs();
    const shapes = new Set<string>();
    for (const c of [reference.cases.single, reference.cases.pair]) {
      const input = referenceInput(c);
      shapes.add(`${input.batchSize}x${input.seqLen}`);
      const onnx = await runOnnx(dir, input);
      expect(onnx.dims).toEqual([input.batchSize, 2]);
      expect(maxAbsDiff(onnx.logits, c.logits.flat())).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(onnx.pooled, c.pooler_output.flat())).toBeLessThan(TOLERANCE);
      const gbp = gbpOutputs(model, input);
      expect(maxAbsDiff(onnx.logits, gbp.logits)).toBeLessThan(TOLERANCE);
    }
    expect(shapes.size).toBe(2);
  });

  it('writes opset 17 with int64 [batch, sequence] inputs and a config.json saying how to call it', async () => {
    const dir = join(root, 'reference');
    const graph = decodeModel(await readFile(join(dir, 'model.onnx')));
    expect(graph.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect([graph.ir_version, graph.producer_name, graph.producer_version]).toEqual([8, 'gbp', '0.1.0']);
    expect(graph.graph.input.map((i) => [i.name, i.type.tensor_type.elem_type, i.type.tensor_type.shape.dim])).toEqual(
      ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => [name, 7, [{ dim_param: 'batch' }, { dim_param: 'sequence' }]]),
    );
    expect(graph.graph.output.map((o) => o.name)).toEqual(['logits', 'pooler_output']);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'bert', num_labels: 2, heads_per_layer: [4, 4], dff_per_layer: [128, 128], layer_norm_eps: 1e-12, onnx: { file: 'model.onnx', opset: 17 } });
  });
});

describe.skipIf(!present)('ONNX export with float16 weights', () => {
  it('stores the weights as float16 (about half the file) and still computes to the reference logits within 2e-3', async () => {
    const model = await loadModel(REFERENCE_MODEL_DIR);
    const dir = join(root, 'reference-f16');
    await exportOnnxFolder(dir, model, { dtype: 'float16', force: false });
    const f32 = (await readFile(join(root, 'reference', 'model.onnx'))).length;
    const f16 = (await readFile(join(dir, 'model.onnx'))).length;
    expect(f16 / f32).toBeGreaterThan(0.45);
    expect(f16 / f32).toBeLessThan(0.55);
    const graph = decodeModel(await readFile(join(dir, 'model.onnx')));
    expect(graph.graph.initializer.find((t) => t.name === 'classifier.weight')!.data_type).toBe(10);
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toMatchObject({ onnx: { dtype: 'float16' } });
    const c = readReferenceOutputs().cases.pair;
    const onnx = await runOnnx(dir, referenceInput(c));
    const diff = maxAbsDiff(onnx.logits, c.logits.flat());
    expect(diff).toBeLessThan(F16_TOLERANCE);
    expect(diff).toBeGreaterThan(0);
  });

  it('refuses a weight beyond float16\'s range, naming the tensor, and writes nothing', async () => {
    const model = await loadModel(REFERENCE_MODEL_DIR);
    model.weights.get('pooler.dense.bias')!.data[3] = 1e6;
    const dir = join(root, 'too-big');
    await expect(exportOnnxFolder(dir, model, { dtype: 'float16', force: false })).rejects.toThrow(
      "ONNX export: tensor 'pooler.dense.bias' holds 1000000 at index 3, outside float16's range (largest 65504); export it as float32",
    );
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('ONNX export of a compacted model', () => {
  const config: ModelConfig = {
    size: 'imported',
    num_layers: 3,
    d_model: 32,
    num_heads: 4,
    dff: 64,
    vocab_size: 50,
    max_len: 16,
    dropout_rate: 0.1,
    type_vocab_size: 2,
    num_labels: 3,
    heads_per_layer: [4, 0, 2],
    dff_per_layer: [48, 0, 64],
    layer_norm_eps: 1e-7,
  };
  const model = { config, weights: randomWeights(config, 7), lowercase: true, dir: join(tmpdir(), 'gbp-no-such-source') } as LoadedModel;

  it('a 0-head layer, a 0-wide FFN and uneven widths give gbp\'s logits and pooler_output at two shapes', async () => {
    const dir = join(root, 'compacted');
    const summary = await exportOnnxFolder(dir, model, { dtype: 'float32', force: false });
    expect(summary.notes).toEqual(['the model has no vocab.txt or tokenizer.json: the export has no tokenizer (add the one it was trained with)']);
    expect(summary.params).toBe(parameterSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
    for (const [seed, batch, seq] of [[1, 3, 7], [2, 2, 13]] as const) {
      const input = randomBatch(config, seed, batch, seq);
      const onnx = await runOnnx(dir, input);
      expect(onnx.dims).toEqual([batch, 3]);
      const gbp = gbpOutputs(model, input);
      expect(maxAbsDiff(onnx.logits, gbp.logits)).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(onnx.pooled, gbp.pooled)).toBeLessThan(TOLERANCE);
    }
    const graph = decodeModel(await readFile(join(dir, 'model.onnx')));
    const names = graph.graph.initializer.map((t) => t.name);
    expect(names).toContain('encoder.layer.1.attention.output.dense.bias');
    expect(names).toContain('encoder.layer.1.output.dense.bias');
    expect(names.filter((n) => n.startsWith('encoder.layer.1.attention.self') || n.startsWith('encoder.layer.1.intermediate'))).toEqual([]);
  });

  it('refuses a non-empty folder before writing, naming it', async () => {
    const dir = join(root, 'compacted');
    await expect(exportOnnxFolder(dir, model, { dtype: 'float32', force: false })).rejects.toThrow(`${dir}: folder is not empty (config.json, model.onnx); refusing to overwrite it`);
  });

  it('a model onnxruntime-node refuses fails with ORT\'s message, naming the model', async () => {
    await expect(createOrtSession(Uint8Array.of(1, 2, 3), 'broken.onnx')).rejects.toThrow(/^onnxruntime-node refused broken\.onnx: .+/);
  });
});

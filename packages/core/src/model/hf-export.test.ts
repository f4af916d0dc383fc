/**
 * Export to a Hugging Face folder: the fixture ../shared/models/bert-ref-micro comes back with its
 * own tensor names, shapes, dtypes, values and config fields; an export imports back
 * (importHfFolder) to a model with the same logits, compacted models (removed heads, uneven or
 * zero FFN widths) included; the target folder is never half-overwritten.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { parameterSpecs, type ModelConfig } from './config.js';
import { tf } from '../tf.js';
import { compact } from './compact.js';
import { GatedBert, type ModelInput } from './encoder.js';
import { parseGateName } from './structure.js';
import { exportHfFolder } from './hf-export.js';
import { readHfConfig } from './hf-config.js';
import { convertHfWeights, importHfFolder } from './hf-import.js';
import { InferenceModel } from './inference.js';
import { decodeSafetensors, type NamedTensor } from './safetensors.js';
import { loadModel } from './source.js';
import { REFERENCE_MODEL_DIR } from '../testing/reference-model.js';

const fixture = REFERENCE_MODEL_DIR;
const present = existsSync(join(fixture, 'reference.json'));
if (!present) console.warn(`[gbp] skipping the Hugging Face export tests on bert-ref-micro: no fixture at ${fixture} (provide ../shared/models/bert-ref-micro)`);

/** Float32 exports must give the gbp model's logits to float rounding. */
const F32_TOLERANCE = 1e-5;
/**
 * Float16 keeps 11 significant bits (relative error up to 2^-11 ≈ 4.9e-4 a weight); through a
 * 2-3 layer model with logits of order 1 that moves logits by a few 1e-4 (measured: below 1e-3).
 */
const F16_TOLERANCE = 2e-3;

let root: string;
beforeAll(async () => {
  await initBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'gbp-hf-export-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Header {
  [name: string]: { dtype: string; shape: number[]; data_offsets: [number, number] };
}

/** The safetensors header and every tensor as float32 (F16 read with a Float16Array), independent of decodeSafetensors. */
async function readExport(file: string): Promise<{ order: string[]; header: Header; metadata: unknown; tensors: Map<string, NamedTensor> }> {
  const bytes = await readFile(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const { __metadata__: metadata, ...header } = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Header & { __metadata__?: unknown };
  const tensors = new Map<string, NamedTensor>();
  for (const [name, { dtype, shape, data_offsets: [begin, end] }] of Object.entries(header as Header)) {
    const raw = bytes.buffer.slice(bytes.byteOffset + 8 + n + begin, bytes.byteOffset + 8 + n + end);
    const data = dtype === 'F16' ? Float32Array.from(new Float16Array(raw)) : new Float32Array(raw);
    tensors.set(name, { shape, data });
  }
  return { order: Object.keys(header), header: header as Header, metadata, tensors };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

function logitsOf(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, input: ModelInput): Float32Array {
  const model = InferenceModel.fromWeights(config, weights);
  const t = model.logits(input);
  const out = t.dataSync() as Float32Array;
  t.dispose();
  model.dispose();
  return Float32Array.from(out);
}

/** A batch of random ids with the second example padded after 3 tokens and a second segment. */
function randomBatch(config: ModelConfig, seed: number, batchSize = 3, seqLen = 7): ModelInput {
  const rng = new Rng(seed);
  const n = batchSize * seqLen;
  const attentionMask = Float32Array.from({ length: n }, (_, i) => (Math.floor(i / seqLen) === 1 && i % seqLen >= 3 ? 0 : 1));
  return {
    inputIds: Int32Array.from({ length: n }, () => rng.int(config.vocab_size)),
    typeIds: Int32Array.from({ length: n }, (_, i) => (i % seqLen >= 4 ? 1 : 0)),
    attentionMask,
    batchSize,
    seqLen,
  };
}

/** Every parameter of `config` random and non-zero (biases included, unlike BERT's init), so a misplaced value shows in the logits. */
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

const small = (overrides: Partial<ModelConfig>): ModelConfig => ({
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
  ...overrides,
});

describe.skipIf(!present)('export of bert-ref-micro', () => {
  it("gives exactly the fixture's tensor names (in its order), shapes, dtypes and values, and its config.json fields", async () => {
    const loaded = await loadModel(fixture);
    const out = join(root, 'fixture-f32');
    const result = await exportHfFolder(out, loaded);
    expect(result.notes).toEqual([]);
    expect(result.extraParams).toBe(0);
    expect(result.params).toBe(141_890);

    const exported = await readExport(join(out, 'model.safetensors'));
    const original = await readExport(join(fixture, 'model.safetensors'));
    expect(exported.order).toEqual(original.order);
    for (const name of original.order) {
      expect(exported.header[name]!.dtype, name).toBe(original.header[name]!.dtype);
      expect(exported.header[name]!.shape, name).toEqual(original.header[name]!.shape);
      expect(exported.tensors.get(name)!.data, name).toEqual(original.tensors.get(name)!.data);
    }
    expect(exported.metadata).toEqual({ format: 'pt' });

    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    const fixtureConfig = JSON.parse(await readFile(join(fixture, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const [field, value] of Object.entries(fixtureConfig)) expect(config[field], field).toEqual(value);
    expect(config).toMatchObject({ num_labels: 2, torch_dtype: 'float32', problem_type: 'single_label_classification' });
    expect(config.pruned_heads).toBeUndefined();

    expect(await readFile(join(out, 'vocab.txt'), 'utf8')).toBe(await readFile(join(fixture, 'vocab.txt'), 'utf8'));
    const tokenizerConfig = JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(tokenizerConfig).toMatchObject({ do_lower_case: true, model_max_length: 64, tokenizer_class: 'BertTokenizer' });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
  });

  it('imports back (importHfFolder) to the same logits within 1e-5, and the same tokenizer settings', async () => {
    const loaded = await loadModel(fixture);
    const out = join(root, 'fixture-roundtrip');
    await exportHfFolder(out, { ...loaded, lowercase: false });
    const back = await importHfFolder(out);
    expect(back.freshClassifier).toBe(false);
    expect(back.config).toEqual(loaded.config);
    const input = randomBatch(loaded.config, 3);
    expect(maxAbsDiff(logitsOf(back.config, back.weights, input), logitsOf(loaded.config, loaded.weights, input))).toBeLessThan(F32_TOLERANCE);
    expect((await loadModel(out)).lowercase).toBe(false);
  });

  it(`as float16: F16 tensors within half-precision rounding of the float32 ones, logits within ${F16_TOLERANCE}`, async () => {
    const loaded = await loadModel(fixture);
    const out = join(root, 'fixture-f16');
    await exportHfFolder(out, loaded, { dtype: 'float16' });
    const half = await readExport(join(out, 'model.safetensors'));
    const full = await readExport(join(fixture, 'model.safetensors'));
    for (const [name, t] of half.tensors) {
      expect(half.header[name]!.dtype, name).toBe('F16');
      const reference = full.tensors.get(name)!.data;
      // Round to nearest: within half a unit in the last place (2^-11 relative; 2^-25 absolute near zero).
      t.data.forEach((v, i) => expect(Math.abs(v - reference[i]!), `${name}[${i}]`).toBeLessThanOrEqual(Math.max(Math.abs(reference[i]!) * 2 ** -11, 2 ** -25)));
    }
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ torch_dtype: 'float16' });
    const { config } = await readHfConfig(join(out, 'config.json'));
    const { weights } = convertHfWeights(config, half.tensors, out);
    const input = randomBatch(loaded.config, 4);
    const diff = maxAbsDiff(logitsOf(config, weights, input), logitsOf(loaded.config, loaded.weights, input));
    console.log(`[gbp] bert-ref-micro float16 export: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(F16_TOLERANCE);
  });
});

describe('export of a compacted model', () => {
  it('removed heads become pruned_heads, uneven FFN widths are zero-padded to the widest, a 0-head layer keeps one zero head: same logits after import', async () => {
    const config = small({ heads_per_layer: [4, 2, 0], dff_per_layer: [48, 64, 0] });
    const weights = randomWeights(config, 1);
    const out = join(root, 'compacted');
    const result = await exportHfFolder(out, { config, weights, lowercase: true });

    const ffnExtra = (64 - 48 + 64 - 0) * (2 * 32 + 1);
    const headExtra = 4 * 32 * 8 + 3 * 8;
    expect(result.extraParams).toBe(ffnExtra + headExtra);
    expect(result.notes).toEqual([
      `FFN widths 48,64,0 padded with zeros to 64 (BertConfig has one intermediate_size; exact): ${ffnExtra.toLocaleString('en-US')} extra parameters`,
      `layer 2 without attention heads exported with 1 head of zero weights each (exact; the SDPA attention of transformers cannot run a 0-head layer): ${headExtra.toLocaleString('en-US')} extra parameters`,
      'the model has no vocab.txt or tokenizer.json: the export has no tokenizer (add the one it was trained with)',
    ]);
    const hfConfig = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(hfConfig).toMatchObject({ intermediate_size: 64, num_attention_heads: 4, pruned_heads: { 1: [2, 3], 2: [1, 2, 3] }, num_labels: 3 });
    const exported = await readExport(join(out, 'model.safetensors'));
    expect(exported.header['bert.encoder.layer.1.attention.self.query.weight']!.shape).toEqual([16, 32]);
    expect(exported.header['bert.encoder.layer.0.intermediate.dense.weight']!.shape).toEqual([64, 32]);
    expect(exported.header['bert.encoder.layer.0.output.dense.weight']!.shape).toEqual([32, 64]);

    const back = await importHfFolder(out);
    expect(back.config.heads_per_layer).toEqual([4, 2, 1]);
    expect(back.config.dff).toBe(64);
    const input = randomBatch(config, 2);
    const diff = maxAbsDiff(logitsOf(back.config, back.weights, input), logitsOf(config, weights, input));
    expect(diff).toBeLessThan(F32_TOLERANCE);
  });

  it('a model compacted by compact() (heads and neurons masked in a GatedBert) exports to the masked model\'s logits within 1e-5', async () => {
    const config = small({ num_layers: 2 });
    const model = new GatedBert(config, { seed: 1 });
    const rng = new Rng(9);
    for (const v of model.params.values()) {
      const t = tf.tensor(Float32Array.from({ length: v.size }, () => (rng.next() - 0.5) * 0.6), v.shape);
      v.assign(t);
      t.dispose();
    }
    // Output-side rows decide removal: layer 0 loses heads 1 and 3 and neurons 0-23, layer 1 every head.
    const removed = [
      { heads: [1, 3], neurons: Array.from({ length: 24 }, (_, i) => i) },
      { heads: [0, 1, 2, 3], neurons: [] as number[] },
    ];
    for (const gate of model.gates) {
      const { layer, role } = parseGateName(gate.name)!;
      const [n, m] = gate.shape;
      const mask = new Float32Array(n * m).fill(1);
      for (let r = 0; r < n; r++) {
        const cut = (role === 'attention_output' && removed[layer]!.heads.includes(Math.floor(r / 8))) || (role === 'output' && removed[layer]!.neurons.includes(r));
        if (cut) mask.fill(0, r * m, (r + 1) * m);
      }
      gate.setMask(mask);
    }
    const compacted = compact(model);
    expect(compacted.config.heads_per_layer).toEqual([2, 0]);
    expect(compacted.config.dff_per_layer).toEqual([40, 64]);
    const out = join(root, 'from-compact');
    const result = await exportHfFolder(out, { config: compacted.config, weights: compacted.weights, lowercase: true });
    expect(result.notes.slice(0, 2).map((n) => n.split(':')[0])).toEqual(['FFN widths 40,64 padded with zeros to 64 (BertConfig has one intermediate_size; exact)', 'layer 1 without attention heads exported with 1 head of zero weights each (exact; the SDPA attention of transformers cannot run a 0-head layer)']);
    const back = await importHfFolder(out);
    const input = randomBatch(config, 6);
    const masked = model.logits(input, { training: false });
    expect(maxAbsDiff(logitsOf(back.config, back.weights, input), masked.dataSync())).toBeLessThan(F32_TOLERANCE);
    masked.dispose();
    model.dispose();
  });

  it('equal FFN widths in every layer are exported as that intermediate_size exactly, with no padding and no notes on widths', async () => {
    const config = small({ dff_per_layer: [40, 40, 40], heads_per_layer: [3, 3, 3] });
    const weights = randomWeights(config, 5);
    const vocab = join(root, 'vocab.txt');
    await writeFile(vocab, `[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\n${Array.from({ length: 45 }, (_, i) => `w${i}`).join('\n')}\n`);
    const out = join(root, 'uniform');
    const result = await exportHfFolder(out, { config, weights, lowercase: true, tokenizerPath: vocab }, { dtype: 'float32' });
    expect(result.notes).toEqual([]);
    expect(result.extraParams).toBe(0);
    const hfConfig = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(hfConfig).toMatchObject({ intermediate_size: 40, pruned_heads: { 0: [3], 1: [3], 2: [3] }, pad_token_id: 3 });
    const back = await importHfFolder(out);
    expect(back.config.dff).toBe(40);
    for (const [name, t] of weights) expect(back.weights.get(name)!.data, name).toEqual(t.data);
  });

  it('regression (1 label): problem_type regression, one label', async () => {
    const config = small({ num_labels: 1 });
    const out = join(root, 'regression');
    await exportHfFolder(out, { config, weights: randomWeights(config, 2), lowercase: true });
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ num_labels: 1, problem_type: 'regression', id2label: { 0: 'LABEL_0' } });
  });
});

describe('the tokenizer of an export', () => {
  const config = small({});
  const weights = randomWeights(config, 4);
  const vocab = ['[UNK]', '[CLS]', '[SEP]', '[MASK]', '[PAD]', 'a', 'b'];
  const tokenizerJson = (lowercase: boolean) =>
    JSON.stringify({ model: { type: 'WordPiece', vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) }, normalizer: { type: 'BertNormalizer', lowercase } });

  it("takes do_lower_case from a tokenizer.json's BertNormalizer (what gbp tokenized with), ships a vocab.txt beside it too", async () => {
    const source = join(root, 'tok-cased');
    await mkdir(source);
    await writeFile(join(source, 'tokenizer.json'), tokenizerJson(false));
    await writeFile(join(source, 'vocab.txt'), `${vocab.join('\n')}\n`);
    const out = join(root, 'tok-cased-out');
    // loadModel's default lowercase (true) when the folder has no tokenizer_config.json.
    await exportHfFolder(out, { config, weights, lowercase: true, tokenizerPath: join(source, 'tokenizer.json') });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    expect(JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ do_lower_case: false, tokenizer_class: 'BertTokenizer' });
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ pad_token_id: 4 });
    expect((await loadModel(out)).lowercase).toBe(false);
  });

  it('with a tokenizer.json alone names no slow tokenizer class', async () => {
    const source = join(root, 'tok-json-only');
    await mkdir(source);
    await writeFile(join(source, 'tokenizer.json'), tokenizerJson(true));
    const out = join(root, 'tok-json-only-out');
    await exportHfFolder(out, { config, weights, lowercase: true, tokenizerPath: join(source, 'tokenizer.json') });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const tokenizerConfig = JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(tokenizerConfig.tokenizer_class).toBeUndefined();
    expect(tokenizerConfig.do_lower_case).toBe(true);
  });
});

describe('the export folder', () => {
  const config = small({});
  const weights = randomWeights(config, 3);

  it('refuses a non-empty folder, naming it and what is in it, and leaves it as it was', async () => {
    const out = join(root, 'taken');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'mine');
    await expect(exportHfFolder(out, { config, weights, lowercase: true })).rejects.toThrow(`${out}: folder is not empty (notes.txt); refusing to overwrite it`);
    expect(await readdir(out)).toEqual(['notes.txt']);
  });

  it('with force, replaces a non-empty folder as a whole', async () => {
    const out = join(root, 'replaced');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'old');
    await exportHfFolder(out, { config, weights, lowercase: true }, { force: true });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('refuses a file, and the folder the model is read from (force or not)', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(exportHfFolder(file, { config, weights, lowercase: true })).rejects.toThrow(`${file}: exists and is not a folder`);
    const source = join(root, 'source', 'model');
    await mkdir(source, { recursive: true });
    await expect(exportHfFolder(source, { config, weights, lowercase: true, dir: source }, { force: true })).rejects.toThrow(`is (or holds) the model being exported, ${source}`);
    await expect(exportHfFolder(join(root, 'source'), { config, weights, lowercase: true, dir: source }, { force: true })).rejects.toThrow('is (or holds) the model being exported');
  });

  it('writes nothing when the weights do not fit the config, naming the tensor', async () => {
    const out = join(root, 'bad-weights');
    const broken = new Map(weights);
    broken.delete('pooler.dense.bias');
    await expect(exportHfFolder(out, { config, weights: broken, lowercase: true })).rejects.toThrow("export: tensor 'pooler.dense.bias' is missing");
    expect(existsSync(out)).toBe(false);
    expect((await readdir(root)).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('refuses float16 for weights beyond its range, naming the tensor, and writes nothing', async () => {
    const out = join(root, 'too-big');
    const big = new Map(weights);
    big.set('pooler.dense.bias', { shape: [32], data: Float32Array.from({ length: 32 }, (_, i) => (i === 5 ? 1e6 : 0)) });
    await expect(exportHfFolder(out, { config, weights: big, lowercase: true }, { dtype: 'float16' })).rejects.toThrow(
      "tensor 'bert.pooler.dense.bias' holds 1000000 at index 5, outside float16's range (largest 65504); store it as F32",
    );
    expect(existsSync(out)).toBe(false);
  });

  it('decodes as float32 with decodeSafetensors (gbp reads its own export)', async () => {
    const out = join(root, 'decodable');
    await exportHfFolder(out, { config, weights, lowercase: true });
    const { tensors, metadata } = decodeSafetensors(await readFile(join(out, 'model.safetensors')), out);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../backend/index.js';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { modelInfo, parameterSpecs, type ModelConfig } from './config.js';
import { InferenceModel } from './inference.js';
import { isModelFolder, readCompactionReport, readModelFolder, writeModelFolder, type ModelFolderContents } from './folder.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import type { ModelInput } from './encoder.js';

const config: ModelConfig = {
  size: 'tiny',
  num_layers: 2,
  d_model: 16,
  num_heads: 4,
  dff: 24,
  vocab_size: 40,
  max_len: 8,
  dropout_rate: 0.1,
  type_vocab_size: 2,
  num_labels: 3,
  heads_per_layer: [3, 0],
  dff_per_layer: [0, 7],
};

function randomWeights(c: ModelConfig, seed = 1): Map<string, NamedTensor> {
  const rng = new Rng(seed);
  return new Map(parameterSpecs(c).map((s) => [s.name, { shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => rng.next() - 0.5) }]));
}

const input: ModelInput = {
  inputIds: Int32Array.from([2, 5, 9, 3, 0, 0, 2, 7, 11, 13, 3, 0]),
  typeIds: new Int32Array(12),
  attentionMask: Float32Array.from([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]),
  batchSize: 2,
  seqLen: 6,
};

let root: string;
beforeAll(async () => {
  await initBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'gbp-folder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const contents = (weights = randomWeights(config)): ModelFolderContents => ({ config, task: 'mnli', weights, vocab: '[PAD]\n[UNK]\n[CLS]\n[SEP]\n' });

describe('model folder', () => {
  it('round-trips config, weights and vocabulary; InferenceModel.fromFolder gives the logits of the weights written', async () => {
    const dir = join(root, 'roundtrip');
    const weights = randomWeights(config);
    await writeModelFolder(dir, contents(weights));
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'vocab.txt']);
    expect(isModelFolder(dir)).toBe(true);
    expect(readCompactionReport(dir)).toBeUndefined();
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(json).toMatchObject({ format: 'gbp-model', format_version: 1, num_heads: 4, dff: 24, heads_per_layer: [3, 0], dff_per_layer: [0, 7], task: 'mnli' });
    const read = await readModelFolder(dir);
    expect(read.vocab).toBe('[PAD]\n[UNK]\n[CLS]\n[SEP]\n');
    for (const [name, t] of weights) expect(read.weights.get(name)!.data).toEqual(t.data);

    const loaded = await InferenceModel.fromFolder(dir);
    const direct = InferenceModel.fromWeights(config, weights);
    expect(loaded.task).toBe('mnli');
    expect(loaded.numParams).toBe([...weights.values()].reduce((n, t) => n + t.data.length, 0));
    expect(loaded.weightBytes).toBe(4 * loaded.numParams);
    const a = loaded.logits(input);
    const b = direct.logits(input);
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([a, b]);
    loaded.dispose();
    direct.dispose();
  });

  it("keeps an imported model's size and LayerNorm ε (layer_norm_eps) through a model folder", async () => {
    const dir = join(root, 'imported');
    const imported: ModelConfig = { ...config, size: 'imported', layer_norm_eps: 1e-6 };
    const weights = randomWeights(imported);
    await writeModelFolder(dir, { ...contents(weights), config: imported });
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toMatchObject({ size: 'imported', layer_norm_eps: 1e-6 });
    const read = await readModelFolder(dir);
    expect(read.config).toEqual(imported);
    // A folder of a preset model has no layer_norm_eps field and reads back without one (ε 1e-12).
    await writeModelFolder(dir, contents(weights));
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).not.toHaveProperty('layer_norm_eps');
    expect((await readModelFolder(dir)).config.layer_norm_eps).toBeUndefined();
  });

  it('replaces an earlier folder as a whole and leaves no temporary folders', async () => {
    const dir = join(root, 'replace');
    await writeModelFolder(dir, contents());
    await writeFile(join(dir, 'compaction.json'), '{}');
    const { vocab: _, ...noVocab } = contents(randomWeights(config, 2));
    await writeModelFolder(dir, noVocab);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    expect((await readdir(root)).filter((n) => n.startsWith('replace'))).toEqual(['replace']);
  });

  it('refuses weights that are not the config parameters before writing anything', async () => {
    const dir = join(root, 'refused');
    const weights = randomWeights(config);
    weights.delete('classifier.bias');
    await expect(writeModelFolder(dir, contents(weights))).rejects.toThrow(`model folder ${dir}: tensor 'classifier.bias' is missing (expected shape [3])`);
    expect(isModelFolder(dir)).toBe(false);
  });

  it('isModelFolder: false for a folder without config.json or of another format', async () => {
    const dir = join(root, 'other');
    expect(isModelFolder(dir)).toBe(false);
    await writeModelFolder(dir, contents());
    await writeFile(join(dir, 'config.json'), JSON.stringify({ format: 'hf' }));
    expect(isModelFolder(dir)).toBe(false);
  });
});

describe('InferenceModel.random', () => {
  it('builds every parameter of the config with seeded random weights', () => {
    const a = InferenceModel.random(config, 3);
    const b = InferenceModel.random(config, 3);
    const c = InferenceModel.random(config, 4);
    expect(a.numParams).toBe(modelInfo(config).num_params);
    const [la, lb, lc] = [a.logits(input), b.logits(input), c.logits(input)];
    expect(Array.from(la.dataSync())).toEqual(Array.from(lb.dataSync()));
    expect(Array.from(la.dataSync())).not.toEqual(Array.from(lc.dataSync()));
    tf.dispose([la, lb, lc]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('logits keeps no tensor of its own between calls, and dispose frees every weight', () => {
    const before = tf.memory().numTensors;
    const model = InferenceModel.random(config, 1);
    expect(tf.memory().numTensors).toBe(before + parameterSpecs(config).length);
    for (let i = 0; i < 2; i++) model.logits(input).dispose();
    expect(tf.memory().numTensors).toBe(before + parameterSpecs(config).length);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('model folder errors name the file and what is wrong', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(root, 'errors');
  });
  const rewrite = async (file: string, edit: (text: string) => string) => {
    await writeModelFolder(dir, contents());
    await writeFile(join(dir, file), edit(await readFile(join(dir, file), 'utf8')));
  };
  const editConfig = (edit: (c: Record<string, unknown>) => void) => rewrite('config.json', (text) => {
    const c = JSON.parse(text) as Record<string, unknown>;
    edit(c);
    return JSON.stringify(c);
  });

  it('missing config.json or model.safetensors', async () => {
    await expect(InferenceModel.fromFolder(join(root, 'nowhere'))).rejects.toThrow(`${join(root, 'nowhere', 'config.json')}: missing (a gbp model folder has config.json)`);
    await writeModelFolder(dir, contents());
    await rm(join(dir, 'model.safetensors'));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${join(dir, 'model.safetensors')}: missing (the model's weights)`);
  });

  it('bad JSON, wrong format, wrong version, bad fields', async () => {
    const file = join(dir, 'config.json');
    await rewrite('config.json', (t) => t.slice(0, 20));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}: not valid JSON`));
    await editConfig((c) => (c.format = 'hf-bert'));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: format is "hf-bert", expected "gbp-model" (not a gbp model folder)`);
    await editConfig((c) => (c.format_version = 2));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: format_version is 2; this gbp reads version 1`);
    await editConfig((c) => (c.d_model = '16'));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: d_model must be a positive integer, got "16"`);
    await editConfig((c) => (c.heads_per_layer = [3]));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: heads_per_layer must list one number per layer (num_layers = 2), got [3]`);
    await editConfig((c) => (c.dff_per_layer = [0, 25]));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: dff_per_layer[1] must be an integer from 0 to 24, got 25`);
    await editConfig((c) => (c.layer_norm_eps = -1));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: layer_norm_eps must be a positive number, got -1`);
    await editConfig((c) => (c.size = 'huge'));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: size must be one of tiny, small, base, large, imported, got "huge"`);
  });

  it('a damaged compaction.json', async () => {
    await writeModelFolder(dir, contents());
    await writeFile(join(dir, 'compaction.json'), '{"params_before": 1');
    expect(() => readCompactionReport(dir)).toThrow(new RegExp(`^${join(dir, 'compaction.json').replace(/[.\\/]/g, '\\$&')}: not valid JSON`));
    await writeFile(join(dir, 'compaction.json'), '[]');
    expect(() => readCompactionReport(dir)).toThrow(`${join(dir, 'compaction.json')}: expected a compaction report (an object with params_before, params_after, ...)`);
    const full = { params_before: 9, params_after: 5, gated_params_before: 4, gated_params_after: 2, flops_per_token_before: 8, flops_per_token_after: 4, max_len: 8, heads_kept: [1], heads: [2], neurons_kept: [3], neurons: [4], structures_removed: true, unstructured_sparsity_left: 0, max_abs_logit_diff: 0, logit_diff_examples: 2 };
    await writeFile(join(dir, 'compaction.json'), JSON.stringify(full));
    expect(readCompactionReport(dir)).toEqual(full);
    await writeFile(join(dir, 'compaction.json'), JSON.stringify({ ...full, flops_per_token_after: 'many' }));
    expect(() => readCompactionReport(dir)).toThrow(`${join(dir, 'compaction.json')}: "flops_per_token_after" should be a finite number, got "many"`);
    await writeFile(join(dir, 'compaction.json'), JSON.stringify({ ...full, heads_kept: [1.5] }));
    expect(() => readCompactionReport(dir)).toThrow(`"heads_kept" should be a list of counts per layer, got [1.5]`);
    await writeFile(join(dir, 'compaction.json'), JSON.stringify({ ...full, structures_removed: 'yes' }));
    expect(() => readCompactionReport(dir)).toThrow(`"structures_removed" should be true or false, got "yes"`);
  });

  it('a tensor missing, of the wrong shape or of the wrong dtype, by name', async () => {
    const file = join(dir, 'model.safetensors');
    const writeTensors = async (edit: (w: Map<string, NamedTensor>) => void) => {
      await writeModelFolder(dir, contents());
      const w = randomWeights(config);
      edit(w);
      await writeFile(file, encodeSafetensors(w, { format: 'gbp', layout: 'in_out' }));
    };
    await writeTensors((w) => w.delete('encoder.layer.1.output.dense.weight'));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: tensor 'encoder.layer.1.output.dense.weight' is missing (expected shape [7, 16])`);
    await writeTensors((w) => w.set('encoder.layer.0.attention.self.key.weight', { shape: [16, 16], data: new Float32Array(256) }));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: tensor 'encoder.layer.0.attention.self.key.weight' has shape [16, 16], expected [16, 12]`);
    await writeTensors((w) => w.set('encoder.layer.1.attention.self.query.weight', { shape: [16, 4], data: new Float32Array(64) }));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: unexpected tensor(s) 'encoder.layer.1.attention.self.query.weight': not parameters of this config`);
    // F16 in the header: same byte count as half the F32 data, so only the dtype is wrong.
    await writeModelFolder(dir, contents());
    const bytes = await readFile(file);
    const patched = Buffer.from(bytes.toString('latin1').replace('{"dtype":"F32","shape":[3]', '{"dtype":"F64","shape":[3]'), 'latin1');
    await writeFile(file, patched);
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: tensor 'classifier.bias' has dtype F64, expected F32`);
    await writeTensors(() => undefined);
    await writeFile(file, encodeSafetensors(randomWeights(config), { format: 'gbp', layout: 'out_in' }));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(`${file}: __metadata__.layout is "out_in", expected "in_out" (dense weights [in, out])`);
    await writeFile(file, bytes.subarray(0, 100));
    await expect(InferenceModel.fromFolder(dir)).rejects.toThrow(new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}: not a valid safetensors file: header length \\d+ runs past the end of the file \\(100 bytes\\)`));
  });
});

describe('safetensors bytes', () => {
  it('header: 8-byte LE length, JSON padded to 8, F32 entries with offsets and the gbp metadata', () => {
    const tensors = new Map<string, NamedTensor>([
      ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['b', { shape: [1], data: Float32Array.from([-0.5]) }],
    ]);
    const bytes = encodeSafetensors(tensors, { format: 'gbp', layout: 'in_out' });
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    expect(JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'))).toEqual({
      __metadata__: { format: 'gbp', layout: 'in_out' },
      a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      b: { dtype: 'F32', shape: [1], data_offsets: [24, 28] },
    });
    expect(Buffer.from(bytes).readFloatLE(8 + n + 24)).toBe(-0.5);
    const decoded = decodeSafetensors(bytes, 'x');
    expect(Array.from(decoded.tensors.get('a')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  let python = false;
  try {
    execFileSync('python3', ['-c', 'import struct, json'], { stdio: 'ignore' });
    python = true;
  } catch {
    python = false;
  }
  it.skipIf(!python)('a model.safetensors read by an independent parser in Python (skipped without python3)', async () => {
    const dir = join(root, 'python');
    const weights = randomWeights(config, 5);
    await writeModelFolder(dir, contents(weights));
    const script = [
      'import json, struct, sys',
      'b = open(sys.argv[1], "rb").read()',
      'n = struct.unpack("<Q", b[:8])[0]',
      'h = json.loads(b[8:8 + n])',
      'meta = h.pop("__metadata__")',
      'out = {"meta": meta}',
      'for k, v in h.items():',
      '    s, e = v["data_offsets"]',
      '    vals = struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e])',
      '    out[k] = {"dtype": v["dtype"], "shape": v["shape"], "sum": sum(vals), "first": vals[0] if vals else None}',
      'print(json.dumps(out))',
    ].join('\n');
    const parsed = JSON.parse(execFileSync('python3', ['-c', script, join(dir, 'model.safetensors')], { encoding: 'utf8' })) as Record<string, { dtype: string; shape: number[]; sum: number; first: number }>;
    expect(parsed.meta).toEqual({ format: 'gbp', layout: 'in_out' });
    expect(Object.keys(parsed).filter((k) => k !== 'meta').sort()).toEqual([...weights.keys()].sort());
    for (const [name, t] of weights) {
      expect(parsed[name]).toMatchObject({ dtype: 'F32', shape: [...t.shape] });
      expect(parsed[name]!.first).toBe(t.data[0]);
      expect(parsed[name]!.sum).toBeCloseTo(t.data.reduce((a, b) => a + b, 0), 4);
    }
  });
});

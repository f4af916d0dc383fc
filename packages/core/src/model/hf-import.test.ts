/**
 * Import of a Hugging Face BERT checkpoint, checked against ../shared/models/bert-ref-micro: the
 * outputs of an independent PyTorch BertForSequenceClassification (skipped when the folder is absent).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFloat16 } from '@petamoriken/float16';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { modelInfo, parameterSpecs } from './config.js';
import { GatedBert, type ModelInput } from './encoder.js';
import { importHfFolder } from './hf-import.js';
import { InferenceModel } from './inference.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import { readTorchBinFile } from './torch-bin.js';
import { readReferenceOutputs, REFERENCE_MODEL_DIR, type ReferenceCase, type ReferenceOutputs } from '../testing/reference-model.js';
import { legacyFile, stateDictPickle, type LegacyStorage, type TensorSpec } from './__fixtures__/torch-save.js';

const fixture = REFERENCE_MODEL_DIR;
const present = existsSync(join(fixture, 'reference.json'));
if (!present) console.warn(`[gbp] skipping the Hugging Face import parity tests: no fixture at ${fixture} (provide ../shared/models/bert-ref-micro)`);


const TOLERANCE = 1e-4;
/** Outputs of the fixture's weights stored at half precision (measured max differences are logged). */
const HALF_TOLERANCE = { F16: 5e-3, BF16: 5e-2 } as const;

/** A safetensors file of `tensors` stored as F16 (rounded to nearest) or BF16 (truncated): by hand, as encodeSafetensors writes F32 only. */
function encodeHalfSafetensors(tensors: ReadonlyMap<string, NamedTensor>, dtype: 'F16' | 'BF16'): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + 2 * t.data.length] };
    offset += 2 * t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    const bits = new Uint32Array(Float32Array.from(t.data).buffer);
    for (let i = 0; i < t.data.length; i++, at += 2) {
      if (dtype === 'F16') setFloat16(view, at, t.data[i]!, true);
      else view.setUint16(at, bits[i]! >>> 16, true);
    }
  }
  return out;
}

function batchOf(c: ReferenceCase): ModelInput {
  const B = c.input_ids.length;
  const T = c.input_ids[0]!.length;
  return {
    inputIds: Int32Array.from(c.input_ids.flat()),
    typeIds: Int32Array.from(c.token_type_ids.flat()),
    attentionMask: Float32Array.from(c.attention_mask.flat()),
    batchSize: B,
    seqLen: T,
  };
}

const maxAbsDiff = (actual: ArrayLike<number>, expected: readonly number[]): number => {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
};

/** A copy of the fixture folder with its safetensors rewritten by `edit` (names and tensors). */
async function editedCopy(root: string, name: string, edit: (tensors: Map<string, NamedTensor>) => Map<string, NamedTensor>): Promise<string> {
  const dir = join(root, name);
  await cp(fixture, dir, { recursive: true });
  const { tensors } = decodeSafetensors(await readFile(join(fixture, 'model.safetensors')), 'fixture');
  await rm(join(dir, 'model.safetensors'), { force: true });
  await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(edit(new Map(tensors))));
  return dir;
}

describe.skipIf(!present)('Hugging Face import of bert-ref-micro', () => {
  let reference: ReferenceOutputs;
  let root: string;
  beforeAll(async () => {
    reference = readReferenceOutputs(fixture);
    root = await mkdtemp(join(tmpdir(), 'gbp-hf-import-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
    it.each(['single', 'pair'] as const)('gives the reference logits, pooler_output and last_hidden_state within 1e-4 (%s)', async (which) => {
      await initBackend(backend);
      const imported = await importHfFolder(fixture);
      expect(imported.freshClassifier).toBe(false);
      const model = InferenceModel.fromWeights(imported.config, imported.weights);
      const c = reference.cases[which];
      const out = model.outputs(batchOf(c));
      const diffs = {
        logits: maxAbsDiff(out.logits.dataSync(), c.logits.flat()),
        pooler_output: maxAbsDiff(out.pooled.dataSync(), c.pooler_output.flat()),
        last_hidden_state: maxAbsDiff(out.hidden.dataSync(), c.last_hidden_state.flat(2)),
      };
      console.log(`[gbp] bert-ref-micro ${which} on ${backend}: max |gbp - reference| ${JSON.stringify(diffs)}`);
      for (const [output, diff] of Object.entries(diffs)) expect(diff, output).toBeLessThan(TOLERANCE);
      tf.dispose([out.hidden, out.pooled, out.logits]);
      model.dispose();
    });

    it('a GatedBert given the imported weights (how training starts from a checkpoint) gives the reference logits', async () => {
      await initBackend(backend);
      const imported = await importHfFolder(fixture);
      const model = new GatedBert(imported.config, { seed: 1 });
      model.setWeights(imported.weights, fixture);
      for (const which of ['single', 'pair'] as const) {
        const c = reference.cases[which];
        const logits = model.logits(batchOf(c), { training: false });
        expect(maxAbsDiff(logits.dataSync(), c.logits.flat()), which).toBeLessThan(TOLERANCE);
        logits.dispose();
      }
      model.dispose();
    });
  });

  it('counts 141,890 parameters, as transformers does', async () => {
    const { config } = await importHfFolder(fixture);
    expect(modelInfo(config).num_params).toBe(141_890);
    expect(config.layer_norm_eps).toBe(1e-12);
  });

  it("tokenizes the reference texts to the reference ids with the folder's vocab.txt", async () => {
    const tokenizer = await loadTokenizer(
      { path: join(fixture, 'vocab.txt'), lowercase: true },
      { vocabSize: 0, trainTexts: () => [], cacheDir: root, cacheLabel: 'unused' },
    );
    const cases: [ReferenceCase, string[][]][] = [
      [reference.cases.single, reference.texts.single.map((t) => [t])],
      [reference.cases.pair, reference.texts.pair.map((p) => [...p])],
    ];
    for (const [c, items] of cases) {
      const T = c.input_ids[0]!.length;
      const encoded = await tokenizer.encodeBatch(items, 64);
      encoded.forEach((e, i) => {
        const pad = (values: Int32Array, fill: number) => [...values, ...Array<number>(T - values.length).fill(fill)];
        expect(pad(e.ids, tokenizer.padId), `ids of ${JSON.stringify(items[i])}`).toEqual(c.input_ids[i]);
        expect(pad(e.typeIds, 0)).toEqual(c.token_type_ids[i]);
        expect(pad(e.ids.map(() => 1), 0)).toEqual(c.attention_mask[i]);
      });
    }
  });

  it('reads the pre-training layout: no bert. prefix, LayerNorm .gamma/.beta, cls.* ignored, a fresh classifier created and logged', async () => {
    await initBackend('cpu');
    const dir = await editedCopy(root, 'pretraining-layout', (tensors) => {
      const out = new Map<string, NamedTensor>();
      for (const [name, t] of tensors) {
        if (name.startsWith('classifier.')) continue;
        out.set(name.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t);
      }
      out.set('cls.predictions.bias', { shape: [1036], data: new Float32Array(1036) });
      out.set('cls.seq_relationship.weight', { shape: [2, 64], data: new Float32Array(128) });
      return out;
    });
    const messages: string[] = [];
    const imported = await importHfFolder(dir, { seed: 7, log: (m) => messages.push(m) });
    expect(imported.freshClassifier).toBe(true);
    expect(messages).toEqual([`${join(dir, 'model.safetensors')} has no classifier: created a fresh 2-label classifier (seed 7); it needs fine-tuning`]);
    // Seeded: the same seed gives the same classifier.
    const again = await importHfFolder(dir, { seed: 7 });
    expect(again.weights.get('classifier.weight')!.data).toEqual(imported.weights.get('classifier.weight')!.data);
    const model = InferenceModel.fromWeights(imported.config, imported.weights);
    const c = reference.cases.pair;
    const out = model.outputs(batchOf(c));
    expect(maxAbsDiff(out.hidden.dataSync(), c.last_hidden_state.flat(2))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(out.pooled.dataSync(), c.pooler_output.flat())).toBeLessThan(TOLERANCE);
    tf.dispose([out.hidden, out.pooled, out.logits]);
    model.dispose();
  });

  it("reads pruned_heads (transformers' prune_heads): the same logits as the full model with that head masked", async () => {
    await initBackend('cpu');
    // Remove head 0 of layer 1 as prune_heads does: rows of query/key/value, columns of attention.output.dense.
    const dh = 16;
    const p = 'bert.encoder.layer.1.attention';
    const dir = await editedCopy(root, 'pruned-heads', (tensors) => {
      for (const role of ['self.query', 'self.key', 'self.value']) {
        const w = tensors.get(`${p}.${role}.weight`)!;
        tensors.set(`${p}.${role}.weight`, { shape: [48, 64], data: w.data.slice(dh * 64) });
        tensors.set(`${p}.${role}.bias`, { shape: [48], data: tensors.get(`${p}.${role}.bias`)!.data.slice(dh) });
      }
      const o = tensors.get(`${p}.output.dense.weight`)!; // [64 out, 64 in]
      const kept = new Float32Array(64 * 48);
      for (let r = 0; r < 64; r++) kept.set(o.data.subarray(r * 64 + dh, (r + 1) * 64), r * 48);
      tensors.set(`${p}.output.dense.weight`, { shape: [64, 48], data: kept });
      return tensors;
    });
    const configFile = join(dir, 'config.json');
    await writeFile(configFile, JSON.stringify({ ...JSON.parse(await readFile(configFile, 'utf8')), pruned_heads: { 1: [0] } }));
    const pruned = await importHfFolder(dir);
    expect(pruned.config.heads_per_layer).toEqual([4, 3]);
    expect(modelInfo(pruned.config).num_params).toBe(141_890 - 3 * (dh * 64 + dh) - dh * 64);
    const compact = InferenceModel.fromWeights(pruned.config, pruned.weights);

    const full = await importHfFolder(fixture);
    const masked = new GatedBert(full.config, { seed: 1 });
    masked.setWeights(full.weights, fixture);
    // gbp's [in, out] layout: head 0's inputs to attention.output.dense are rows 0..15.
    masked.gateOf('encoder.layer.1.attention.output.dense.weight')!.setMask(Float32Array.from({ length: 64 * 64 }, (_, i) => (i < dh * 64 ? 0 : 1)));
    const input = batchOf(reference.cases.pair);
    const a = compact.logits(input);
    const b = masked.logits(input, { training: false });
    expect(maxAbsDiff(a.dataSync(), [...b.dataSync()])).toBeLessThan(1e-5);
    expect(maxAbsDiff(a.dataSync(), reference.cases.pair.logits.flat())).toBeGreaterThan(1e-3); // the head mattered
    tf.dispose([a, b]);
    compact.dispose();
    masked.dispose();
  });

  it('creates a fresh classifier when the task has another number of labels, and says so', async () => {
    const messages: string[] = [];
    const imported = await importHfFolder(fixture, { numLabels: 3, log: (m) => messages.push(m) });
    expect(imported.freshClassifier).toBe(true);
    expect(imported.weights.get('classifier.weight')!.shape).toEqual([64, 3]);
    expect(messages[0]).toContain('has a classifier of shape [2, 64], not [3, 64]: created a fresh 3-label classifier');
  });

  it('refuses a tensor of the wrong shape, an unknown tensor, a missing one and a non-float (I32) one, by name', async () => {
    const wrongShape = await editedCopy(root, 'wrong-shape', (t) => t.set('bert.encoder.layer.1.intermediate.dense.bias', { shape: [127], data: new Float32Array(127) }));
    await expect(importHfFolder(wrongShape)).rejects.toThrow(
      `${join(wrongShape, 'model.safetensors')}: tensor 'bert.encoder.layer.1.intermediate.dense.bias' has shape [127], expected [128] (from config.json)`,
    );
    const unknown = await editedCopy(root, 'unknown', (t) => t.set('bert.encoder.layer.0.attention.self.distance_embedding.weight', { shape: [2], data: new Float32Array(2) }));
    await expect(importHfFolder(unknown)).rejects.toThrow(`tensors that are not parameters of a BERT of this config.json: bert.encoder.layer.0.attention.self.distance_embedding.weight`);
    const missing = await editedCopy(root, 'missing', (t) => {
      t.delete('bert.pooler.dense.weight');
      return t;
    });
    await expect(importHfFolder(missing)).rejects.toThrow(`missing 1 tensor(s) this config.json needs, e.g. 'pooler.dense.weight' [64, 64]`);
    // The reader hands non-float tensors back with their dtype (encodeSafetensors writes F32 only): edit the header.
    const i32 = join(root, 'i32');
    await cp(fixture, i32, { recursive: true });
    const bytes = new Uint8Array(await readFile(join(fixture, 'model.safetensors')));
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
    const edited = header.replace(/("bert\.pooler\.dense\.bias":\{"dtype":")F32/, '$1I32');
    expect(edited).not.toBe(header);
    await rm(join(i32, 'model.safetensors'));
    await writeFile(join(i32, 'model.safetensors'), Buffer.concat([bytes.subarray(0, 8), Buffer.from(edited, 'utf8'), bytes.subarray(8 + n)]));
    await expect(importHfFolder(i32)).rejects.toThrow(`tensor 'bert.pooler.dense.bias' has dtype I32; gbp reads F32, F16 and BF16 checkpoints only`);
  });

  describe('from pretraining/pytorch_model.bin (torch.save zip, LayerNorm gamma/beta, cls.* heads, no classifier)', () => {
    const pretraining = join(fixture, 'pretraining');

    it.each(['single', 'pair'] as const)('gives the reference last_hidden_state and pooler_output within 1e-4 (%s), with a fresh classifier logged', async (which) => {
      await initBackend('cpu');
      const messages: string[] = [];
      const imported = await importHfFolder(pretraining, { seed: 3, log: (m) => messages.push(m) });
      expect(imported.freshClassifier).toBe(true);
      expect(messages).toEqual([`${join(pretraining, 'pytorch_model.bin')} has no classifier: created a fresh 2-label classifier (seed 3); it needs fine-tuning`]);
      const model = InferenceModel.fromWeights(imported.config, imported.weights);
      const c = reference.cases[which];
      const out = model.outputs(batchOf(c));
      const diffs = {
        pooler_output: maxAbsDiff(out.pooled.dataSync(), c.pooler_output.flat()),
        last_hidden_state: maxAbsDiff(out.hidden.dataSync(), c.last_hidden_state.flat(2)),
      };
      console.log(`[gbp] bert-ref-micro pytorch_model.bin ${which}: max |gbp - reference| ${JSON.stringify(diffs)}`);
      for (const [output, diff] of Object.entries(diffs)) expect(diff, output).toBeLessThan(TOLERANCE);
      tf.dispose([out.hidden, out.pooled, out.logits]);
      model.dispose();
    });

    it("holds model.safetensors' encoder and pooler bit for bit; its cls.* heads and gamma/beta names are read and mapped", async () => {
      const raw = await readTorchBinFile(join(pretraining, 'pytorch_model.bin'), 'fixture');
      expect(raw.has('cls.predictions.bias')).toBe(true);
      expect(raw.get('bert.embeddings.LayerNorm.gamma')).toMatchObject({ dtype: 'F32', shape: [64] });
      const fromBin = await importHfFolder(pretraining);
      const fromSafetensors = await importHfFolder(fixture);
      const names = [...fromSafetensors.weights.keys()].filter((name) => !name.startsWith('classifier.'));
      expect(names).toHaveLength(parameterSpecs(fromSafetensors.config).length - 2);
      for (const name of names) {
        const [a, b] = [fromBin.weights.get(name)!, fromSafetensors.weights.get(name)!];
        expect(a.shape, name).toEqual(b.shape);
        expect(new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length), name).toEqual(new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length));
      }
    });

    it('imports the same weights bit for bit from its state dict re-saved in the legacy format (torch < 1.6)', async () => {
      const zip = await readTorchBinFile(join(pretraining, 'pytorch_model.bin'), 'fixture');
      // One FloatStorage per distinct data (ties share one), keyed like _legacy_save's addresses and written in sorted-key order.
      const keys = new Map<Float32Array, string>();
      const specs: TensorSpec[] = [];
      const storages: LegacyStorage[] = [];
      for (const [name, tensor] of zip) {
        expect(tensor.dtype, name).toBe('F32');
        if (!keys.has(tensor.data)) {
          keys.set(tensor.data, String(94000000000 + keys.size));
          storages.push({ key: keys.get(tensor.data)!, bytes: new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength) });
        }
        const stride = tensor.shape.map((_, d) => tensor.shape.slice(d + 1).reduce((a, b) => a * b, 1));
        specs.push({ name, storage: 'FloatStorage', key: keys.get(tensor.data)!, numel: tensor.data.length, size: [...tensor.shape], stride, parameter: true });
      }
      const legacy = join(root, 'legacy');
      await mkdir(legacy);
      await cp(join(pretraining, 'config.json'), join(legacy, 'config.json'));
      await writeFile(join(legacy, 'pytorch_model.bin'), legacyFile(stateDictPickle(specs, { legacy: true, metadata: true }), storages));

      const [fromLegacy, fromZip] = [await importHfFolder(legacy, { seed: 3 }), await importHfFolder(pretraining, { seed: 3 })];
      expect(fromLegacy.config).toEqual(fromZip.config);
      expect([...fromLegacy.weights.keys()]).toEqual([...fromZip.weights.keys()]);
      expect(fromLegacy.weights.size).toBe(parameterSpecs(fromZip.config).length);
      for (const [name, b] of fromZip.weights) {
        const a = fromLegacy.weights.get(name)!;
        expect(a.shape, name).toEqual(b.shape);
        expect(new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length), name).toEqual(new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length));
      }
    });

    it('reads model.safetensors when a folder has both, and names both files when it has neither', async () => {
      const both = join(root, 'both');
      await cp(fixture, both, { recursive: true });
      await cp(join(pretraining, 'pytorch_model.bin'), join(both, 'pytorch_model.bin'));
      expect((await importHfFolder(both)).freshClassifier).toBe(false); // the .bin has no classifier
      const neither = join(root, 'neither');
      await mkdir(neither);
      await cp(join(fixture, 'config.json'), join(neither, 'config.json'));
      await expect(importHfFolder(neither)).rejects.toThrow(
        `${join(neither, 'model.safetensors')}: missing (gbp reads a checkpoint's weights from model.safetensors, else pytorch_model.bin, and found neither in ${neither})`,
      );
      await writeFile(join(neither, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { 'bert.pooler.dense.bias': 'pytorch_model-00001-of-00002.bin' } }));
      await expect(importHfFolder(neither)).rejects.toThrow(
        `and found neither in ${neither}; pytorch_model.bin.index.json names a sharded checkpoint, which gbp does not read: save it in one file (save_pretrained with a larger max_shard_size))`,
      );
    });
  });

  describe.each(['F16', 'BF16'] as const)('from a %s model.safetensors (made here from the fixture)', (dtype) => {
    it('imports with every weight the float32 value of its stored one, and the reference outputs within rounding', async () => {
      await initBackend('cpu');
      const { tensors } = decodeSafetensors(await readFile(join(fixture, 'model.safetensors')), 'fixture');
      const dir = join(root, dtype);
      await cp(fixture, dir, { recursive: true });
      await rm(join(dir, 'model.safetensors'));
      await writeFile(join(dir, 'model.safetensors'), encodeHalfSafetensors(tensors, dtype));
      const half = await importHfFolder(dir);
      const full = await importHfFolder(fixture);
      let changed = 0;
      const wrong: string[] = [];
      for (const [name, b] of full.weights) {
        const a = half.weights.get(name)!;
        expect(a.shape, name).toEqual(b.shape);
        const [aBits, bBits] = [new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length), new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length)];
        for (let i = 0; i < b.data.length; i++) {
          const [x, y] = [a.data[i]!, b.data[i]!];
          if (x !== y) changed++;
          // BF16 was written by truncation: the top 16 bits of the float32. F16 by rounding to nearest:
          // within half a unit in the last of its 11 significant bits (2^-25 for subnormals).
          const ok = dtype === 'BF16' ? aBits[i] === (bBits[i]! & 0xffff0000) >>> 0 : Math.abs(x - y) <= Math.abs(y) * 2 ** -11 + 2 ** -25;
          if (!ok) wrong.push(`${name}[${i}]: ${dtype} gave ${x} for float32 ${y}`);
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(changed).toBeGreaterThan(0);
      const model = InferenceModel.fromWeights(half.config, half.weights);
      const diffs: Record<string, number> = {};
      for (const which of ['single', 'pair'] as const) {
        const c = reference.cases[which];
        const out = model.outputs(batchOf(c));
        diffs[`${which} logits`] = maxAbsDiff(out.logits.dataSync(), c.logits.flat());
        diffs[`${which} pooler_output`] = maxAbsDiff(out.pooled.dataSync(), c.pooler_output.flat());
        diffs[`${which} last_hidden_state`] = maxAbsDiff(out.hidden.dataSync(), c.last_hidden_state.flat(2));
        tf.dispose([out.hidden, out.pooled, out.logits]);
      }
      console.log(`[gbp] bert-ref-micro as ${dtype}: max |gbp - reference| ${JSON.stringify(diffs)}`);
      for (const [output, diff] of Object.entries(diffs)) expect(diff, output).toBeLessThan(HALF_TOLERANCE[dtype]);
      model.dispose();
    });
  });
});

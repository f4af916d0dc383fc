import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.js';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { modelInfo, parameterSpecs, type ModelConfig } from './config.js';
import { GatedBert, type ModelInput } from './encoder.js';
import { InferenceModel } from './inference.js';
import { compact, maxAbsLogitDiff } from './compact.js';
import { flopsPerToken } from './compaction-report.js';
import { parseGateName } from './structure.js';

const base: ModelConfig = {
  size: 'tiny',
  num_layers: 2,
  d_model: 32,
  num_heads: 4,
  dff: 64,
  vocab_size: 50,
  max_len: 16,
  dropout_rate: 0.1,
  type_vocab_size: 2,
  num_labels: 2,
};
const DH = 8;

function batch(rng: Rng, B: number, T: number): ModelInput {
  const inputIds = new Int32Array(B * T);
  const typeIds = new Int32Array(B * T);
  const attentionMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = 2 + rng.int(T - 1);
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = t < len ? 1 + rng.int(49) : 0;
      typeIds[b * T + t] = t < len && t > len / 2 ? 1 : 0;
      attentionMask[b * T + t] = t < len ? 1 : 0;
    }
  }
  return { inputIds, typeIds, attentionMask, batchSize: B, seqLen: T };
}

/** Weights of magnitude ~0.3 (not BERT's 0.02), so a wrongly cut unit moves the logits far beyond 1e-5. */
function randomize(model: GatedBert, rng: Rng): void {
  for (const v of model.params.values()) {
    const values = Float32Array.from({ length: v.size }, () => (rng.next() - 0.5) * 0.6);
    const t = tf.tensor(values, v.shape);
    v.assign(t);
    t.dispose();
  }
}

/**
 * Masks from per-layer removed heads and neurons: a removed unit has its output-side rows masked
 * (and, for `clearInputs`, its input-side columns too); `unstructured` masks a random fraction of
 * every other entry.
 */
function setMasks(model: GatedBert, removed: { heads: number[]; neurons: number[] }[], rng: Rng, unstructured = 0, clearInputs = true): void {
  for (const gate of model.gates) {
    const { layer, role } = parseGateName(gate.name)!;
    const [n, m] = gate.shape;
    const mask = new Float32Array(n * m);
    const { heads, neurons } = removed[layer]!;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < m; c++) {
        let cut = false;
        if (role === 'attention_output') cut = heads.includes(Math.floor(r / DH));
        else if (role === 'output') cut = neurons.includes(r);
        else if (role === 'intermediate') cut = clearInputs && neurons.includes(c);
        else cut = clearInputs && heads.includes(Math.floor(c / DH));
        mask[r * m + c] = cut || rng.next() < unstructured ? 0 : 1;
      }
    }
    gate.setMask(mask);
  }
}

function logitDiff(model: GatedBert, compacted: InferenceModel, rng: Rng): number {
  return maxAbsLogitDiff(model, compacted, [batch(rng, 4, 16), batch(rng, 3, 9)]);
}

const made: { dispose(): void }[] = [];
const track = <T extends { dispose(): void }>(x: T): T => (made.push(x), x);
beforeAll(async () => {
  await initBackend('cpu');
});
afterEach(() => {
  for (const m of made.splice(0)) m.dispose();
});

describe('compact', () => {
  it('(a) whole heads and neurons removed by hand: same logits, and params/FLOPs as counted by hand', () => {
    const rng = new Rng(11);
    const model = track(new GatedBert(base, { seed: 1 }));
    randomize(model, rng);
    const neurons0 = Array.from({ length: 24 }, (_, j) => j * 2 + 1); // 24 of 64 removed: 40 kept
    const neurons1 = Array.from({ length: 54 }, (_, j) => j + 10); // 10 kept
    setMasks(model, [{ heads: [1, 3], neurons: neurons0 }, { heads: [0], neurons: neurons1 }], rng);
    const { config, weights, counts } = compact(model);
    expect(config.heads_per_layer).toEqual([2, 3]);
    expect(config.dff_per_layer).toEqual([40, 10]);
    expect(weights.get('encoder.layer.0.attention.self.query.weight')!.shape).toEqual([32, 16]);
    expect(weights.get('encoder.layer.1.output.dense.weight')!.shape).toEqual([10, 32]);
    const compacted = track(InferenceModel.fromWeights(config, weights));
    expect(logitDiff(model, compacted, rng)).toBeLessThan(1e-5);

    // By hand, d = 32, dh = 8, T = 16. A layer with a = heads·8 attention width and f neurons:
    // q,k,v 3·(32a + a), o 32a + 32, inter 32f + f, out 32f + 32, two LayerNorms 128 → 131a + 65f + 192.
    // Embeddings 50·32 + 16·32 + 2·32 + 64 = 2240; pooler 1056; classifier 66.
    // before: 2·(131·32 + 65·64 + 192) = 17088 → 20450; after: (131·16 + 65·40 + 192) + (131·24 + 65·10 + 192) = 4888 + 3986 → 12236.
    // gated: 128a + 64f per layer: before 2·8192 = 16384, after (2048 + 2560) + (3072 + 640) = 8320.
    // FLOPs per token: 2·(128a + 64f) + 4·16·a = 320a + 128f per layer, + 2·(1024 + 64)/16 = 136:
    // before 2·(10240 + 8192) + 136 = 37000; after (5120 + 5120) + (7680 + 1280) + 136 = 19336.
    expect(counts).toEqual({
      params_before: 20450,
      params_after: 12236,
      gated_params_before: 16384,
      gated_params_after: 8320,
      flops_per_token_before: 37000,
      flops_per_token_after: 19336,
      max_len: 16,
      heads_kept: [2, 3],
      heads: [4, 4],
      neurons_kept: [40, 10],
      neurons: [64, 64],
      structures_removed: true,
      unstructured_sparsity_left: 0,
    });
    expect(compacted.numParams).toBe(12236);
    expect(modelInfo(config).num_params).toBe(12236);
  });

  it('(b) random patterns per layer, a layer with every head removed and an FFN with every neuron removed, unstructured zeros inside kept units', () => {
    const rng = new Rng(29);
    const config3: ModelConfig = { ...base, num_layers: 3 };
    const model = track(new GatedBert(config3, { seed: 2 }));
    randomize(model, rng);
    const pick = (count: number, of: number) => rng.shuffle(Array.from({ length: of }, (_, i) => i)).slice(0, count);
    const removed = [
      { heads: [0, 1, 2, 3], neurons: pick(17, 64) },
      { heads: pick(1, 4), neurons: Array.from({ length: 64 }, (_, i) => i) },
      { heads: pick(2, 4), neurons: pick(50, 64) },
    ];
    // Input-side columns of removed units left unmasked: only the output-side rows decide removal.
    setMasks(model, removed, rng, 0.3, false);
    const { config, weights, counts } = compact(model);
    expect(config.heads_per_layer).toEqual([0, 3, 2]);
    expect(config.dff_per_layer).toEqual([47, 0, 14]);
    const names = new Set(weights.keys());
    expect(names.has('encoder.layer.0.attention.self.query.weight')).toBe(false);
    expect(names.has('encoder.layer.0.attention.self.query.bias')).toBe(false);
    expect(names.has('encoder.layer.0.attention.output.dense.weight')).toBe(false);
    expect(names.has('encoder.layer.0.attention.output.dense.bias')).toBe(true);
    expect(names.has('encoder.layer.1.intermediate.dense.bias')).toBe(false);
    expect(names.has('encoder.layer.1.output.dense.bias')).toBe(true);
    expect([...names].sort()).toEqual(parameterSpecs(config).map((s) => s.name).sort());

    const compacted = track(InferenceModel.fromWeights(config, weights));
    expect(logitDiff(model, compacted, rng)).toBeLessThan(1e-5);

    // The masked fraction of the kept gated weights, counted from the masks directly.
    let kept = 0;
    let zeros = 0;
    for (const gate of model.gates) {
      const { layer, role } = parseGateName(gate.name)!;
      const [n, m] = gate.shape;
      const mask = gate.mask.dataSync();
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < m; c++) {
          const unit = role === 'intermediate' ? c : role === 'output' ? r : role === 'attention_output' ? Math.floor(r / DH) : Math.floor(c / DH);
          const isHead = role !== 'intermediate' && role !== 'output';
          if ((isHead ? removed[layer]!.heads : removed[layer]!.neurons).includes(unit)) continue;
          kept++;
          if (mask[r * m + c] === 0) zeros++;
        }
      }
    }
    expect(kept).toBe(counts.gated_params_after);
    expect(counts.unstructured_sparsity_left).toBeCloseTo(zeros / kept, 12);
    expect(counts.unstructured_sparsity_left).toBeGreaterThan(0.25);
    expect(counts.flops_per_token_after).toBe(flopsPerToken(config));
    expect(counts.structures_removed).toBe(true);
  });

  it('a dense (unmasked) model keeps every unit and its logits', () => {
    const rng = new Rng(3);
    const model = track(new GatedBert(base, { seed: 3 }));
    randomize(model, rng);
    const { config, weights, counts } = compact(model);
    expect(counts).toMatchObject({ params_before: 20450, params_after: 20450, structures_removed: false, unstructured_sparsity_left: 0, heads_kept: [4, 4], neurons_kept: [64, 64] });
    const compacted = track(InferenceModel.fromWeights(config, weights));
    expect(logitDiff(model, compacted, rng)).toBeLessThan(1e-5);
  });
});

describe('per-layer widths in the config', () => {
  it('refuses widths that do not fit, naming the field', () => {
    expect(() => parameterSpecs({ ...base, heads_per_layer: [4] })).toThrow('model: heads_per_layer must list one number per layer (num_layers = 2), got [4]');
    expect(() => parameterSpecs({ ...base, heads_per_layer: [4, 5] })).toThrow('model: heads_per_layer[1] must be an integer from 0 to 4, got 5');
    expect(() => parameterSpecs({ ...base, dff_per_layer: [1.5, 3] })).toThrow('model: dff_per_layer[0] must be an integer from 0 to 64, got 1.5');
  });

  it('a GatedBert of a compacted config trains with dropout on the bias-only blocks (shapes agree)', () => {
    const model = track(new GatedBert({ ...base, heads_per_layer: [0, 2], dff_per_layer: [5, 0] }, { seed: 4 }));
    let seed = 1;
    const logits = model.logits(batch(new Rng(1), 2, 8), { training: true, dropoutSeed: () => seed++ });
    expect(logits.shape).toEqual([2, 2]);
    logits.dispose();
  });
});

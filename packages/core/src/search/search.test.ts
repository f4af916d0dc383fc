import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { resolveModelConfig } from '../model/config.js';
import { archConfig, archKey, largestArch, resolveSearchSpace, sampleArch, smallestArch, SearchSpaceError } from './space.js';
import { fitLatencyModel, latencyFeatures, LATENCY_FEATURES, predictLatency, type LatencySample } from './latency-model.js';
import { evolutionarySearch, randomSearch } from './evolution.js';
import type { SubnetArch } from './space.js';
import { rewire, structureImportance } from './rewire.js';
import { subnetLookup, subnetWeights } from './subnet.js';
import { forward, lossAndGradients } from '../model/encoder.js';
import { sandwichGradients } from './supernet.js';
import { AdamW } from '../train/adamw.js';
import { InferenceModel } from '../model/inference.js';
import { initBackend } from '../backend/index.js';
import { GatedBert } from '../model/encoder.js';
import { lossSum } from '../model/loss.js';
import { makeBatches } from '../data/index.js';
import { tf } from '../tf.js';

const config = resolveModelConfig({ size: 'tiny', num_layers: 4, d_model: 64, num_heads: 4, dff: 256, vocab_size: 100, max_len: 32 }, 2);

describe('search space', () => {
  it('sorts and dedupes the allowed values; a missing dimension keeps the model\'s own value', () => {
    const space = resolveSearchSpace({ layers: [4, 2, 2], heads: [4, 1, 2] }, config);
    expect(space).toEqual({ layers: [2, 4], heads: [1, 2, 4], ffn: [256] });
    expect(largestArch(space)).toEqual({ layers: 4, heads: [4, 4, 4, 4], ffn: [256, 256, 256, 256] });
    expect(smallestArch(space)).toEqual({ layers: 2, heads: [1, 1], ffn: [256, 256] });
  });

  it('refuses an empty list, values beyond the model and non-integers, naming every field', () => {
    const refuse = () => resolveSearchSpace({ layers: [], heads: [0, 8], ffn: [128.5, -1] }, config, 'stages.supernet.space');
    expect(refuse).toThrow(SearchSpaceError);
    expect(refuse).toThrow(
      [
        "stages.supernet.space.layers: an empty list (give at least one value, or leave it out to keep the model's 4)",
        "stages.supernet.space.heads: 8 is more than the model's 4 heads",
        'stages.supernet.space.ffn: 128.5 is not an integer',
        'stages.supernet.space.ffn: -1 is less than 0',
      ].join('\n'),
    );
  });

  it('samples sub-networks inside the space, and each becomes a valid compacted config', () => {
    const space = resolveSearchSpace({ layers: [1, 3], heads: [0, 2, 4], ffn: [0, 64, 256] }, config);
    const rng = new Rng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const arch = sampleArch(space, rng);
      seen.add(archKey(arch));
      expect(space.layers).toContain(arch.layers);
      arch.heads.forEach((h) => expect(space.heads).toContain(h));
      arch.ffn.forEach((f) => expect(space.ffn).toContain(f));
      const sub = archConfig(config, arch);
      expect(sub.num_layers).toBe(arch.layers);
      expect(sub.heads_per_layer).toEqual(arch.heads);
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(() => archConfig(config, { layers: 2, heads: [4], ffn: [256, 256] })).toThrow('arch L2-h4-f256,256: 2 layers need 2 head and FFN widths');
  });
});

describe('latency model', () => {
  it('counts the FLOP components of a sub-network by hand', () => {
    // One layer, 2 heads of 16 (a = 32), FFN 64, d = 64, batch 2 x 8 tokens.
    const x = latencyFeatures(config, { layers: 1, heads: [2], ffn: [64] }, 2, 8);
    expect(LATENCY_FEATURES).toHaveLength(x.length);
    const tokens = 16;
    expect(x).toEqual([1, 1, 2, (2 * tokens * 4 * 64 * 32) / 1e9, (4 * 2 * 8 * 8 * 32) / 1e9, (2 * tokens * 2 * 64 * 64) / 1e9]);
  });

  it('recovers a linear latency from noisy samples and reports its held-out error', () => {
    const space = resolveSearchSpace({ layers: [1, 2, 3, 4], heads: [0, 1, 2, 3, 4], ffn: [0, 64, 128, 256] }, config);
    const truth = [0.8, 0.3, 0.05, 40, 25, 45];
    const rng = new Rng(5);
    const samples: LatencySample[] = Array.from({ length: 40 }, () => {
      const arch = sampleArch(space, rng);
      const exact = latencyFeatures(config, arch, 8, 32).reduce((s, xi, i) => s + xi * truth[i]!, 0);
      return { arch, ms: exact * (1 + (rng.next() - 0.5) * 0.02) }; // ±1 % measurement noise
    });
    const model = fitLatencyModel(config, samples, { batch: 8, seq: 32, backend: 'wasm', threads: 1, referenceMs: 10, rng: new Rng(1) });
    expect(model.fit).toMatchObject({ samples: 30, held_out: 10 });
    expect(model.fit.max_abs_error).toBeLessThan(0.03);
    const arch = largestArch(space);
    const exact = latencyFeatures(config, arch, 8, 32).reduce((s, xi, i) => s + xi * truth[i]!, 0);
    expect(Math.abs(predictLatency(model, config, arch) - exact) / exact).toBeLessThan(0.02);
    expect(model.machine).toMatch(/x\d+, .*node /);
  });

  it('refuses too few samples, saying how many it needs', () => {
    const samples = [{ arch: { layers: 1, heads: [1], ffn: [64] }, ms: 1 }];
    expect(() => fitLatencyModel(config, samples, { batch: 1, seq: 8, backend: 'wasm', threads: 1, referenceMs: 1, rng: new Rng(1) })).toThrow(
      'latency model: 1 measured sub-networks; fitting 6 coefficients with 1 held out needs at least 25',
    );
  });
});

describe('search under a latency budget', () => {
  const space = resolveSearchSpace({ layers: [1, 2, 3, 4], heads: [0, 1, 2, 3, 4], ffn: [0, 64, 128, 192, 256] }, config);
  // Latency and fitness of a synthetic world: fitness rewards heads and FFN width with diminishing
  // returns, so the best sub-network under a budget spends it well, not blindly.
  const latency = (arch: SubnetArch) => 1 + arch.layers + arch.heads.reduce((a, b) => a + b, 0) * 1.5 + arch.ffn.reduce((a, b) => a + b, 0) / 32;
  const fitness = (arch: SubnetArch) => arch.heads.reduce((s, h, i) => s + Math.sqrt(h) + Math.sqrt(arch.ffn[i]! / 64), 0);
  const budget = { latency, budgetMs: 30 };

  it('random search scores only candidates within 0.85-1.1 of the budget, each once', async () => {
    const result = await randomSearch(space, budget, fitness, { candidates: 30, rng: new Rng(2) });
    expect(result.candidates.length).toBeLessThanOrEqual(30);
    for (const c of result.candidates) {
      expect(c.latencyMs / 30).toBeGreaterThanOrEqual(0.85);
      expect(c.latencyMs / 30).toBeLessThanOrEqual(1.1);
    }
    expect(new Set(result.candidates.map((c) => c.key)).size).toBe(result.candidates.length);
    expect(result.best.fitness).toBe(Math.max(...result.candidates.map((c) => c.fitness)));
  });

  it('evolution keeps to the window, improves on its first generation, and repeats itself for a seed', async () => {
    const run = () => evolutionarySearch(space, budget, fitness, { rng: new Rng(4), population: 12, generations: 6 });
    const result = await run();
    for (const c of result.candidates) {
      expect(c.latencyMs / 30).toBeGreaterThanOrEqual(0.85);
      expect(c.latencyMs / 30).toBeLessThanOrEqual(1.1);
    }
    const first = Math.max(...result.candidates.filter((c) => c.generation === 0).map((c) => c.fitness));
    expect(result.best.fitness).toBeGreaterThan(first);
    expect(Math.max(...result.candidates.map((c) => c.generation))).toBe(6);
    expect((await run()).candidates.map((c) => c.key)).toEqual(result.candidates.map((c) => c.key));
  });

  it('fills a generation with architectures not scored yet, where the window holds enough (a window of few spends draws on repeats, not on the population)', async () => {
    // Layers 1 or 2: half of all draws are one-layer networks, of which only a handful fit the window.
    const narrow = resolveSearchSpace({ layers: [1, 2], heads: [1, 2, 3, 4], ffn: [64, 128, 192, 256] }, config);
    const result = await evolutionarySearch(narrow, { latency, budgetMs: 14 }, fitness, { rng: new Rng(5), population: 10, generations: 2 });
    // The first generation draws from the whole window: all ten are new. Children come from five
    // parents, whose crossovers may run out of new ones: each generation adds some, none twice.
    expect(result.candidates.filter((c) => c.generation === 0)).toHaveLength(10);
    for (const g of [1, 2]) expect(result.candidates.filter((c) => c.generation === g).length).toBeGreaterThan(3);
    expect(new Set(result.candidates.map((c) => c.key)).size).toBe(result.candidates.length);
  });

  it('refuses a budget below the smallest sub-network before scoring anything', async () => {
    let scored = 0;
    const count = (arch: SubnetArch) => (scored++, fitness(arch));
    await expect(evolutionarySearch(space, { latency, budgetMs: 1 }, count, { rng: new Rng(1), generations: 2 })).rejects.toThrow(
      'latency budget 1.0 ms is below what the smallest sub-network of the space needs (2.0 ms predicted, L1-h0-f0); raise the budget or widen the space',
    );
    expect(scored).toBe(0);
  });
});

describe('rewiring heads and neurons by importance', () => {
  const rewireConfig = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 60, max_len: 16, dropout_rate: 0 }, 2);
  const batchOf = (seed: number) => {
    const rng = new Rng(seed);
    const examples = Array.from({ length: 8 }, () => {
      const len = 4 + rng.int(10);
      return { ids: Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 5 + rng.int(50))), typeIds: new Int32Array(len), label: rng.int(2) };
    });
    return makeBatches(examples, 8, { padId: 0 })[0]!;
  };

  it('computes the same function after reordering (masks follow their weights), most important heads and neurons first', async () => {
    await initBackend('wasm');
    const model = new GatedBert(rewireConfig, { seed: 4 });
    const gate = model.gateOf('encoder.layer.0.intermediate.dense.weight')!;
    gate.setMask(Float32Array.from({ length: 32 * 64 }, (_, i) => (i % 7 === 0 ? 0 : 1)));
    const batches = [batchOf(1), batchOf(2)];
    const before = tf.tidy(() => model.logits(batches[0]!, { training: false }).dataSync());
    const importance = structureImportance(model, batches);
    const orders = rewire(model, importance);
    expect(orders.heads[0]).not.toEqual([0, 1, 2, 3]); // a real reordering happened
    const after = tf.tidy(() => model.logits(batches[0]!, { training: false }).dataSync());
    expect(Math.max(...Array.from(after, (v, i) => Math.abs(v - before[i]!)))).toBeLessThan(1e-5);
    const again = structureImportance(model, batches);
    for (let l = 0; l < 2; l++) {
      const close = (a: readonly number[], b: readonly number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
      close(again.heads[l]!, orders.heads[l]!.map((h) => importance.heads[l]![h]!));
      close(again.neurons[l]!, orders.neurons[l]!.map((n) => importance.neurons[l]![n]!));
      for (let h = 1; h < 4; h++) expect(again.heads[l]![h]!).toBeLessThanOrEqual(again.heads[l]![h - 1]! + 1e-9);
    }
    model.dispose();
  });

  it("a head's importance is the loss's derivative with respect to its output scale (central differences)", async () => {
    await initBackend('wasm');
    const model = new GatedBert(rewireConfig, { seed: 9 });
    // BERT's init (std 0.02) leaves the loss flat to float32 resolution: larger weights make it move.
    for (const spec of model.specs) if (spec.kind === 'weight') model.param(spec.name).assign(tf.tidy(() => tf.mul(model.param(spec.name), 25)));
    const batches = [batchOf(3), batchOf(4)];
    const importance = structureImportance(model, batches);
    const name = 'encoder.layer.1.attention.output.dense.weight';
    const original = model.param(name).dataSync().slice();
    const lossAt = (scale: number) => {
      const w = original.slice();
      for (let r = 8; r < 16; r++) for (let c = 0; c < 32; c++) w[r * 32 + c]! *= scale; // head 1 (rows 8..15)
      model.param(name).assign(tf.tensor(w, [32, 32]));
      return batches.reduce((sum, b) => sum + tf.tidy(() => lossSum(model.logits(b, { training: false }), b.labels, 2).dataSync()[0]! / b.batchSize), 0);
    };
    const eps = 1e-2;
    const derivative = (lossAt(1 + eps) - lossAt(1 - eps)) / (2 * eps);
    expect(Math.abs(derivative)).toBeGreaterThan(1e-4);
    expect(importance.heads[1]![1]!).toBeCloseTo(Math.abs(derivative), 3);
    model.dispose();
  });
});

describe('sub-networks of a model', () => {
  const full = resolveModelConfig({ size: 'tiny', num_layers: 3, d_model: 32, num_heads: 4, dff: 64, vocab_size: 60, max_len: 16, dropout_rate: 0 }, 2);
  const batch = () => {
    const rng = new Rng(12);
    const examples = Array.from({ length: 5 }, () => {
      const len = 4 + rng.int(10);
      return { ids: Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 5 + rng.int(50))), typeIds: new Int32Array(len), label: rng.int(2) };
    });
    return makeBatches(examples, 5, { padId: 0 })[0]!;
  };

  it('runs on the shared variables exactly as the extracted compacted model does; the largest is the model itself', async () => {
    await initBackend('wasm');
    const model = new GatedBert(full, { seed: 6 });
    model.gateOf('encoder.layer.0.attention.self.query.weight')!.setMask(Float32Array.from({ length: 32 * 32 }, (_, i) => (i % 5 === 0 ? 0 : 1)));
    const input = batch();
    const arch = { layers: 2, heads: [2, 0], ffn: [16, 64] };
    const { config, lookup } = subnetLookup(model, arch);
    const viaLookup = tf.tidy(() => forward(config, lookup, input, { training: false }).dataSync());
    const extracted = subnetWeights(model, arch);
    expect(extracted.config).toMatchObject({ num_layers: 2, heads_per_layer: [2, 0], dff_per_layer: [16, 64] });
    const compacted = InferenceModel.fromWeights(extracted.config, extracted.weights);
    const viaModel = tf.tidy(() => compacted.logits(input).dataSync());
    expect(Array.from(viaModel)).toEqual(Array.from(viaLookup));
    compacted.dispose();
    const largest = subnetLookup(model, { layers: 3, heads: [4, 4, 4], ffn: [64, 64, 64] });
    const a = tf.tidy(() => forward(largest.config, largest.lookup, input, { training: false }).dataSync());
    const b = tf.tidy(() => model.logits(input, { training: false }).dataSync());
    expect(Array.from(a)).toEqual(Array.from(b));
    // Gradients through the slices reach the shared variables: the kept head's query columns only.
    const q = model.param('encoder.layer.0.attention.self.query.weight');
    const grad = tf.tidy(() => tf.grad((w: tf.Tensor) => {
      const lookupW = (name: string) => (name === 'encoder.layer.0.attention.self.query.weight' ? tf.slice(w, [0, 0], [32, 16]) : lookup(name));
      return tf.sum(forward(config, lookupW, input, { training: false }));
    })(q));
    const g = grad.arraySync() as number[][];
    expect(g.every((row) => row.slice(16).every((v) => v === 0))).toBe(true);
    expect(g.some((row) => row.slice(0, 16).some((v) => v !== 0))).toBe(true);
    grad.dispose();
    model.dispose();
  });
});

describe('supernet training by the sandwich rule', () => {
  const full = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 40, max_len: 12, dropout_rate: 0 }, 2);
  /** Label 1 when token 7 occurs: learnable, needs attention. */
  const data = (n: number, seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => {
      const len = 4 + rng.int(8);
      const label = rng.int(2);
      const ids = Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 8 + rng.int(30)));
      if (label === 1) ids[1 + rng.int(len - 1)] = 7;
      return { ids, typeIds: new Int32Array(len), label };
    });
  };

  it("with one architecture in the space, the step's gradient is the task loss's (in-place distillation of the largest from itself adds nothing)", async () => {
    await initBackend('wasm');
    const model = new GatedBert(full, { seed: 3 });
    const batch = makeBatches(data(8, 1), 8, { padId: 0 })[0]!;
    const space = resolveSearchSpace({}, full);
    const step = sandwichGradients(model, space, batch, { randomSubnets: 0, rng: new Rng(1) });
    const reference = lossAndGradients(model, batch, { training: false, divisor: 8 });
    expect(step.losses[0]!.loss).toBeCloseTo(reference.value.dataSync()[0]!, 6);
    step.grads.forEach((g, i) => {
      const [a, b] = [g.dataSync(), reference.grads[i]!.dataSync()];
      const worst = Array.from(a).reduce((m, v, j) => Math.max(m, Math.abs(v - b[j]!)), 0);
      expect(worst).toBeLessThan(1e-6);
    });
    tf.dispose([...step.grads, reference.value, ...reference.grads]);
    model.dispose();
  });

  it('training shares the weights: the largest, the smallest and a middle sub-network all learn', async () => {
    await initBackend('wasm');
    const model = new GatedBert(full, { seed: 5 });
    const space = resolveSearchSpace({ layers: [1, 2], heads: [1, 2, 4], ffn: [16, 64] }, full);
    const optimizer = new AdamW(model.specs.map((s) => ({ name: s.name, variable: model.param(s.name), decay: s.kind === 'weight' })), { weightDecay: 0 });
    const evalBatch = makeBatches(data(64, 99), 64, { padId: 0 })[0]!;
    const lossOf = (arch: SubnetArch) => {
      const { config, lookup } = subnetLookup(model, arch);
      return tf.tidy(() => lossSum(forward(config, lookup, evalBatch, { training: false }), evalBatch.labels, 2).dataSync()[0]! / 64);
    };
    const middle = { layers: 2, heads: [2, 1], ffn: [64, 16] };
    const before = [largestArch(space), smallestArch(space), middle].map(lossOf);
    const rng = new Rng(8);
    for (let epoch = 0; epoch < 20; epoch++) {
      for (const batch of makeBatches(data(128, 10 + epoch), 16, { padId: 0, rng })) {
        const { grads } = sandwichGradients(model, space, batch, { randomSubnets: 2, rng });
        optimizer.apply(grads, 3e-3);
        tf.dispose(grads);
      }
    }
    const after = [largestArch(space), smallestArch(space), middle].map(lossOf);
    after.forEach((loss, i) => expect(loss).toBeLessThan(before[i]! - 0.05));
    optimizer.dispose();
    model.dispose();
  });
});

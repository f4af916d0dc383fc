import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { MODEL_PRESETS, modelInfo, resolveModelConfig, type ModelConfig } from './config.js';
import { GatedBert, forwardOutputs, lossAndGradients, type ModelInput } from './encoder.js';
import { Rng } from '../rng.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Independent closed form of the BERT parameter count (not derived from parameterSpecs). */
function analyticCount(c: ModelConfig): number {
  const d = c.d_model;
  const embeddings = (c.vocab_size + c.max_len + 2) * d + 2 * d;
  const layer = 4 * (d * d + d) + (d * c.dff + c.dff) + (c.dff * d + d) + 2 * 2 * d;
  return embeddings + c.num_layers * layer + (d * d + d) + (d * c.num_labels + c.num_labels);
}

const tinyConfig = (overrides: Partial<ModelConfig> = {}): ModelConfig => ({
  ...resolveModelConfig({ size: 'tiny', num_layers: 1, d_model: 8, num_heads: 2, dff: 16, vocab_size: 20, max_len: 8, dropout_rate: 0 }),
  ...overrides,
});

function randomInput(rng: Rng, B: number, T: number, vocab: number, lengths?: number[]): ModelInput & { labels: Float32Array } {
  const inputIds = new Int32Array(B * T);
  const typeIds = new Int32Array(B * T);
  const attentionMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = lengths?.[b] ?? T;
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = t < len ? 1 + rng.int(vocab - 1) : 0;
      typeIds[b * T + t] = t < len && t >= len / 2 ? 1 : 0;
      attentionMask[b * T + t] = t < len ? 1 : 0;
    }
  }
  const labels = Float32Array.from({ length: B }, () => rng.int(2));
  return { inputIds, typeIds, attentionMask, batchSize: B, seqLen: T, labels };
}

describe('presets and parameter counts', () => {
  const targets = { tiny: 9e6, small: 28e6, base: 108e6, large: 333e6 } as const;

  it.each(['tiny', 'small', 'base'] as const)('%s: modelInfo counts exactly the variables built, within 5%% of the design', (size) => {
    const config = resolveModelConfig({ size });
    const info = modelInfo({ size });
    const model = new GatedBert(config, { seed: 1, init: 'zeros' });
    try {
      let built = 0;
      for (const v of model.params.values()) built += v.size;
      expect(info.num_params).toBe(built);
      expect(info.num_params).toBe(analyticCount(config));
      expect(Math.abs(built / targets[size] - 1)).toBeLessThan(0.05);
      expect(model.gates).toHaveLength(6 * config.num_layers);
    } finally {
      model.dispose();
    }
  });

  it('large: counted analytically (building it needs ~2.5 GB with masks)', () => {
    const config = resolveModelConfig({ size: 'large' });
    const info = modelInfo(config);
    expect(info.num_params).toBe(analyticCount(config));
    expect(Math.abs(info.num_params / targets.large - 1)).toBeLessThan(0.05);
  });

  it('presets match the design table and every field can be overridden', () => {
    expect(MODEL_PRESETS.small).toMatchObject({ num_layers: 6, d_model: 512, num_heads: 8, dff: 1024, vocab_size: 30522, max_len: 128, dropout_rate: 0.1 });
    const c = resolveModelConfig({ size: 'base', num_layers: 3, d_model: 64, num_heads: 4, dff: 100, vocab_size: 500, max_len: 32, dropout_rate: 0 });
    expect(c).toMatchObject({ num_layers: 3, d_model: 64, num_heads: 4, dff: 100, vocab_size: 500, max_len: 32, dropout_rate: 0 });
    expect(() => resolveModelConfig({ size: 'tiny', d_model: 30, num_heads: 4 })).toThrow(/divisible/);
  });

  it('gates carry HF-like names', () => {
    const model = new GatedBert(tinyConfig({ num_layers: 2 }), { seed: 1 });
    expect(model.gates.map((g) => g.name)).toContain('encoder.layer.1.attention.self.query');
    expect(model.gates.map((g) => g.name)).toContain('encoder.layer.0.output.dense');
    expect([...model.params.keys()]).toContain('embeddings.LayerNorm.weight');
    model.dispose();
  });
});

describe('gated forward and gradients', () => {
  it('setMask validates shape and 0/1 values', () => {
    const model = new GatedBert(tinyConfig(), { seed: 1 });
    const gate = model.gates[0]!;
    expect(() => gate.setMask(new Float32Array(3))).toThrow(/expects 64 values/);
    expect(() => gate.setMask(new Float32Array(64).fill(0.5))).toThrow(/only 0 or 1/);
    const wrong = tf.ones([4, 16]);
    expect(() => gate.setMask(wrong)).toThrow(/shape \[8, 8\]/);
    wrong.dispose();
    model.dispose();
  });

  it('a masked weight changes neither the output nor any gradient, and its dW is exactly 0', () => {
    const model = new GatedBert(tinyConfig(), { seed: 3 });
    const input = randomInput(new Rng(5), 3, 6, 20, [6, 4, 2]);
    const gate = model.gates[4]!; // intermediate.dense [8, 16]
    const mask = new Float32Array(gate.size).fill(1);
    mask[5] = 0;
    mask[77] = 0;
    gate.setMask(mask);
    const run = () => {
      const { value, grads } = lossAndGradients(model, input, { training: false, divisor: 3 });
      const out = { loss: value.dataSync()[0]!, grads: grads.map((g) => g.dataSync().slice()) };
      tf.dispose([value, ...grads]);
      return out;
    };
    const before = run();
    const w = gate.weight.dataSync().slice();
    w[5] = 123.5;
    w[77] = -9;
    const changed = tf.tensor2d(w, [8, 16]);
    gate.weight.assign(changed);
    changed.dispose();
    const after = run();
    expect(after.loss).toBe(before.loss);
    after.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(before.grads[i]!)));
    // dW = dEff ⊙ M: zero exactly where masked, while dEff itself is dense there.
    const gi = model.specs.findIndex((s) => s.gate === gate.name);
    const dEff = after.grads[gi]!;
    expect(dEff[5]).not.toBe(0);
    expect(dEff[5]! * mask[5]!).toBe(0);
    model.dispose();
  });

  it('gradients match central finite differences (1 layer, d=8, float32)', () => {
    const model = new GatedBert(tinyConfig(), { seed: 11 });
    // Larger weights than BERT's 0.02 init, so every path contributes measurably.
    for (const [name, v] of model.params) {
      if (!name.endsWith('.weight') || name.includes('LayerNorm')) continue;
      const scaled = tf.mul(v, 20);
      v.assign(scaled);
      scaled.dispose();
    }
    const gate = model.gates[1]!;
    const mask = new Float32Array(gate.size).fill(1);
    mask[3] = 0;
    gate.setMask(mask);
    const input = randomInput(new Rng(7), 2, 5, 20, [5, 3]);
    const lossAt = () => {
      const { value, grads } = lossAndGradients(model, input, { training: false, divisor: 1 });
      const loss = value.dataSync()[0]!;
      tf.dispose([value, ...grads]);
      return loss;
    };
    const { value, grads } = lossAndGradients(model, input, { training: false, divisor: 1 });
    const analytic = grads.map((g) => g.dataSync().slice());
    tf.dispose([value, ...grads]);

    const rng = new Rng(99);
    const eps = 1e-2;
    let checked = 0;
    let maxErr = 0;
    model.specs.forEach((spec, pi) => {
      const variable = model.param(spec.name);
      const gateOf = model.gateOf(spec.name);
      const maskValues = gateOf?.mask.dataSync();
      for (let k = 0; k < 3; k++) {
        const j = rng.int(variable.size);
        const base = variable.dataSync().slice();
        const setAt = (x: number) => {
          const copy = base.slice();
          copy[j] = x;
          const t = tf.tensor(copy, variable.shape);
          variable.assign(t);
          t.dispose();
        };
        setAt(base[j]! + eps);
        const up = lossAt();
        setAt(base[j]! - eps);
        const down = lossAt();
        setAt(base[j]!);
        const numeric = (up - down) / (2 * eps);
        // The analytic gradient w.r.t. W is dEff ⊙ M.
        const exact = analytic[pi]![j]! * (maskValues ? maskValues[j]! : 1);
        const err = Math.abs(numeric - exact) / Math.max(1e-2, Math.abs(numeric) + Math.abs(exact));
        maxErr = Math.max(maxErr, err);
        expect(err, `${spec.name}[${j}]: numeric ${numeric}, analytic ${exact}`).toBeLessThan(1e-2);
        checked++;
      }
    });
    expect(checked).toBe(model.specs.length * 3);
    model.dispose();
  });

  it('padding tokens change nothing in the logits of the real tokens', () => {
    const model = new GatedBert(tinyConfig({ num_layers: 2 }), { seed: 4 });
    const rng = new Rng(8);
    const short = randomInput(rng, 1, 4, 20);
    // The same sequence padded to 8 with arbitrary ids and token types at the padded positions.
    const T = 8;
    const padded: ModelInput = {
      inputIds: Int32Array.from({ length: T }, (_, t) => (t < 4 ? short.inputIds[t]! : 1 + rng.int(19))),
      typeIds: Int32Array.from({ length: T }, (_, t) => (t < 4 ? short.typeIds[t]! : 1)),
      attentionMask: Float32Array.from({ length: T }, (_, t) => (t < 4 ? 1 : 0)),
      batchSize: 1,
      seqLen: T,
    };
    const a = model.logits(short, { training: false });
    const b = model.logits(padded, { training: false });
    const av = a.dataSync();
    const bv = b.dataSync();
    for (let i = 0; i < av.length; i++) expect(bv[i]).toBeCloseTo(av[i]!, 5);
    tf.dispose([a, b]);
    model.dispose();
  });
});

describe('layer_norm_eps', () => {
  it('the forward pass uses the config’s LayerNorm ε: with a huge ε every LayerNorm returns its β', () => {
    // (x − mean)/√(var + ε) → 0 as ε grows, so every token's last hidden state is the last LayerNorm's β.
    const config = tinyConfig({ layer_norm_eps: 1e8 });
    const model = new GatedBert(config, { seed: 3 });
    const beta = Float32Array.from({ length: config.d_model }, (_, i) => 0.1 * (i + 1));
    tf.tidy(() => model.param('encoder.layer.0.output.LayerNorm.bias').assign(tf.tensor1d(beta)));
    const input = randomInput(new Rng(5), 2, 6, config.vocab_size);
    const out = tf.tidy(() => forwardOutputs(config, (name) => model.param(name), input, { training: false }).hidden.dataSync().slice());
    for (let row = 0; row < 2 * 6; row++) {
      for (let j = 0; j < config.d_model; j++) expect(out[row * config.d_model + j]).toBeCloseTo(beta[j]!, 3);
    }
    model.dispose();
  });

  it('without layer_norm_eps the model computes exactly as before (ε 1e-12)', () => {
    const model = new GatedBert(tinyConfig(), { seed: 3 });
    const explicit = new GatedBert(tinyConfig({ layer_norm_eps: 1e-12 }), { seed: 3 });
    const input = randomInput(new Rng(5), 2, 6, 20);
    const a = model.logits(input, { training: false });
    const b = explicit.logits(input, { training: false });
    expect(a.dataSync()).toEqual(b.dataSync());
    tf.dispose([a, b]);
    model.dispose();
    explicit.dispose();
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { resolveModelConfig } from './config.js';
import { GatedBert, lossAndGradients, type ModelInput } from './encoder.js';

afterAll(async () => {
  await initBackend('cpu');
});

/** Loss and every gradient of one training step (with dropout from fixed seeds) on `backend`. */
async function stepOn(numLabels: number, backend: 'cpu' | 'wasm', weights: Map<string, Float32Array> | null, masks: Map<string, Float32Array> | null, input: ModelInput & { labels: Float32Array }) {
  await initBackend(backend);
  const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 200, max_len: 16, dropout_rate: 0.1 }, numLabels);
  const model = new GatedBert(config, { seed: 21 });
  if (weights) {
    for (const [name, values] of weights) {
      const t = tf.tensor(values, model.param(name).shape);
      model.param(name).assign(t);
      t.dispose();
    }
  }
  if (masks) for (const g of model.gates) g.setMask(masks.get(g.name)!);
  else {
    // Prune a random 30% of every gate so the masked path is exercised too.
    const rng = new Rng(3);
    for (const g of model.gates) g.setMask(Float32Array.from({ length: g.size }, () => (rng.next() < 0.3 ? 0 : 1)));
  }
  const seeds = new Rng(77);
  const { value, grads } = lossAndGradients(model, input, { training: true, dropoutSeed: () => seeds.seed(), divisor: input.batchSize });
  const out = {
    backend: tf.getBackend(),
    loss: value.dataSync()[0]!,
    grads: new Map(model.specs.map((s, i) => [s.name, grads[i]!.dataSync().slice() as Float32Array])),
    weights: new Map(model.specs.map((s) => [s.name, model.param(s.name).dataSync().slice() as Float32Array])),
    masks: new Map(model.gates.map((g) => [g.name, g.mask.dataSync().slice() as Float32Array])),
  };
  tf.dispose([value, ...grads]);
  model.dispose();
  return out;
}

describe('wasm and cpu agree on a full training step', () => {
  // num_labels 1 (regression) gives [d, 1] head weights, whose transposes move no data.
  it.each([2, 1])('num_labels %i: loss and the gradient of every variable: relative error < 1e-4', async (numLabels) => {
    const rng = new Rng(9);
    const B = 4;
    const T = 12;
    const lengths = [12, 9, 5, 3];
    const input = {
      inputIds: new Int32Array(B * T),
      typeIds: new Int32Array(B * T),
      attentionMask: new Float32Array(B * T),
      batchSize: B,
      seqLen: T,
      labels: numLabels === 1 ? Float32Array.from([0.5, 3.2, 4.9, 1.1]) : Float32Array.from([0, 1, 1, 0]),
    };
    lengths.forEach((len, b) => {
      for (let t = 0; t < len; t++) {
        input.inputIds[b * T + t] = 1 + rng.int(199);
        input.typeIds[b * T + t] = t > len / 2 ? 1 : 0;
        input.attentionMask[b * T + t] = 1;
      }
    });
    const cpu = await stepOn(numLabels, 'cpu', null, null, input);
    const wasm = await stepOn(numLabels, 'wasm', cpu.weights, cpu.masks, input);
    expect(cpu.backend).toBe('cpu');
    expect(wasm.backend).toBe('wasm');
    expect(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-4);
    for (const [name, g] of cpu.grads) {
      const w = wasm.grads.get(name)!;
      if (name.endsWith('attention.self.key.bias')) {
        // Its true gradient is 0 (a key bias shifts a query's scores equally: softmax ignores it);
        // both backends must agree that it is rounding noise.
        for (const x of [...g, ...w]) expect(Math.abs(x)).toBeLessThan(1e-6);
        continue;
      }
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < g.length; i++) {
        diff += (w[i]! - g[i]!) ** 2;
        norm += g[i]! ** 2;
      }
      // Relative error of the whole gradient (L2), so near-zero entries do not dominate.
      expect(Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12), name).toBeLessThan(1e-4);
      expect(norm, `${name} has a zero gradient`).toBeGreaterThan(0);
    }
  });
});

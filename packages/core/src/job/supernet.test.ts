import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { GatedBert, resolveModelConfig } from '../model/index.js';
import { structureImportance } from '../search/rewire.js';
import type { SupernetSpec, TrainSpec } from '../spec.js';
import { rewireSupernet } from './supernet.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Label 1 when token 7 occurs. */
function synthetic(n: number, seed: number): EncodedExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 4 + rng.int(8);
    const label = rng.int(2);
    const ids = Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 8 + rng.int(30)));
    if (label === 1) ids[1 + rng.int(len - 1)] = 7;
    return { ids, typeIds: new Int32Array(len), label };
  });
}

describe('rewiring a supernet at the start of its job', () => {
  it('leaves the logits unchanged, puts the most important head and neuron of every layer first, and returns the orders', () => {
    const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 40, max_len: 12, dropout_rate: 0 }, 2);
    const model = new GatedBert(config, { seed: 11 });
    const examples = synthetic(48, 4);
    const supernet: SupernetSpec = { space: {}, random_subnets: 2, rewire: true, importance_batches: 2 };
    // Micro-batches of 5 rows: the importance must still be the whole batches' (measured below).
    const train = { batch_size: 16, micro_batch_size: 5 } as TrainSpec;
    const probe = makeBatches(synthetic(20, 9), 20, { padId: 0 })[0]!;
    const logitsOf = () => tf.tidy(() => model.logits(probe, { training: false })).dataSync() as Float32Array;
    const measured = makeBatches(examples, 16, { padId: 0, groupByLength: false }).slice(0, 2);
    const before = logitsOf();
    const importanceBefore = structureImportance(model, measured);
    const logs: string[] = [];
    const rewired = rewireSupernet(model, supernet, train, examples, 0, (_, message) => logs.push(message));
    const after = logitsOf();
    expect(Math.max(...Array.from(after, (v, i) => Math.abs(v - before[i]!)))).toBeLessThan(1e-5);
    expect(rewired!.importance_batches).toBe(2);
    const descending = (values: readonly number[]) => values.every((v, i) => i === 0 || v <= values[i - 1]! * (1 + 1e-3) + 1e-9);
    const importanceAfter = structureImportance(model, measured);
    for (let l = 0; l < 2; l++) {
      const mostImportantHead = importanceBefore.heads[l]!.indexOf(Math.max(...importanceBefore.heads[l]!));
      expect(rewired!.heads[l]![0]).toBe(mostImportantHead);
      expect(rewired!.neurons[l]![0]).toBe(importanceBefore.neurons[l]!.indexOf(Math.max(...importanceBefore.neurons[l]!)));
      // Measured again on the rewired model: most important first.
      expect(descending(importanceAfter.heads[l]!)).toBe(true);
      expect(descending(importanceAfter.neurons[l]!)).toBe(true);
    }
    // The orders were not already sorted (the test would prove nothing otherwise).
    expect(rewired!.heads.some((order) => order.some((from, to) => from !== to))).toBe(true);
    expect(logs).toHaveLength(1);
    model.dispose();
  });
});

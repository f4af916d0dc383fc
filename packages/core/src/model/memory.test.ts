import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { BackendMemoryError } from '../backend/errors.js';
import { HookRegistry } from '../hooks/registry.js';
import { Trainer } from '../train/trainer.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { GatedBert } from './encoder.js';
import {
  autoEvalBatchSize,
  autoMicroBatchSize,
  evalBatchBytes,
  FRAGMENTATION_RESERVE,
  trainingMemory,
  trainingStepBytes,
  TrainingMemoryError,
  WASM_HEAP_BYTES,
} from './memory.js';
import { resolveModelConfig } from './config.js';
import type { ModelSize } from '../spec.js';

const USABLE_HEAP = WASM_HEAP_BYTES * (1 - FRAGMENTATION_RESERVE);

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * Heap high-water marks of one optimizer step on wasm (tfjs-backend-wasm 4.22 with its heap growth
 * made exact, so the heap size is the peak; one fresh process each; synthetic full-length batches).
 */
const MEASURED_STEPS: readonly [ModelSize, vocab: number, T: number, micro: number, batch: number, heapBytes: number][] = [
  ['tiny', 2000, 64, 4, 8, 102_236_160],
  ['tiny', 2000, 64, 8, 16, 155_713_536],
  ['tiny', 2000, 128, 4, 8, 166_068_224],
  ['tiny', 2000, 128, 8, 16, 284_033_024],
  ['tiny', 30522, 128, 8, 16, 492_568_576],
  ['small', 2000, 128, 1, 1, 543_096_832],
  ['small', 2000, 128, 1, 2, 605_421_568],
  ['small', 2000, 128, 2, 2, 709_296_128],
  ['small', 2000, 128, 2, 4, 783_155_200],
  ['small', 2000, 128, 4, 8, 1_118_240_768],
  ['small', 2000, 128, 8, 16, 1_776_746_496],
  ['small', 30522, 128, 1, 1, 964_296_704],
  ['small', 30522, 128, 1, 2, 1_085_014_016],
  ['small', 30522, 128, 2, 4, 1_200_226_304],
  ['base', 30522, 128, 1, 1, 3_517_120_512],
  ['base', 30522, 128, 1, 2, 3_853_844_480],
  ['base', 30522, 64, 2, 4, 3_802_529_792],
];

/** The same for Trainer.evaluate on one batch (forward only, dropout off). */
const MEASURED_EVALS: readonly [ModelSize, T: number, batch: number, heapBytes: number][] = [
  ['tiny', 128, 32, 430_964_736],
  ['small', 128, 8, 931_659_776],
  ['small', 128, 32, 2_199_388_160],
  ['base', 128, 2, 2_706_309_120],
  ['base', 64, 19, 3_980_591_104], // more than autoEvalBatchSize gives base at 64 tokens
];

function examplesOf(length: number, count: number): EncodedExample[] {
  const ids = Int32Array.from({ length }, (_, t) => 5 + (t % 50));
  return Array.from({ length: count }, (_, i) => ({ ids, typeIds: new Int32Array(length), label: i % 2 }));
}

/** A trainer over `examples` (default 1) examples of `length` tokens. */
function makeTrainer(model: GatedBert, length: number, options: { batch_size?: number; micro_batch_size?: number; examples?: number } = {}): Trainer {
  const { examples = 1, ...train } = options;
  return new Trainer({
    model,
    train: { epochs: 1, batch_size: 4, learning_rate: 1e-3, weight_decay: 0.01, warmup_ratio: 0, max_grad_norm: 1, seed: 1, checkpoint_every_epoch: false, ...train },
    numLabels: model.config.num_labels,
    trainExamples: examplesOf(length, examples),
    evalSets: [],
    padId: 0,
    computeMetrics: () => ({}),
    hooks: new HookRegistry(),
    sparsity: () => 0,
  });
}

describe('training memory estimate (wasm heap)', () => {
  it('is at or above every measured step peak, and at most 25% above it', () => {
    for (const [size, vocab_size, T, micro, batch, measured] of MEASURED_STEPS) {
      const estimate = trainingStepBytes(trainingMemory(resolveModelConfig({ size, vocab_size }), T), micro, batch);
      const label = `${size} vocab ${vocab_size} T ${T} micro ${micro} batch ${batch}`;
      expect(estimate, label).toBeGreaterThanOrEqual(measured);
      expect(estimate, label).toBeLessThan(measured * 1.25);
    }
  });

  it('is at or above every measured evaluation peak, and at most 2x above it', () => {
    for (const [size, T, batch, measured] of MEASURED_EVALS) {
      const estimate = evalBatchBytes(trainingMemory(resolveModelConfig({ size }), T), batch);
      expect(estimate, `${size} T ${T} batch ${batch}`).toBeGreaterThanOrEqual(measured);
      expect(estimate, `${size} T ${T} batch ${batch}`).toBeLessThan(measured * 2);
    }
  });

  it('counts exactly the resident bytes tf.memory() sees once a trainer is built (weights, masks, both moments)', () => {
    const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 100, max_len: 16 }, 3);
    const before = tf.memory().numBytes;
    const model = new GatedBert(config, { seed: 1 });
    const trainer = makeTrainer(model, 4);
    try {
      expect(tf.memory().numBytes - before).toBe(trainingMemory(config, 4).residentBytes);
    } finally {
      trainer.optimizer.dispose();
      model.dispose();
    }
  });

  it('makes the trainer refuse on wasm, before any step, what cannot train one example at a time', () => {
    // Tiny weights, but 64 heads over 16384 tokens: the attention alone would need hundreds of GB.
    const config = resolveModelConfig({ size: 'tiny', num_layers: 1, d_model: 64, num_heads: 64, dff: 64, vocab_size: 100, max_len: 16384 });
    const model = new GatedBert(config, { seed: 1, init: 'zeros' });
    try {
      expect(() => makeTrainer(model, 16384)).toThrow(/^model tiny \(.*\) cannot train at 16384 tokens on the wasm backend: even one example per micro-batch needs an estimated/);
    } finally {
      model.dispose();
    }
  });

  it('accumulates micro-batch gradients one at a time, so the sums reuse the addends\' space (never a third copy of the gradients)', async () => {
    const config = resolveModelConfig({ size: 'tiny', num_layers: 4, d_model: 64, num_heads: 4, dff: 256, vocab_size: 100, max_len: 8 });
    const model = new GatedBert(config, { seed: 1 });
    const trainer = makeTrainer(model, 4, { batch_size: 3, micro_batch_size: 1, examples: 3 });
    try {
      const batch = makeBatches(examplesOf(4, 3), 3, { padId: 0 })[0]!;
      const profile = await tf.profile(async () => {
        tf.dispose((await trainer.computeGradients(batch)).grads);
        return [];
      });
      // The step's last kernels are the additions of the third micro-batch's gradients to the sums.
      const adds = profile.kernels.slice(-model.specs.length);
      expect(adds.every((k) => k.name === 'Add')).toBe(true);
      const before = adds[0]!.totalBytesSnapshot - adds[0]!.bytesAdded;
      const growth = Math.max(...adds.map((k) => k.totalBytesSnapshot)) - before;
      const largest = Math.max(...model.specs.map((s) => 4 * s.shape.reduce((a, b) => a * b, 1)));
      // Three copies at once (sums, addends and new sums) would grow by all the gradients: 50x this.
      expect(growth).toBeLessThanOrEqual(largest);
    } finally {
      trainer.optimizer.dispose();
      model.dispose();
    }
  });

  it('refuses base at 128 tokens on wasm, and trains it one example at a time on SST-2 (59 tokens at most)', () => {
    const base = resolveModelConfig({ size: 'base' });
    // Measured: one at a time at 128 tokens crept to 4.23 of the heap's 4.29 GB by step 5.
    expect(() => autoMicroBatchSize(base, 128, 96)).toThrow(TrainingMemoryError);
    // Two at a time at 45-66 tokens crept from 3.93 to 4.21 GB in 4 steps (step 7 of the sweep ran out).
    for (const T of [59, 66]) {
      const micro = autoMicroBatchSize(base, T, 96);
      expect(micro, `T ${T}`).toBe(1);
      expect(trainingStepBytes(trainingMemory(base, T), micro, 96)).toBeLessThanOrEqual(USABLE_HEAP);
    }
  });

  it('picks the largest power of two whose step fits, or the whole batch', () => {
    for (const size of ['tiny', 'small', 'base'] as const) {
      const config = resolveModelConfig({ size });
      for (const [T, batch] of size === 'base' ? ([[32, 96], [64, 32]] as const) : ([[32, 96], [64, 32], [128, 32], [128, 6]] as const)) {
        const memory = trainingMemory(config, T);
        const micro = autoMicroBatchSize(config, T, batch);
        const label = `${size} T ${T} batch ${batch}: ${micro}`;
        expect(trainingStepBytes(memory, micro, batch), label).toBeLessThanOrEqual(USABLE_HEAP);
        if (micro === batch) continue;
        expect(Math.log2(micro) % 1, label).toBe(0);
        expect(trainingStepBytes(memory, Math.min(2 * micro, batch), batch), label).toBeGreaterThan(USABLE_HEAP);
      }
    }
    const small = resolveModelConfig({ size: 'small' });
    expect(autoMicroBatchSize(small, 128, 32, trainingStepBytes(trainingMemory(small, 128), 1, 32) / (1 - FRAGMENTATION_RESERVE))).toBe(1);
  });

  it('counts a sandwich step (supernet) with one more gradient sum (over its sub-networks), and picks its micro-batch with it', () => {
    const small = resolveModelConfig({ size: 'small' });
    const memory = trainingMemory(small, 64);
    expect(trainingStepBytes(memory, 32, 32, { sandwich: true }) - trainingStepBytes(memory, 32, 32)).toBe(memory.accumulatorBytes);
    expect(trainingStepBytes(memory, 8, 32, { sandwich: true }) - trainingStepBytes(memory, 8, 32)).toBe(memory.accumulatorBytes);
    // A heap the normal step fits whole: the sandwich step must be cut, and its cut fits.
    const heap = trainingStepBytes(memory, 32, 32) / (1 - FRAGMENTATION_RESERVE);
    expect(autoMicroBatchSize(small, 64, 32, heap)).toBe(32);
    const micro = autoMicroBatchSize(small, 64, 32, heap, { sandwich: true });
    expect(micro).toBeLessThan(32);
    expect(trainingStepBytes(memory, micro, 32, { sandwich: true })).toBeLessThanOrEqual(heap * (1 - FRAGMENTATION_RESERVE));
  });

  it('refuses, before any work, a model that cannot train one example at a time, naming it, the estimate and what to do', () => {
    const base = resolveModelConfig({ size: 'base', max_len: 512 });
    let error: unknown;
    try {
      autoMicroBatchSize(base, 512, 96);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TrainingMemoryError);
    expect(error).toBeInstanceOf(BackendMemoryError);
    expect((error as Error).message).toMatch(
      /^model base \(109\.5M parameters, 12 layers, d_model 768\) cannot train at 512 tokens on the wasm backend: even one example per micro-batch needs an estimated [\d.]+ GB \(weights, masks and AdamW moments 1\.54 GB, .*\) of the 3\.60 GB usable \(the 4\.00 GB wasm heap less 10% that fragmentation takes over steps\)\. Lower model\.max_len or choose a smaller model\.size, or use a native backend \(run\.backend: tensorflow or cuda/,
    );
    expect(() => autoMicroBatchSize(resolveModelConfig({ size: 'large' }), 128, 32)).toThrow(/model large .*The model alone does not fit: choose a smaller model\.size, or use a native backend/);
  });

  it('splits evaluation into batches whose forward pass fits (base at 128 tokens cannot evaluate 96 at once)', () => {
    const base = resolveModelConfig({ size: 'base' });
    const memory = trainingMemory(base, 128);
    expect(evalBatchBytes(memory, 96)).toBeGreaterThan(WASM_HEAP_BYTES);
    const batch = autoEvalBatchSize(base, 128, 96);
    expect(evalBatchBytes(memory, batch)).toBeLessThanOrEqual(USABLE_HEAP);
    expect(evalBatchBytes(memory, batch + 1)).toBeGreaterThan(USABLE_HEAP);
    expect(autoEvalBatchSize(resolveModelConfig({ size: 'tiny' }), 128, 32)).toBe(32);
  });
});

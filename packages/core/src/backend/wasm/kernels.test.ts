/**
 * The kernels gbp registers for wasm match the cpu backend (relative error < 1e-5) and leak nothing.
 */
import { describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../tf.js';
import { initBackend } from '../init.js';
import { ints, normal, relativeError, runOn } from '../__fixtures__/numerics.js';
import { FAST_MATMUL } from './kernels/fast_matmul.js';
import { wrapperOf } from './kernels/wrap_kernel.js';

const TOLERANCE = 1e-5;

/** Runs `f` on cpu and on wasm and expects every output to agree. */
async function expectWasmMatchesCpu(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const expected = await runOn('cpu', f);
  const actual = await runOn('wasm', f);
  expect(actual.length).toBe(expected.length);
  actual.forEach((values, i) => {
    expect(values.length, `output ${i} size`).toBe(expected[i]!.length);
    expect(relativeError(values, expected[i]!), `output ${i}`).toBeLessThan(TOLERANCE);
  });
}

describe('UnsortedSegmentSum (wasm)', () => {
  it('is registered and matches cpu on random data with repeated ids', async () => {
    await initBackend('wasm');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    const x = normal(300 * 8, 1);
    const ids = ints(300, 0, 17, 2);
    await expectWasmMatchesCpu(() => tf.unsortedSegmentSum(tf.tensor2d(x, [300, 8]), tf.tensor1d(ids, 'int32'), 17));
  });

  it('drops negative and out-of-range ids, as cpu does', async () => {
    const x = normal(40 * 3, 3);
    const ids = ints(40, -3, 9, 4); // numSegments 6: -3..-1 and 6..8 fall outside
    expect(ids.some((i) => i < 0) && ids.some((i) => i >= 6)).toBe(true);
    await expectWasmMatchesCpu(() => tf.unsortedSegmentSum(tf.tensor2d(x, [40, 3]), tf.tensor1d(ids, 'int32'), 6));
  });

  it('handles 1-D data, higher-rank data and int32 data', async () => {
    await expectWasmMatchesCpu(() => tf.unsortedSegmentSum(tf.tensor1d(normal(50, 5)), tf.tensor1d(ints(50, 0, 7, 6), 'int32'), 7));
    await expectWasmMatchesCpu(() =>
      tf.unsortedSegmentSum(tf.tensor3d(normal(20 * 3 * 2, 7), [20, 3, 2]), tf.tensor1d(ints(20, 0, 5, 8), 'int32'), 5),
    );
    await expectWasmMatchesCpu(() =>
      tf.unsortedSegmentSum(tf.tensor2d(ints(12 * 2, -50, 50, 9), [12, 2], 'int32'), tf.tensor1d(ints(12, 0, 4, 10), 'int32'), 4).cast('float32'),
    );
  });

  it('returns zeros for empty data', async () => {
    await expectWasmMatchesCpu(() => tf.unsortedSegmentSum(tf.zeros([0, 4]), tf.tensor1d([], 'int32'), 3));
    const [values] = await runOn('wasm', () => tf.unsortedSegmentSum(tf.zeros([0, 4]), tf.tensor1d([], 'int32'), 3));
    expect(Array.from(values!)).toEqual(new Array(12).fill(0));
  });

  it('gives the embedding (gather) gradient of cpu', async () => {
    const table = normal(30 * 5, 11);
    const ids = ints(4 * 6, 0, 30, 12);
    const w = normal(4 * 6 * 5, 13);
    await expectWasmMatchesCpu(() =>
      tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor2d(ids, [4, 6], 'int32')).mul(tf.tensor3d(w, [4, 6, 5])).sum())(
        tf.tensor2d(table, [30, 5]),
      ),
    );
  });
});

describe('fast BatchMatMul and _FusedMatMul (wasm)', () => {
  const FLAGS = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const;

  it('replace the stock kernels once', async () => {
    await initBackend('wasm');
    expect(wrapperOf(tf.getKernel('BatchMatMul', 'wasm'))).toBe(FAST_MATMUL);
    expect(wrapperOf(tf.getKernel('_FusedMatMul', 'wasm'))).toBe(FAST_MATMUL);
  });

  it.each(FLAGS)('2-D matMul with transposeA=%s transposeB=%s matches cpu', async (ta, tb) => {
    const [m, k, n] = [7, 33, 5];
    const a = tf.tensor2d(normal(m * k, 20), ta ? [k, m] : [m, k]);
    const b = tf.tensor2d(normal(k * n, 21), tb ? [n, k] : [k, n]);
    await expectWasmMatchesCpu(() => tf.matMul(a, b, ta, tb));
  });

  it.each(FLAGS)('3-D (batched, broadcast) matMul with transposeA=%s transposeB=%s matches cpu', async (ta, tb) => {
    const [batch, m, k, n] = [3, 6, 16, 4];
    const a = tf.tensor3d(normal(batch * m * k, 22), ta ? [batch, k, m] : [batch, m, k]);
    const b = tf.tensor3d(normal(batch * k * n, 23), tb ? [batch, n, k] : [batch, k, n]);
    const b1 = tf.tensor3d(normal(k * n, 24), tb ? [1, n, k] : [1, k, n]);
    await expectWasmMatchesCpu(() => [tf.matMul(a, b, ta, tb), tf.matMul(a, b1, ta, tb)]);
  });

  it.each(FLAGS)('batched matMul large enough to run per batch entry, transposeA=%s transposeB=%s, matches cpu', async (ta, tb) => {
    const [batch, m, k, n] = [3, 32, 24, 40]; // 30720 multiply-adds per entry: above the split threshold
    const a = tf.tensor3d(normal(batch * m * k, 40), ta ? [batch, k, m] : [batch, m, k]);
    const b = tf.tensor3d(normal(batch * k * n, 41), tb ? [batch, n, k] : [batch, k, n]);
    const b1 = tf.tensor3d(normal(k * n, 42), tb ? [1, n, k] : [1, k, n]);
    const a1 = tf.tensor3d(normal(m * k, 43), ta ? [1, k, m] : [1, m, k]);
    const b2 = tf.tensor2d(normal(k * n, 44), tb ? [n, k] : [k, n]);
    await expectWasmMatchesCpu(() => [tf.matMul(a, b, ta, tb), tf.matMul(a, b1, ta, tb), tf.matMul(a1, b, ta, tb), tf.matMul(a, b2, ta, tb)]);
  });

  it('4-D batches (attention heads) and partly broadcast batch dims match cpu', async () => {
    const [m, k, n] = [32, 32, 32];
    const a = tf.tensor4d(normal(2 * 3 * m * k, 45), [2, 3, m, k]);
    const b = tf.tensor4d(normal(2 * 3 * k * n, 46), [2, 3, k, n]);
    const a21 = tf.tensor4d(normal(2 * m * k, 47), [2, 1, m, k]);
    const b13 = tf.tensor4d(normal(3 * k * n, 48), [1, 3, k, n]);
    await expectWasmMatchesCpu(() => [tf.matMul(a, b), tf.matMul(a, b, false, true), tf.matMul(a21, b13)]);
  });

  it('handles size-1 dims (where Transpose degenerates to a copy)', async () => {
    const a = tf.tensor3d(normal(2 * 1 * 8, 25), [2, 8, 1]);
    const b = tf.tensor3d(normal(2 * 8 * 1, 26), [2, 1, 8]);
    await expectWasmMatchesCpu(() => [tf.matMul(a, b, true, true), tf.matMul(a, a, true, false)]);
  });

  it.each(FLAGS)('fused matMul (bias, relu) with transposeA=%s transposeB=%s and its gradient match cpu', async (ta, tb) => {
    const [m, k, n] = [6, 12, 5];
    const a = tf.tensor2d(normal(m * k, 27), ta ? [k, m] : [m, k]);
    const b = tf.tensor2d(normal(k * n, 28), tb ? [n, k] : [k, n]);
    const bias = tf.tensor1d(normal(n, 29));
    const fused = (x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor1D) =>
      tf.fused.matMul({ a: x, b: y, bias: z, transposeA: ta, transposeB: tb, activation: 'relu' });
    await expectWasmMatchesCpu(() => [fused(a, b, bias), ...tf.grads((x, y, z) => fused(x as tf.Tensor2D, y as tf.Tensor2D, z as tf.Tensor1D).sum())([a, b, bias])]);
  });

  it('frees its transposed intermediates and batch views', async () => {
    await initBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const a = tf.tensor3d(normal(2 * 8 * 4, 30), [2, 8, 4]);
    const b = tf.tensor3d(normal(2 * 8 * 4, 31), [2, 8, 4]);
    const c = tf.tensor3d(normal(2 * 4 * 8, 32), [2, 4, 8]);
    const a2 = a.reshape([16, 4]);
    const bias = tf.zeros([4]);
    const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
    tf.matMul(a, b, true, false).dispose();
    tf.matMul(a, b, false, true).dispose();
    tf.matMul(a, c, true, true).dispose();
    tf.fused.matMul({ a: a2, b: a2, transposeA: true, bias, activation: 'relu' }).dispose();
    const big = [tf.randomNormal([4, 32, 32]), tf.randomNormal([4, 32, 32])] as const; // split per entry
    const beforeBig = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
    tf.matMul(big[0], big[1]).dispose();
    tf.matMul(big[0], big[1], true, true).dispose();
    tf.dispose(tf.tidy(() => tf.grads((x, y) => tf.matMul(x, y, false, true).sum())([...big])));
    expect(tf.memory().numTensors).toBe(beforeBig.tensors);
    expect(backend.numDataIds()).toBe(beforeBig.data);
    tf.dispose([...big]);
    tf.dispose(tf.tidy(() => tf.grads((x, y) => tf.matMul(x, y, false, true).sum())([a, b])));
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(backend.numDataIds()).toBe(before.data);
  });
});

/** The JS Transpose on wasm matches cpu for every permutation class (shared, runs, blocked, stock) and shares data when nothing moves. */
import { describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../tf.js';
import { initBackend } from '../init.js';
import { ints, normal, relativeError, runOn } from '../__fixtures__/numerics.js';
import { canonicalPermutation, FAST_TRANSPOSE } from './kernels/transpose.js';
import { wrapperOf } from './kernels/wrap_kernel.js';

describe('fast Transpose (wasm)', () => {
  it('is registered', async () => {
    await initBackend('wasm');
    expect(wrapperOf(tf.getKernel('Transpose', 'wasm'))).toBe(FAST_TRANSPOSE);
  });

  it('canonicalises permutations', () => {
    expect(canonicalPermutation([3, 4], [1, 0])).toEqual({ shape: [3, 4], perm: [1, 0] });
    expect(canonicalPermutation([2, 1, 3, 4], [1, 0, 2, 3])).toEqual({ shape: [24], perm: [0] });
    expect(canonicalPermutation([2, 5, 3, 4], [0, 2, 3, 1])).toEqual({ shape: [2, 5, 12], perm: [0, 2, 1] });
    expect(canonicalPermutation([2, 5, 3, 4], [0, 2, 1, 3])).toEqual({ shape: [2, 5, 3, 4], perm: [0, 2, 1, 3] });
    expect(canonicalPermutation([2, 5, 3, 4], [0, 3, 1, 2])).toEqual({ shape: [2, 15, 4], perm: [0, 2, 1] });
    expect(canonicalPermutation([1, 1], [1, 0])).toEqual({ shape: [], perm: [] });
  });

  const shapes: [number[], number[]][] = [
    [[37, 45], [1, 0]], // blocked, sizes not multiples of the block
    [[133, 70], [1, 0]], // several blocks, eight-row passes and a remainder
    [[3, 70, 33], [0, 2, 1]], // batched blocked
    [[2, 5, 3, 4], [0, 2, 1, 3]], // runs (attention heads)
    [[2, 5, 3, 4], [0, 2, 3, 1]], // merged to a batched swap (Kᵀ)
    [[2, 5, 3, 4], [0, 3, 1, 2]], // its inverse
    [[2, 5, 3, 4], [3, 2, 1, 0]], // stock kernel
    [[2, 1, 3, 4], [1, 0, 2, 3]], // no data moves
    [[4, 1, 6], [2, 1, 0]], // size-1 axis in the middle
    [[0, 3], [1, 0]], // empty
  ];
  it.each(shapes)('transpose of %j by %j matches cpu', async (shape, perm) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const f = () => [tf.transpose(tf.tensor(normal(size, 9), shape), perm), tf.transpose(tf.tensor(ints(size, -99, 99, 10), shape, 'int32'), perm).cast('float32')];
    const expected = await runOn('cpu', f);
    const actual = await runOn('wasm', f);
    actual.forEach((values, i) => expect(Array.from(values)).toEqual(Array.from(expected[i]!)));
    await initBackend('wasm');
    const out = tf.transpose(tf.zeros(shape), perm);
    expect(out.shape).toEqual(perm.map((a) => shape[a]));
    out.dispose();
  });

  it('shares the data only for the identity permutation', async () => {
    await initBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const t = tf.tensor4d(normal(24, 5), [2, 1, 3, 4]);
    const dataBefore = backend.numDataIds();
    const same = tf.transpose(t, [0, 1, 2, 3]);
    expect(backend.numDataIds()).toBe(dataBefore);
    const sizeOneMoved = tf.transpose(t, [1, 0, 2, 3]); // same bytes, other shape: copied
    expect(sizeOneMoved.shape).toEqual([1, 2, 3, 4]);
    expect(backend.numDataIds()).toBe(dataBefore + 1);
    tf.dispose([t, same, sizeOneMoved]);
  });

  it('a weight [k,1] used as B, then transposed as B (dX of a 1-output head), matches cpu', async () => {
    // Regression: sharing the id of w under the shape [1,k] reused XNNPACK's operator packed for [k,1].
    const [n, k] = [5, 7];
    const f = () => {
      const x = tf.tensor2d(normal(n * k, 11), [n, k]);
      const w = tf.tensor2d(normal(k, 12), [k, 1]);
      const dy = tf.tensor2d(normal(n, 13), [n, 1]);
      return [tf.matMul(x, w), tf.matMul(dy, w, false, true)];
    };
    const expected = await runOn('cpu', f);
    const actual = await runOn('wasm', f);
    actual.forEach((values, i) => expect(relativeError(values, expected[i]!)).toBeLessThan(1e-5));
  });
});

/**
 * Zero-copy Identity / same-dtype Cast on wasm: same values, shared data, independent lifetimes,
 * real conversions still convert, and gradients (whose tape clones every saved tensor) are unchanged.
 */
import { describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../tf.js';
import { initBackend } from '../init.js';
import { normal, relativeError, runOn } from '../__fixtures__/numerics.js';
import { ZERO_COPY } from './kernels/zero_copy.js';
import { wrapperOf } from './kernels/wrap_kernel.js';

describe('zero-copy Identity and Cast (wasm)', () => {
  it('replace the stock kernels once', async () => {
    await initBackend('wasm');
    expect(wrapperOf(tf.getKernel('Identity', 'wasm'))).toBe(ZERO_COPY);
    expect(wrapperOf(tf.getKernel('Cast', 'wasm'))).toBe(ZERO_COPY);
  });

  it('clone and same-dtype cast share the data and outlive the original', async () => {
    await initBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor2d([1, 2, 3, 4.5], [2, 2]);
    const dataBefore = backend.numDataIds();
    const copy = tf.clone(x);
    const cast = tf.cast(x, 'float32');
    expect(backend.numDataIds()).toBe(dataBefore); // no new buffers
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3, 4.5]);
    copy.dispose();
    expect(Array.from(cast.dataSync())).toEqual([1, 2, 3, 4.5]);
    cast.dispose();
    expect(backend.numDataIds()).toBe(dataBefore - 1); // the last owner freed it
  });

  it('casts that change the dtype still convert', async () => {
    await initBackend('wasm');
    const f = tf.tensor1d([1.7, -2.2, 0, 3]);
    const i = tf.cast(f, 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 0, 3]);
    const back = tf.cast(i, 'float32');
    expect(back.dtype).toBe('float32');
    expect(Array.from(back.dataSync())).toEqual([1, -2, 0, 3]);
    tf.dispose([f, i, back]);
  });

  it('gradients through ops whose saved tensors are cloned match cpu', async () => {
    const x = normal(6 * 5, 3);
    const w = normal(5 * 4, 4);
    const f = () => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.softmax(tf.tanh(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)).mul(a.sum(1, true))).square()));
      return g([tf.tensor2d(x, [6, 5]), tf.tensor2d(w, [5, 4])]);
    };
    const expected = await runOn('cpu', f);
    const actual = await runOn('wasm', f);
    actual.forEach((values, k) => expect(relativeError(values, expected[k]!)).toBeLessThan(1e-5));
  });
});

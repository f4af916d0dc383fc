/** Sum over leading/middle axes on wasm (no transpose) matches cpu, keepDims included; other sums still work. */
import { describe, expect, it } from 'vitest';
import { tf } from '../../tf.js';
import { initBackend } from '../init.js';
import { normal, relativeError, runOn } from '../__fixtures__/numerics.js';
import { SUM_OUTER, outerReduction } from './kernels/sum_outer.js';
import { wrapperOf } from './kernels/wrap_kernel.js';

describe('Sum over outer axes (wasm)', () => {
  it('is registered', async () => {
    await initBackend('wasm');
    expect(wrapperOf(tf.getKernel('Sum', 'wasm'))).toBe(SUM_OUTER);
  });

  it('recognises contiguous non-innermost reductions', () => {
    expect(outerReduction([5, 7], [0])).toEqual([1, 5, 7]);
    expect(outerReduction([2, 3, 4], [0, 1])).toEqual([1, 6, 4]);
    expect(outerReduction([2, 3, 4], [1])).toEqual([2, 3, 4]);
    expect(outerReduction([2, 3, 4], [2])).toBeNull(); // innermost: the stock kernel is fast
    expect(outerReduction([2, 3, 4], [0, 2])).toBeNull(); // not contiguous
    expect(outerReduction([2, 3, 4], [])).toBeNull();
  });

  const cases: [number[], number | number[] | undefined, boolean][] = [
    [[64, 33], 0, false],
    [[67, 5], 0, false], // rows not a multiple of 8
    [[64, 33], 0, true],
    [[4, 16, 9], [0, 1], false],
    [[4, 16, 9], 1, true],
    [[4, 16, 9], -1, false],
    [[4, 16, 9], [0, 2], false],
    [[4, 16, 9], undefined, false],
    [[0, 5], 0, false],
  ];
  it.each(cases)('sum of %j over %j (keepDims %s) matches cpu', async (shape, axis, keepDims) => {
    const x = normal(shape.reduce((a, b) => a * b, 1), 7);
    const f = () => tf.sum(tf.tensor(x, shape), axis, keepDims);
    const [expected] = await runOn('cpu', f);
    const [actual] = await runOn('wasm', f);
    expect(actual!.length).toBe(expected!.length);
    if (expected!.length > 0) expect(relativeError(actual!, expected!)).toBeLessThan(1e-5);
    await initBackend('wasm');
    const out = f();
    expect(out.shape).toEqual(tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims)).shape);
    out.dispose();
  });

  it('leaves int32 sums to the stock kernel', async () => {
    await initBackend('wasm');
    const s = tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([9, 12]);
    s.dispose();
  });
});

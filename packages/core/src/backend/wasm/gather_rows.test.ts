/** Row gathers (embedding lookups) on wasm match cpu, reject bad ids clearly, and defer other gathers to the stock kernel. */
import { describe, expect, it } from 'vitest';
import { tf } from '../../tf.js';
import { initBackend } from '../init.js';
import { ints, normal, runOn } from '../__fixtures__/numerics.js';
import { GATHER_ROWS } from './kernels/gather_rows.js';
import { wrapperOf } from './kernels/wrap_kernel.js';

describe('GatherV2 by rows (wasm)', () => {
  it('is registered', async () => {
    await initBackend('wasm');
    expect(wrapperOf(tf.getKernel('GatherV2', 'wasm'))).toBe(GATHER_ROWS);
  });

  const table = normal(50 * 6, 3);
  const cases: [string, () => tf.Tensor][] = [
    ['1-D ids, repeated', () => tf.gather(tf.tensor2d(table, [50, 6]), tf.tensor1d(ints(37, 0, 50, 4), 'int32'))],
    ['2-D ids', () => tf.gather(tf.tensor2d(table, [50, 6]), tf.tensor2d(ints(12, 0, 50, 5), [3, 4], 'int32'))],
    ['3-D table', () => tf.gather(tf.tensor3d(table, [50, 3, 2]), tf.tensor1d(ints(9, 0, 50, 6), 'int32'))],
    ['int32 table', () => tf.gather(tf.tensor2d(ints(20, -9, 9, 7), [10, 2], 'int32'), tf.tensor1d([9, 0, 3], 'int32')).cast('float32')],
    ['axis 1 (stock kernel)', () => tf.gather(tf.tensor2d(table, [50, 6]), tf.tensor1d([5, 0, 2], 'int32'), 1)],
  ];
  it.each(cases)('%s matches cpu exactly', async (_, f) => {
    const [expected] = await runOn('cpu', f);
    const [actual] = await runOn('wasm', f);
    expect(Array.from(actual!)).toEqual(Array.from(expected!));
  });

  it('rejects an out-of-range id and leaks nothing', async () => {
    await initBackend('wasm');
    const x = tf.tensor2d(table, [50, 6]);
    const ids = tf.tensor1d([3, 50], 'int32');
    const before = tf.memory().numTensors;
    expect(() => tf.gather(x, ids)).toThrow(/index value 50 is not in \[0, 49\]/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ids]);
  });
});

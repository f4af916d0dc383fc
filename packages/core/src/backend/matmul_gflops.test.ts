import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from './init.js';
import { measureMatmulGflops } from './matmul_gflops.js';
import { TEST_BACKENDS } from './__fixtures__/numerics.js';

describe.each(TEST_BACKENDS)('measureMatmulGflops on %s', (backend) => {
  it('times batched, transposed matmuls and leaks no tensor', async () => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const r = await measureMatmulGflops({ m: 24, k: 16, n: 8, batch: 2, transposeA: true, transposeB: true, minTimeMs: 0, minIterations: 2 });
    expect(r).toMatchObject({ backend, m: 24, k: 16, n: 8, batch: 2, transposeA: true, transposeB: true });
    expect(r.iterations).toBeGreaterThanOrEqual(2);
    expect(r.gflops).toBeGreaterThan(0);
    expect(r.gflops).toBeCloseTo((2 * 2 * 24 * 16 * 8) / (r.msPerMatmul * 1e6), 6);
    expect(tf.memory().numTensors).toBe(before);
  });
});

it('rejects shapes that are not positive integers', async () => {
  await expect(measureMatmulGflops({ m: 0 })).rejects.toThrow('measureMatmulGflops: m must be a positive integer, got 0');
});

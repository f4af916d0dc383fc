/** The custom-gradient GELU gives the values and gradients of the op-by-op one, on wasm and cpu. */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { normal, relativeError } from '../backend/__fixtures__/numerics.js';
import { gelu, geluReference } from './gelu.js';

describe.each(['wasm', 'cpu'] as const)('gelu (%s)', (backend) => {
  it('matches the op-by-op GELU and its gradient', async () => {
    await initBackend(backend);
    const x = tf.tensor2d(normal(40 * 7, 5).map((v) => 3 * v), [40, 7]);
    const w = tf.tensor2d(normal(40 * 7, 6), [40, 7]);
    const before = tf.memory().numTensors;
    const run = (f: typeof gelu) =>
      tf.tidy(() => [f(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(w, f(a))))(x)].map((t) => t.dataSync().slice()));
    const actual = run(gelu);
    const expected = run(geluReference);
    expect(tf.memory().numTensors).toBe(before);
    actual.forEach((values, i) => expect(relativeError(values, expected[i]!), `output ${i}`).toBeLessThan(1e-5));
    // Known values: gelu(0) = 0, gelu(1) = Φ(1) = 0.8413447, gelu'(0) = 0.5.
    const at = tf.tidy(() => gelu(tf.tensor1d([0, 1])));
    const slope = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(gelu(a)))(tf.tensor1d([0])));
    expect(at.dataSync()[0]).toBeCloseTo(0, 7);
    expect(at.dataSync()[1]).toBeCloseTo(0.8413447, 6);
    expect(slope.dataSync()[0]).toBeCloseTo(0.5, 6);
    tf.dispose([x, w, at, slope]);
  });
});

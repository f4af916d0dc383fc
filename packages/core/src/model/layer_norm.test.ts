/** The custom-gradient LayerNorm gives the values and gradients of the op-by-op one, on wasm and cpu. */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { normal, relativeError } from '../backend/__fixtures__/numerics.js';
import { layerNorm, layerNormReference } from './layer_norm.js';

describe.each(['wasm', 'cpu'] as const)('layerNorm (%s)', (backend) => {
  it.each([[[6, 10]], [[2, 3, 16]]])('matches the op-by-op LayerNorm and its gradients for x of shape %j', async (shape) => {
    await initBackend(backend);
    const d = shape[shape.length - 1]!;
    const size = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(normal(size, 1).map((v, i) => 3 * v + (i % d)), shape); // offset rows: the mean matters
    const gamma = tf.tensor1d(normal(d, 2).map((v) => 1 + 0.3 * v));
    const beta = tf.tensor1d(normal(d, 3));
    const w = tf.tensor(normal(size, 4), shape); // a non-trivial downstream loss: Σ w·y²
    const before = tf.memory().numTensors;
    const run = (f: typeof layerNorm) =>
      tf.tidy(() => {
        const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(w, tf.square(f(a, g, b))));
        return [f(x, gamma, beta), ...tf.grads(loss)([x, gamma, beta])].map((t) => t.dataSync().slice());
      });
    const actual = run(layerNorm);
    const expected = run(layerNormReference);
    expect(tf.memory().numTensors).toBe(before);
    actual.forEach((values, i) => expect(relativeError(values, expected[i]!), `output ${i}`).toBeLessThan(1e-5));
    tf.dispose([x, gamma, beta, w]);
  });
});

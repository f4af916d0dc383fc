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

describe('layerNorm ε', () => {
  it('uses the ε it is given (a checkpoint with layer_norm_eps other than 1e-12), in the values and the gradient', async () => {
    await initBackend('cpu');
    // Small variance, large ε: the result depends on ε visibly. Expected computed here in plain JS.
    const row = [0.1, -0.2, 0.05, 0.3];
    const eps = 0.01;
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    const expected = row.map((v) => (v - mean) / Math.sqrt(variance + eps));
    const x = tf.tensor2d([row]);
    const ones = tf.ones([4]);
    const zeros = tf.zeros([4]);
    const actual = tf.tidy(() => layerNorm(x, ones, zeros, eps).dataSync().slice());
    const reference = tf.tidy(() => layerNormReference(x, ones, zeros, eps).dataSync().slice());
    const gradient = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, layerNorm(a, ones, zeros, eps))))(x).dataSync().slice());
    const gradientRef = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, layerNormReference(a, ones, zeros, eps))))(x).dataSync().slice());
    [...actual].forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    [...reference].forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    [...gradient].forEach((v, i) => expect(v).toBeCloseTo(gradientRef[i]!, 4));
    tf.dispose([x, ones, zeros]);
  });
});

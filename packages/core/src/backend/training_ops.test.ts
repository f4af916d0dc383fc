/**
 * Every op BERT training uses runs forward and backward on each backend, with every kernel it needs
 * registered (tfjs would throw "Kernel 'X' not registered for backend 'wasm'"); gradients agree with
 * finite differences; wasm agrees with cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from './init.js';
import { TEST_BACKENDS, ints, normal, relativeError, runOn } from './__fixtures__/numerics.js';

const SHAPE = [2, 3, 4];
const SIZE = 24;

interface OpCase {
  name: string;
  /** Differentiable in x: y = f(x); the test takes d/dx sum(y * w). */
  f: (x: tf.Tensor) => tf.Tensor;
  /** Output depends on random numbers (dropout): only run it, do not compare backends. */
  random?: boolean;
  /** Piecewise-constant or kinked near the sample (sign, topk ties...): skip the finite-difference check. */
  noFiniteDifference?: boolean;
}

const ids = () => tf.tensor2d(ints(2 * 5, 0, 6, 99), [2, 5], 'int32');
const positive = (x: tf.Tensor) => x.square().add(0.5); // smooth, for finite differences

const OPS: OpCase[] = [
  { name: 'gather (embedding lookup)', f: (x) => tf.gather(x.reshape([6, 4]), ids()) },
  { name: 'matMul 2-D', f: (x) => tf.matMul(x.reshape([6, 4]), x.reshape([4, 6])) },
  { name: 'matMul 3-D batched, transposeB (attention scores)', f: (x) => tf.matMul(x, x, false, true) },
  { name: 'matMul 3-D batched, transposeA', f: (x) => tf.matMul(x, x.mul(2), true, false) },
  { name: 'matMul 3-D x 2-D weight (broadcast gradient)', f: (x) => tf.matMul(x, x.slice([0, 0, 0], [1, 3, 4]).reshape([4, 3])) },
  { name: 'matMul 2-D x 3-D, both transposed', f: (x) => tf.matMul(x.slice([0, 0, 0], [1, 3, 4]).reshape([4, 3]), x, true, true) },
  { name: 'fused matMul with bias', f: (x) => tf.fused.matMul({ a: x.reshape([6, 4]), b: x.reshape([4, 6]), bias: x.reshape([-1]).slice(0, 6) }) },
  { name: 'reshape, transpose', f: (x) => x.reshape([2, 3, 2, 2]).transpose([0, 2, 1, 3]) },
  { name: 'add, sub, mul, div (broadcast)', f: (x) => x.add(x.mean(-1, true)).sub(x.mul(0.5)).mul(x).div(positive(x.sum(0))) },
  { name: 'square, sqrt, rsqrt', f: (x) => x.square().add(1).sqrt().add(positive(x).rsqrt()) },
  { name: 'mean, sum', f: (x) => x.mean(-1, true).add(x.sum([0, 1])) },
  { name: 'max', f: (x) => x.max(-1, true).add(x.max()) },
  { name: 'exp, log', f: (x) => x.exp().add(positive(x).log()) },
  { name: 'softmax', f: (x) => tf.softmax(x) },
  { name: 'logSoftmax', f: (x) => tf.logSoftmax(x) },
  { name: 'erf (GELU)', f: (x) => x.mul(0.5).mul(tf.erf(x.div(Math.SQRT2)).add(1)) },
  { name: 'tanh (GELU approximation)', f: (x) => x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)) },
  { name: 'pow', f: (x) => tf.pow(positive(x), 1.5).add(tf.pow(positive(x), x)) },
  { name: 'dropout', f: (x) => tf.dropout(x, 0.25), random: true },
  { name: 'oneHot (cross-entropy)', f: (x) => tf.oneHot(tf.tensor1d([0, 3, 1, 2, 2, 0], 'int32'), 4).mul(tf.logSoftmax(x.reshape([6, 4]))).neg() },
  { name: 'cast', f: (x) => x.add(x.cast('int32').cast('float32')), noFiniteDifference: true },
  { name: 'where, greater, less, equal, notEqual', f: (x) => tf.where(x.greater(0), x, x.neg()).add(tf.where(x.less(0.3), x, x.mul(2))).add(tf.where(x.equal(x), x, x)).add(tf.where(x.notEqual(0), x.square(), x)), noFiniteDifference: true },
  { name: 'mask from a trained tensor (greaterEqual, lessEqual, logicalAnd)', f: (x) => x.mul(tf.logicalAnd(x.greaterEqual(-0.5), x.lessEqual(0.5)).cast('float32')), noFiniteDifference: true },
  { name: 'clipByValue', f: (x) => tf.clipByValue(x, -0.5, 0.5), noFiniteDifference: true },
  { name: 'minimum, maximum', f: (x) => tf.minimum(x, 0.3).add(tf.maximum(x, -0.2)), noFiniteDifference: true },
  { name: 'concat', f: (x) => tf.concat([x, x.mul(2)], -1) },
  { name: 'slice', f: (x) => x.slice([0, 1, 1], [2, 2, 3]) },
  { name: 'tile', f: (x) => x.tile([1, 2, 1]) },
  { name: 'expandDims, squeeze', f: (x) => x.expandDims(1).squeeze([1]) },
  { name: 'stack, unstack', f: (x) => tf.stack([x, x.mul(3)], 1).add(tf.unstack(x, 1)[0]!.expandDims(1).expandDims(1)) },
  { name: 'sign, abs, neg', f: (x) => x.sign().mul(x).add(x.abs()).add(x.neg()), noFiniteDifference: true },
  { name: 'topk values', f: (x) => tf.topk(x, 2).values.mul(tf.tensor1d([1, -2])) },
  { name: 'split', f: (x) => tf.split(x, 2, 2)[1]! },
  { name: 'sigmoid, relu', f: (x) => tf.sigmoid(x).add(tf.relu(x)), noFiniteDifference: true },
  { name: 'moments (layer norm)', f: (x) => { const { mean, variance } = tf.moments(x, -1, true); return x.sub(mean).mul(variance.add(1e-5).rsqrt()); } },
];

const X = normal(SIZE, 7);
const W = (n: number) => normal(n, 8);

/** [y, dsum(y*w)/dx] for one op on the active backend. */
function forwardBackward(op: OpCase): tf.Tensor[] {
  const x = tf.tensor(X, SHAPE);
  const y = op.f(x);
  const w = tf.tensor(W(y.size), y.shape);
  const dx = tf.grad((t: tf.Tensor) => op.f(t).mul(w).sum())(x);
  return [y, dx];
}

describe.each(TEST_BACKENDS)('training ops on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each(OPS)('$name: forward and backward run with registered kernels', async (op) => {
    await initBackend(backend);
    const profile = await tf.profile(() => tf.dispose(forwardBackward(op)));
    // Names ending in __op are customGrad wrappers (fused matMul, logSoftmax), not kernels.
    const kernels = profile.kernelNames.filter((name) => !name.endsWith('__op'));
    expect(kernels.length).toBeGreaterThan(0);
    const missing = kernels.filter((name) => tf.getKernel(name, backend) == null);
    expect(missing).toEqual([]);
    const [y, dx] = await runOn(backend, () => forwardBackward(op));
    expect(y!.every(Number.isFinite)).toBe(true);
    expect(dx!.length).toBe(SIZE);
    expect(dx!.every(Number.isFinite)).toBe(true);
  });

  it.each(OPS.filter((op) => !op.random && !op.noFiniteDifference))('$name: gradient matches finite differences', async (op) => {
    // Directional derivative along a random v: (L(x + ev) - L(x - ev)) / 2e against <dL/dx, v>.
    const v = normal(SIZE, 9);
    const eps = 1e-2;
    const loss = (shift: number) => () => {
      const x = tf.tensor(X, SHAPE).add(tf.tensor(v, SHAPE).mul(shift));
      const y = op.f(x);
      return y.mul(tf.tensor(W(y.size), y.shape)).sum();
    };
    const [[plus], [minus], [, dx]] = [await runOn(backend, loss(eps)), await runOn(backend, loss(-eps)), await runOn(backend, () => forwardBackward(op))];
    const numeric = (plus![0]! - minus![0]!) / (2 * eps);
    const analytic = dx!.reduce((acc, g, i) => acc + g * v[i]!, 0);
    expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
  });
});

describe('training ops: wasm matches cpu', () => {
  it.each(OPS.filter((op) => !op.random))('$name', async (op) => {
    const expected = await runOn('cpu', () => forwardBackward(op));
    const actual = await runOn('wasm', () => forwardBackward(op));
    expect(relativeError(actual[0]!, expected[0]!), 'forward').toBeLessThan(1e-5);
    expect(relativeError(actual[1]!, expected[1]!), 'gradient').toBeLessThan(1e-5);
  });

  it('topk gradient scatters dy to the selected positions', async () => {
    for (const backend of TEST_BACKENDS) {
      const [dx] = await runOn(backend, () =>
        tf.grad((t: tf.Tensor) => tf.topk(t, 2).values.mul(tf.tensor2d([[1, -2], [3, 4]])).sum())(tf.tensor2d([[0.1, 0.9, 0.5], [3, 2, 1]])),
      );
      expect(Array.from(dx!), backend).toEqual([0, 1, -2, 3, 4, 0]);
    }
  });

  it('dropout keeps about 1 - rate of the units, scaled by 1 / (1 - rate), and its gradient is the same mask', async () => {
    for (const backend of TEST_BACKENDS) {
      const [y, dx] = await runOn(backend, () => {
        const x = tf.ones([4000]);
        const seed = 5;
        return [tf.dropout(x, 0.25, undefined, seed), tf.grad((t: tf.Tensor) => tf.dropout(t, 0.25, undefined, seed).sum())(x)];
      });
      const kept = y!.filter((v) => v !== 0);
      expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6), backend).toBe(true);
      expect(Math.abs(kept.length / 4000 - 0.75), backend).toBeLessThan(0.03);
      expect(Array.from(dx!), backend).toEqual(Array.from(y!));
    }
  });
});

/**
 * LayerNorm over the last axis with a hand-written gradient. Differentiated op by op, LayerNorm put
 * ~30 nodes on the tape per call, and tfjs's Mean gradient builds a JS array of ones the size of x
 * and uploads it (twice per call): ~13 calls per micro-batch made it several percent of a small
 * training step. Here the forward is not taped, it saves x̂ and 1/σ, and the backward is the
 * closed form (N = size of the last axis, g = dy·γ):
 *   dx = (1/σ)·( g − mean(g) − x̂·mean(g·x̂) ),  dγ = Σ dy·x̂,  dβ = Σ dy   (Σ over all rows)
 */
import { tf } from '../tf.js';

/** gbp's default ε (BERT's); a model's config may set another (ModelConfig.layer_norm_eps). */
export const LAYER_NORM_EPS = 1e-12;

const makeLayerNormOp = (eps: number) => tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
  const normed = tf.mul(centered, rstd);
  save([normed, rstd, gamma]);
  return {
    value: tf.add(tf.mul(normed, gamma), beta),
    gradFunc: (g0: tf.Tensor, saved: tf.Tensor[]) => {
      const [xhat, inv, gam] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const rows = g0.shape.slice(0, -1).map((_, i) => i);
      const g = tf.mul(g0, gam);
      const dx = tf.mul(inv, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
      return [dx, tf.sum(tf.mul(g0, xhat), rows), tf.sum(g0, rows)];
    },
  };
});

// One op per ε, built once: ε is a constant of the closure, not a tensor input, so it gets no gradient.
const opsByEps = new Map<number, ReturnType<typeof makeLayerNormOp>>([[LAYER_NORM_EPS, makeLayerNormOp(LAYER_NORM_EPS)]]);

/** (x − mean)/√(var + ε)·γ + β over the last axis; γ and β have the last axis' size. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number = LAYER_NORM_EPS): tf.Tensor {
  let op = opsByEps.get(eps);
  if (op === undefined) opsByEps.set(eps, (op = makeLayerNormOp(eps)));
  return op(x, gamma, beta) as tf.Tensor;
}

/** The same function differentiated op by op (the reference the tests compare against). */
export function layerNormReference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number = LAYER_NORM_EPS): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

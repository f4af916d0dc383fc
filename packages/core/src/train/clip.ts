import { tf } from '../tf.js';

/**
 * Global-norm clipping: scales every gradient by min(1, maxNorm / ‖g‖) where ‖g‖ is the L2 norm
 * over all of them together. Returns new tensors (the caller disposes inputs and outputs) and the
 * norm before clipping. `maxNorm` 0 disables clipping. Stays on the device: no read-back.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const squares = grads.map((g) => tf.sum(tf.square(g)));
    const norm = tf.sqrt(tf.addN(squares)) as tf.Scalar;
    if (!(maxNorm > 0)) return { grads: grads.map((g) => tf.clone(g)), norm };
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}

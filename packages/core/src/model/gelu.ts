/**
 * erf-form GELU, as in the original BERT: gelu(x) = x·Φ(x), Φ(x) = ½·(1 + erf(x/√2)), with a
 * hand-written gradient: d gelu/dx = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π). Differentiated op by
 * op it taped five kernels and ran erf's gradient besides; here the forward is not taped and the
 * backward reuses the saved Φ.
 */
import { tf } from '../tf.js';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(x), the standard normal CDF. */
function normalCdf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
}

const geluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const cdf = normalCdf(x);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, phi] = saved as [tf.Tensor, tf.Tensor];
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), INV_SQRT_2PI);
      return [tf.mul(dy, tf.add(phi, tf.mul(xs, pdf)))];
    },
  };
});

export function gelu(x: tf.Tensor): tf.Tensor {
  return geluOp(x) as tf.Tensor;
}

/** The same function differentiated op by op (the reference the tests compare against). */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, normalCdf(x));
}

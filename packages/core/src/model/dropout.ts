/**
 * Inverted dropout whose keep-mask comes from gbp's Rng: y = x · m with m = 1/(1−rate) where the
 * next 32-bit draw of `new Rng(seed)` is below (1−rate)·2³², else 0. tf.dropout draws its mask with
 * seedrandom's alea through a per-element method call and then runs four kernels to shape it
 * (~10 ms per million elements on wasm); the small model drops ~12M activations per micro-batch of
 * 8 x 128 tokens, ~5% of a training step. Here the generator (xoshiro128**, the same stream as
 * Rng.nextUint32) runs on local variables, and the mask is uploaded once and multiplied in.
 */
import { tf } from '../tf.js';
import { Rng } from '../rng.js';

/** The multiplier of `dropout`: `size` values in {0, 1/(1−rate)}, deterministic in `seed`. */
export function dropoutMask(size: number, rate: number, seed: number): Float32Array {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  const keep = 1 - rate;
  const threshold = keep * 4294967296;
  const scale = 1 / keep;
  let [s0, s1, s2, s3] = new Rng(seed).state();
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    // xoshiro128**, exactly as Rng.nextUint32, with the state in locals.
    const m = Math.imul(s1, 5);
    const draw = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    mask[i] = draw < threshold ? scale : 0;
  }
  return mask;
}

/** Inverted dropout of `x` at `rate` (0 returns x). Call inside tf.tidy or a gradient function. */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate === 0) return x;
  return tf.mul(x, tf.tensor(dropoutMask(x.size, rate, seed), x.shape, 'float32'));
}

/**
 * GatedDense: y = x · (W ⊙ M) + b with M a non-trainable 0/1 mask of W's shape. The trainer forms
 * W ⊙ M once per step and differentiates with respect to it (the dense gate gradients pruners see).
 */
import { tf } from '../tf.js';
import type { Gate } from './gate.js';

export class GatedDense implements Gate {
  readonly size: number;
  readonly mask: tf.Variable;

  constructor(
    readonly name: string,
    readonly weight: tf.Variable,
    readonly bias: tf.Variable,
  ) {
    const [n, m] = weight.shape as [number, number];
    if (weight.rank !== 2) throw new Error(`gate ${name}: weight must be 2-D, got shape [${weight.shape.join(', ')}]`);
    this.size = n * m;
    const ones = tf.ones([n, m]);
    this.mask = tf.variable(ones, false);
    ones.dispose();
  }

  get shape(): readonly [number, number] {
    return this.weight.shape as [number, number];
  }

  /** W ⊙ M, the weight the layer multiplies by. */
  effective(): tf.Tensor2D {
    return tf.mul(this.weight, this.mask) as tf.Tensor2D;
  }

  setMask(mask: tf.Tensor | Float32Array | Uint8Array): void {
    const [n, m] = this.shape;
    let values: Float32Array | Uint8Array | Int32Array;
    if (mask instanceof tf.Tensor) {
      if (mask.shape.length !== 2 || mask.shape[0] !== n || mask.shape[1] !== m) {
        throw new Error(`gate ${this.name}: setMask expects shape [${n}, ${m}], got [${mask.shape.join(', ')}]`);
      }
      values = mask.dataSync() as Float32Array | Int32Array | Uint8Array;
    } else {
      if (mask.length !== this.size) {
        throw new Error(`gate ${this.name}: setMask expects ${this.size} values ([${n}, ${m}]), got ${mask.length}`);
      }
      values = mask;
    }
    const out = new Float32Array(this.size);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== 0 && v !== 1) throw new Error(`gate ${this.name}: setMask expects only 0 or 1, got ${v} at index ${i}`);
      out[i] = v;
    }
    const next = tf.tensor2d(out, [n, m]);
    this.mask.assign(next);
    next.dispose();
  }
}

/**
 * BatchMatMul gradient that also handles broadcast batch dimensions. tfjs 4.22's gradient does not
 * reduce them: d/dW of matMul(x[B,T,d], W[d,n]) comes out [B,d,n] and the tape throws "gradient of
 * input 'b' has shape '2,4,3', which does not match the shape of the input '4,3'". Same formulas as
 * tfjs, then summed back to each input's shape.
 */
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';

/** Sums a broadcast gradient back to `shape` (leading extra axes, and axes where shape has 1). */
function sumToShape(grad: Tensor, shape: readonly number[]): Tensor {
  if (tf.util.arraysEqual(grad.shape, shape as number[])) return grad;
  const lead = grad.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  return grad.sum(axes).reshape(shape as number[]);
}

export const batchMatMulGradConfig: GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [Tensor, Tensor];
    const g = dy as Tensor;
    const { transposeA, transposeB } = attrs as NamedAttrMap & { transposeA: boolean; transposeB: boolean };
    const [da, db] = !transposeA
      ? !transposeB
        ? [() => tf.matMul(g, b, false, true), () => tf.matMul(a, g, true, false)]
        : [() => tf.matMul(g, b, false, false), () => tf.matMul(g, a, true, false)]
      : !transposeB
        ? [() => tf.matMul(b, g, false, true), () => tf.matMul(a, g, false, false)]
        : [() => tf.matMul(b, g, true, true), () => tf.matMul(g, a, true, true)];
    return { a: () => sumToShape(da(), a.shape), b: () => sumToShape(db(), b.shape) };
  },
};

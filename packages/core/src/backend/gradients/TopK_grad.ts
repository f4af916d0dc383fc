/**
 * Gradient of topk's values (tfjs has none): dy is scattered back to the positions the values came
 * from, as in TF. The indices output is not differentiable.
 */
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';

export const topKGradConfig: GradConfig = {
  kernelName: tf.TopK,
  inputsToSave: ['x'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [x, indices] = saved as [Tensor, Tensor];
    const dValues = (dy as Tensor[])[0]!;
    return {
      x: () => {
        const n = x.shape[x.rank - 1]!;
        const k = indices.shape[indices.rank - 1]!;
        const rows = n === 0 ? 0 : x.size / n;
        // Flat position of each selected value in x, row by row.
        const rowStarts = tf.range(0, rows * n, n, 'int32').reshape([rows, 1]);
        const flat = indices.reshape([rows, k]).add(rowStarts).as1D();
        return tf.unsortedSegmentSum(dValues.reshape([-1]), flat, rows * n).reshape(x.shape);
      },
    };
  },
};

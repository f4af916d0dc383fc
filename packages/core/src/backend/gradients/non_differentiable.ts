/**
 * Zero gradients for ops whose output is boolean (comparisons, logic). tfjs registers none, so a tape
 * that passes through e.g. `x.greater(0)` (a mask built from a trained tensor) throws "gradient
 * function not found for Greater"; TF treats these ops as not differentiable, i.e. zero.
 */
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';

const BINARY = [tf.Greater, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual, tf.LogicalAnd, tf.LogicalOr, tf.LogicalXor];
const UNARY = [tf.LogicalNot];

function zeroGrad(kernelName: string, inputNames: readonly string[]): GradConfig {
  return {
    kernelName,
    inputsToSave: [...inputNames],
    gradFunc: (_dy, saved) =>
      Object.fromEntries(inputNames.map((name, i) => [name, () => tf.zerosLike(saved[i] as Tensor).cast('float32')])),
  };
}

export const nonDifferentiableGradConfigs: readonly GradConfig[] = [
  ...BINARY.map((name) => zeroGrad(name, ['a', 'b'])),
  ...UNARY.map((name) => zeroGrad(name, ['x'])),
];

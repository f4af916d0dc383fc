/** Registers, once, the gradients gbp's training needs on any backend (the gradient registry is global). */
import type { GradConfig } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';
import { batchMatMulGradConfig } from './BatchMatMul_grad.js';
import { nonDifferentiableGradConfigs } from './non_differentiable.js';
import { topKGradConfig } from './TopK_grad.js';

/** Gradients tfjs lacks: registered only where none exists. */
export const MISSING_GRADIENTS: readonly GradConfig[] = [...nonDifferentiableGradConfigs, topKGradConfig];

/** Gradients that replace tfjs's own because it is wrong for cases training hits. */
export const REPLACED_GRADIENTS: readonly GradConfig[] = [batchMatMulGradConfig];

/** Idempotent. Returns the kernel names whose gradient this call registered. */
export function registerGradients(): string[] {
  const added: string[] = [];
  for (const config of MISSING_GRADIENTS) {
    if (tf.getGradient(config.kernelName) != null) continue;
    tf.registerGradient(config);
    added.push(config.kernelName);
  }
  for (const config of REPLACED_GRADIENTS) {
    if (tf.getGradient(config.kernelName) === config) continue;
    tf.registerGradient(config); // replaces (tfjs warns only in DEBUG mode)
    added.push(config.kernelName);
  }
  return added;
}

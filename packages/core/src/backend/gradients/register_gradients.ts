/** Registers, once and only where tfjs has none, the gradients gbp's training needs on any backend. */
import type { GradConfig } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';
import { nonDifferentiableGradConfigs } from './non_differentiable.js';
import { topKGradConfig } from './TopK_grad.js';

export const EXTRA_GRADIENTS: readonly GradConfig[] = [...nonDifferentiableGradConfigs, topKGradConfig];

/** Idempotent. Returns the kernel names whose gradient this call registered. */
export function registerGradients(): string[] {
  const added: string[] = [];
  for (const config of EXTRA_GRADIENTS) {
    if (tf.getGradient(config.kernelName) != null) continue;
    tf.registerGradient(config);
    added.push(config.kernelName);
  }
  return added;
}

/**
 * How much memory one training micro-batch needs, and the largest micro-batch that fits. tfjs keeps
 * every tensor a gradient needs until the forward pass is done, and every intermediate gradient until
 * the backward pass is done, so a step holds ~130 vectors of d_model per token and layer. Measured on
 * wasm with gbp's kernels (bytes the backend allocated at the peak of one forward+backward, minus the
 * gradients): tiny 32K, small 63-68K, base 148K floats per token per layer; the estimate below is
 * slightly above each. The wasm heap stops at 4 GB (params, masks, Adam moments and gradients
 * take the rest).
 */
import type { ModelConfig } from './config.js';

/** Activation memory the default micro-batch may use (wasm: 4 GB heap in all). */
export const DEFAULT_ACTIVATION_BUDGET_BYTES = 2 * 1024 ** 3;

/** Estimated bytes of activations and intermediate gradients per token of a training micro-batch. */
export function activationBytesPerToken(config: Pick<ModelConfig, 'num_layers' | 'd_model' | 'dff' | 'num_heads'>, seqLen: number): number {
  const perLayer = 100 * config.d_model + 20 * config.dff + 8 * config.num_heads * seqLen;
  return 4 * config.num_layers * perLayer;
}

/**
 * The largest power-of-two micro-batch (at most `batchSize`, at least 1) whose estimated activations
 * for sequences of `seqLen` tokens fit in `budgetBytes`.
 */
export function autoMicroBatchSize(
  config: Pick<ModelConfig, 'num_layers' | 'd_model' | 'dff' | 'num_heads'>,
  seqLen: number,
  batchSize: number,
  budgetBytes = DEFAULT_ACTIVATION_BUDGET_BYTES,
): number {
  const fits = Math.floor(budgetBytes / (activationBytesPerToken(config, seqLen) * seqLen));
  if (fits >= batchSize) return batchSize;
  let micro = 1;
  while (micro * 2 <= fits) micro *= 2;
  return micro;
}

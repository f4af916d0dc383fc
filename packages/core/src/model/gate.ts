/**
 * The gate contract: what the model exposes of each gated weight matrix, and the gradients it
 * hands to pruners. GatedDense implements it; pruners and the pruning helpers only see this.
 */
import type { tf } from '../tf.js';

/** A gated weight matrix: y = x · (W ⊙ M) + b. */
export interface Gate {
  /** Stable HF-like name, e.g. 'encoder.layer.3.attention.self.query'. */
  readonly name: string;
  /** [in, out]. */
  readonly shape: readonly [number, number];
  /** Number of weights (in × out). */
  readonly size: number;
  /** The trainable weight W. Read it; never assign to it. */
  readonly weight: tf.Variable;
  /** The 0/1 mask M (float32). Read-only: change it through setMask. */
  readonly mask: tf.Variable;
  /** Replace the mask. Throws if the shape differs or a value is not 0 or 1. */
  setMask(mask: tf.Tensor | Float32Array | Uint8Array): void;
}

/**
 * Gradients of the gated weights after backward (accumulated over micro-batches), keyed by gate
 * name: ∂L/∂(W⊙M), the gradient of the effective weight the layer multiplies by. It is dense:
 * masked entries are not zero, which movement-style scores need. ∂L/∂W is this ⊙ M.
 * The tensors are owned by the trainer and disposed after the hook returns: copy what you keep.
 */
export type GateGradients = ReadonlyMap<string, tf.Tensor2D>;

/**
 * One fused AdamW step for one variable on the wasm backend: a single JS pass over the wasm heap
 * instead of ~17 elementwise kernels (each a full read and write of the variable). The embeddings
 * are half of the small model's parameters, so the optimizer was ~7% of a training step.
 * Inputs: w, g, m, v and optionally mask (same shape, float32). Outputs: new w, m, v
 * (fresh tensors: tensors are immutable and may share data). Per element, in float64:
 *   m' = β1·m + (1−β1)·g,  v' = β2·v + (1−β2)·g²,
 *   w' = w − lr·mask·( (m'/c1) / (√(v'/c2) + ε) + λ·w )
 * The op-by-op version in train/adamw.ts is the reference (and the path on other backends).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const ADAMW_UPDATE = 'GbpAdamWUpdate';

export interface AdamWUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Bias corrections 1 − β1^t and 1 − β2^t. */
  c1: number;
  c2: number;
  /** Decoupled weight decay λ (0 for none). */
  weightDecay: number;
}

type Inputs = { w: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo; mask?: TensorInfo };

function adamWUpdate(args: { inputs: Inputs; backend: BackendWasm; attrs: AdamWUpdateAttrs }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { w, g, m, v, mask } = inputs;
  const size = w.shape.reduce((a, b) => a * b, 1);
  for (const [name, t] of Object.entries(inputs) as [string, TensorInfo | undefined][]) {
    if (t == null) continue;
    if (t.dtype !== 'float32') throw new Error(`${ADAMW_UPDATE}: ${name} must be float32, got ${t.dtype}`);
    if (t.shape.reduce((a, b) => a * b, 1) !== size) throw new Error(`${ADAMW_UPDATE}: ${name} has shape [${t.shape}], expected [${w.shape}]`);
  }
  // Allocate first: a heap growth detaches typed-array views taken before it.
  const outs = [backend.makeOutput(w.shape, 'float32'), backend.makeOutput(w.shape, 'float32'), backend.makeOutput(w.shape, 'float32')];
  const [wOut, mOut, vOut] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
  const [W, G, M, V] = [w, g, m, v].map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const K = mask == null ? null : (backend.typedArrayFromHeap(mask) as Float32Array);
  const { lr, beta1: b1, beta2: b2, epsilon: eps, c1, c2, weightDecay: wd } = attrs;
  const [a1, a2] = [1 - b1, 1 - b2];
  // (m'/c1) / (√(v'/c2) + ε) = (√c2/c1)·m' / (√v' + ε·√c2): one division and one sqrt per element.
  const alpha = (lr * Math.sqrt(c2)) / c1;
  const epsHat = eps * Math.sqrt(c2);
  const decay = lr * wd;
  for (let i = 0; i < size; i++) {
    const gi = G[i]!;
    const wi = W[i]!;
    const mi = b1 * M[i]! + a1 * gi;
    const vi = b2 * V[i]! + a2 * gi * gi;
    const step = (alpha * mi) / (Math.sqrt(vi) + epsHat) + decay * wi;
    wOut[i] = K === null ? wi - step : wi - step * K[i]!;
    mOut[i] = mi;
    vOut[i] = vi;
  }
  return outs;
}

export const adamWUpdateConfig: KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'wasm',
  kernelFunc: adamWUpdate as unknown as KernelFunc,
};

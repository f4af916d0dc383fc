/**
 * Registers, once, what gbp's training needs on the wasm backend: kernels it lacks, and faster
 * replacements of its matmul, Identity/Cast, Transpose, Sum and GatherV2 kernels. Called by initBackend after the wasm backend is ready (the kernel
 * registry is global, so nothing registers on import).
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';
import { unsortedSegmentSumConfig } from './kernels/UnsortedSegmentSum.js';
import { adamWUpdateConfig } from './kernels/adamw_update.js';
import { FAST_MATMUL, fastMatMulConfig } from './kernels/fast_matmul.js';
import { ZERO_COPY, ZERO_COPY_KERNELS, zeroCopyConfig } from './kernels/zero_copy.js';
import { SUM_OUTER, sumOuterConfig } from './kernels/sum_outer.js';
import { GATHER_ROWS, gatherRowsConfig } from './kernels/gather_rows.js';
import { FAST_TRANSPOSE, fastTransposeConfig } from './kernels/transpose.js';
import { originalOf, wrapperOf } from './kernels/wrap_kernel.js';

/** Kernels wasm lacks, registered only when missing (a later tfjs may ship its own), and gbp's fused AdamW step. */
export const MISSING_WASM_KERNELS: readonly KernelConfig[] = [unsortedSegmentSumConfig, adamWUpdateConfig];

/** Kernels whose stock wasm version is replaced by a faster wrapper. */
export const FAST_MATMUL_KERNELS: readonly string[] = [tf.BatchMatMul, tf._FusedMatMul];

/** Stock kernels wrapped by a faster path for the cases training hits (the wrapper falls back to the stock kernel). */
const WRAPPERS: readonly { names: readonly string[]; wrapper: string; wrap: (c: KernelConfig) => KernelConfig }[] = [
  { names: FAST_MATMUL_KERNELS, wrapper: FAST_MATMUL, wrap: fastMatMulConfig },
  { names: ZERO_COPY_KERNELS, wrapper: ZERO_COPY, wrap: zeroCopyConfig },
  { names: [tf.Sum], wrapper: SUM_OUTER, wrap: sumOuterConfig },
  { names: [tf.GatherV2], wrapper: GATHER_ROWS, wrap: gatherRowsConfig },
  { names: [tf.Transpose], wrapper: FAST_TRANSPOSE, wrap: fastTransposeConfig },
];

/** Idempotent. Returns the names of the kernels registered or wrapped by this call. */
export function registerWasmKernels(): string[] {
  const changed: string[] = [];
  for (const config of MISSING_WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm') != null) continue;
    tf.registerKernel(config);
    changed.push(config.kernelName);
  }
  for (const { names, wrapper, wrap } of WRAPPERS) {
    for (const name of names) {
      const original = tf.getKernel(name, 'wasm');
      if (original == null) throw new Error(`wasm backend has no '${name}' kernel to wrap`);
      if (wrapperOf(original) === wrapper) continue;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(wrap(original));
      changed.push(name);
    }
  }
  return changed;
}

/** Puts the stock matmul kernels back (for before/after measurements). */
export function unregisterFastMatMul(): void {
  for (const name of FAST_MATMUL_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    const original = wrapperOf(current) === FAST_MATMUL ? originalOf(current) : undefined;
    if (original == null) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original);
  }
}

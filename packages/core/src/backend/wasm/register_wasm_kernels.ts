/**
 * Registers, once, what gbp's training needs on the wasm backend: kernels it lacks, and flag-free
 * replacements of its matmul kernels. Called by initBackend after the wasm backend is ready (the kernel
 * registry is global, so nothing registers on import).
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';
import { unsortedSegmentSumConfig } from './kernels/UnsortedSegmentSum.js';
import { FLAG_FREE, flagFreeMatMulConfig, isFlagFree } from './kernels/flag_free_matmul.js';

/** Kernels wasm lacks, registered only when missing (a later tfjs may ship its own). */
export const MISSING_WASM_KERNELS: readonly KernelConfig[] = [unsortedSegmentSumConfig];

/** Kernels whose stock wasm version is replaced by a flag-free wrapper. */
export const FLAG_FREE_MATMUL_KERNELS: readonly string[] = [tf.BatchMatMul, tf._FusedMatMul];

/** Idempotent. Returns the names of the kernels registered or wrapped by this call. */
export function registerWasmKernels(): string[] {
  const changed: string[] = [];
  for (const config of MISSING_WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm') != null) continue;
    tf.registerKernel(config);
    changed.push(config.kernelName);
  }
  for (const name of FLAG_FREE_MATMUL_KERNELS) {
    const original = tf.getKernel(name, 'wasm');
    if (original == null) throw new Error(`wasm backend has no '${name}' kernel to wrap`);
    if (isFlagFree(original)) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(flagFreeMatMulConfig(original));
    changed.push(name);
  }
  return changed;
}

/** Puts the stock matmul kernels back (for before/after measurements). */
export function unregisterFlagFreeMatMul(): void {
  for (const name of FLAG_FREE_MATMUL_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    if (!isFlagFree(current)) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(current[FLAG_FREE]);
  }
}

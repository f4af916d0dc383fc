/**
 * Wraps the wasm backend's BatchMatMul / _FusedMatMul kernels so they never run with transposeA or
 * transposeB: XNNPACK's transposed paths are 10-30x slower than the plain one (measured: 44 GFLOP/s
 * plain vs 3.8 with transposeB, 1.5 with transposeA at 512x512), and tfjs's matMul gradient always
 * uses them. Transposing an operand explicitly costs O(size) against the matmul's O(m*k*n).
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../tf.js';

/** Marks configs made here, so registering twice never wraps a wrapper. */
export const FLAG_FREE = Symbol.for('gbp.backend.flagFreeMatMul');

export type FlagFreeKernelConfig = KernelConfig & { [FLAG_FREE]: KernelConfig };

export function isFlagFree(config: KernelConfig | undefined): config is FlagFreeKernelConfig {
  return config != null && FLAG_FREE in config;
}

/** Swaps the last two axes with the backend's own Transpose kernel. */
function transposeInner(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (transpose == null) throw new Error("wasm backend has no 'Transpose' kernel");
  const perm = x.shape.map((_, i) => i);
  const rank = perm.length;
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

/** A config for `original.kernelName` that transposes explicitly, then calls `original` without flags. */
export function flagFreeMatMulConfig(original: KernelConfig): FlagFreeKernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs?: NamedAttrMap }) => {
    const { inputs, backend } = args;
    const attrs = args.attrs ?? {};
    if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const intermediates: TensorInfo[] = [];
    try {
      const plainA = attrs.transposeA ? transposeInner(a, backend) : a;
      if (plainA !== a) intermediates.push(plainA);
      const plainB = attrs.transposeB ? transposeInner(b, backend) : b;
      if (plainB !== b) intermediates.push(plainB);
      return original.kernelFunc({
        inputs: { ...inputs, a: plainA, b: plainB },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of intermediates) backend.disposeData(t.dataId);
    }
  };
  return {
    kernelName: original.kernelName,
    backendName: original.backendName,
    kernelFunc: kernelFunc as unknown as KernelFunc,
    // The original's setup binds its wasm function; keep it for a re-initialised backend.
    ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    ...(original.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
    [FLAG_FREE]: original,
  };
}

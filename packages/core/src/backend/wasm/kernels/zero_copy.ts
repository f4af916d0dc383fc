/**
 * Zero-copy Identity, same-dtype Cast and no-op Transpose for the wasm backend. tfjs's engine clones every tensor it
 * saves for backprop (engine.saveTensorsForBackwardMode -> Identity), and many gradients cast dy to
 * float32; the stock wasm kernels copy the data each time (the cpu backend shares it). In a training
 * step of the small model that is ~700 full copies per micro-batch, which doubles the memory the tape
 * holds and costs time. Tensors are immutable in tfjs (Variable.assign swaps the data id), so sharing
 * the data with a reference count, as the cpu backend and wasm's own Reshape do, is safe.
 * Transpose: a permutation that keeps the order of the axes longer than 1 moves no data (the gather
 * gradient transposes the whole embedding-table gradient this way), but the stock kernel copies it.
 */
import type { CastAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../tf.js';

/** Marks configs made here and holds the stock config (to restore it, and never to wrap twice). */
export const ZERO_COPY = Symbol.for('gbp.backend.zeroCopy');

export type ZeroCopyConfig = KernelConfig & { [ZERO_COPY]: KernelConfig };

export function isZeroCopy(config: KernelConfig | undefined): config is ZeroCopyConfig {
  return config != null && ZERO_COPY in config;
}

type Args = { inputs: { x?: TensorInfo }; backend: BackendWasm; attrs?: Partial<CastAttrs> & { perm?: number[] } };

function share(x: TensorInfo, backend: BackendWasm, shape: number[] = x.shape): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/** True when `perm` keeps the axes of size > 1 in order (the row-major data stay as they are). */
export function movesNoData(shape: readonly number[], perm: readonly number[]): boolean {
  let last = -1;
  for (const axis of perm) {
    if (shape[axis] === 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

/** Whether the kernel can hand back x's data as it is; the shape it then has. */
function sharedShape(kernelName: string, x: TensorInfo | undefined, attrs: Args['attrs']): number[] | null {
  if (x == null || x.dtype === 'string') return null;
  if (kernelName === tf.Cast) return attrs?.dtype === x.dtype ? x.shape : null;
  if (kernelName === tf.Transpose) {
    const perm = attrs?.perm ?? [];
    return perm.length === x.shape.length && movesNoData(x.shape, perm) ? perm.map((axis) => x.shape[axis]!) : null;
  }
  return x.shape;
}

/** A config for Identity, Cast or Transpose that shares x's data when nothing moves, else calls the stock kernel. */
export function zeroCopyConfig(original: KernelConfig): ZeroCopyConfig {
  const kernelFunc = (args: Args) => {
    const x = args.inputs.x;
    const shape = sharedShape(original.kernelName, x, args.attrs);
    return shape !== null ? share(x!, args.backend, shape) : original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
  };
  return {
    kernelName: original.kernelName,
    backendName: original.backendName,
    kernelFunc: kernelFunc as unknown as KernelFunc,
    ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    ...(original.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
    [ZERO_COPY]: original,
  };
}

/** The kernels wrapped here. */
export const ZERO_COPY_KERNELS: readonly string[] = [tf.Identity, tf.Cast, tf.Transpose];

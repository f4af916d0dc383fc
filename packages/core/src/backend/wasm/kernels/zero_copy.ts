/**
 * Zero-copy Identity and same-dtype Cast for the wasm backend. tfjs's engine clones every tensor it
 * saves for backprop (engine.saveTensorsForBackwardMode -> Identity), and many gradients cast dy to
 * float32; the stock wasm kernels copy the data each time (the cpu backend shares it). In a training
 * step of the small model that is ~700 full copies per micro-batch, which doubles the memory the tape
 * holds and costs time. Tensors are immutable in tfjs (Variable.assign swaps the data id), so sharing
 * the data with a reference count, as the cpu backend and wasm's own Reshape do, is safe.
 */
import type { CastAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../tf.js';
import { wrapKernel } from './wrap_kernel.js';

/** The wrapper's name, as `wrapperOf` reports it. */
export const ZERO_COPY = 'zeroCopy';

type Args = { inputs: { x?: TensorInfo }; backend: BackendWasm; attrs?: Partial<CastAttrs> };

function share(x: TensorInfo, backend: BackendWasm): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** A config for Identity or Cast that shares x's data when no conversion is needed, else calls the stock kernel. */
export function zeroCopyConfig(original: KernelConfig): KernelConfig {
  const isCast = original.kernelName === tf.Cast;
  const kernelFunc = (args: Args) => {
    const x = args.inputs.x;
    const sameType = x != null && x.dtype !== 'string' && (!isCast || args.attrs?.dtype === x.dtype);
    return sameType ? share(x, args.backend) : original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
  };
  return wrapKernel(original, ZERO_COPY, kernelFunc);
}

/** The kernels wrapped here. */
export const ZERO_COPY_KERNELS: readonly string[] = [tf.Identity, tf.Cast];

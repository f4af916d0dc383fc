/**
 * GatherV2 along axis 0 (embedding lookups) on wasm as one row copy per index. The stock kernel
 * computes every element's source through generic strides: ~25 ms to look up 2048 rows of 256
 * (tiny's word and token-type embeddings cost 7% of its training step); row copies take well under
 * a millisecond. Other axes, batch dims and dtypes go to the stock kernel.
 */
import type { GatherV2Attrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../tf.js';
import { wrapKernel } from './wrap_kernel.js';

/** The wrapper's name, as `wrapperOf` reports it. */
export const GATHER_ROWS = 'gatherRows';

type Args = { inputs: { x: TensorInfo; indices: TensorInfo }; backend: BackendWasm; attrs: GatherV2Attrs };

export function gatherRowsConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: Args) => {
    const { inputs: { x, indices }, backend, attrs } = args;
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const plain = axis === 0 && (attrs.batchDims ?? 0) === 0 && indices.dtype === 'int32' && (x.dtype === 'float32' || x.dtype === 'int32');
    if (!plain || tf.util.sizeFromShape(x.shape) === 0) return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
    const rows = x.shape[0]!;
    const inner = tf.util.sizeFromShape(x.shape.slice(1));
    const count = tf.util.sizeFromShape(indices.shape);
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype); // before any heap view
    const ids = backend.typedArrayFromHeap(indices) as Int32Array;
    // 4-byte elements either way: copy through one Float32Array view of the whole heap (memmove per row).
    const heap = new Float32Array(ids.buffer);
    const src = backend.dataIdMap.get(x.dataId)!.memoryOffset / 4;
    const dst = backend.dataIdMap.get(out.dataId)!.memoryOffset / 4;
    for (let i = 0; i < count; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < rows)) {
        backend.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
      }
      heap.copyWithin(dst + i * inner, src + id * inner, src + (id + 1) * inner);
    }
    return out;
  };
  return wrapKernel(original, GATHER_ROWS, kernelFunc);
}

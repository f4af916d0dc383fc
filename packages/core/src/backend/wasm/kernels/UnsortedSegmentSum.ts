/**
 * UnsortedSegmentSum for the wasm backend, which lacks it; tfjs's gather gradient (embeddings) needs it.
 * Written in JS over the wasm heap: a single pass over x, O(size(x) + size(out)), unlike the cpu
 * backend's reference implementation that loops over every segment.
 */
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs, UnsortedSegmentSumInputs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../tf.js';

function unsortedSegmentSum(args: {
  inputs: UnsortedSegmentSumInputs;
  backend: BackendWasm;
  attrs: UnsortedSegmentSumAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const { numSegments } = attrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (wasm): x must be float32 or int32, got ${x.dtype}`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (wasm): segmentIds must be int32, got ${segmentIds.dtype}`);
  }
  // TF semantics: segmentIds.shape is a prefix of x.shape; out = [numSegments, ...rest of x.shape].
  const segRank = segmentIds.shape.length;
  const prefix = x.shape.slice(0, segRank);
  if (!tf.util.arraysEqual(prefix, segmentIds.shape)) {
    throw new Error(
      `UnsortedSegmentSum (wasm): segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
    );
  }
  const innerShape = x.shape.slice(segRank);
  const inner = tf.util.sizeFromShape(innerShape);
  const count = tf.util.sizeFromShape(segmentIds.shape);

  // Allocate first: a heap growth detaches typed-array views taken before it.
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const outValues = backend.typedArrayFromHeap(out);
  outValues.fill(0); // malloc'd memory is not zeroed
  const xValues = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < count; i++) {
    const segment = ids[i]!;
    // TF drops negative ids; tfjs's cpu kernel also ignores ids >= numSegments.
    if (segment < 0 || segment >= numSegments) continue;
    const src = i * inner;
    const dst = segment * inner;
    for (let j = 0; j < inner; j++) outValues[dst + j]! += xValues[src + j]!;
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};

/**
 * Copies between tensors and shared memory with as few copies as the backend allows. On wasm a
 * tensor's values are read straight from the heap (dataSync would copy them first) and a new
 * tensor copies its values into the heap at once; other backends may keep the array they are given,
 * so they get a copy of shared memory that the other thread will rewrite. Measured for a 30522 x 256
 * embedding: reading 20 ms -> 3, writing 20 ms -> 3.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf.js';

const onWasm = () => tf.getBackend() === 'wasm';

/**
 * `t`'s float32 values to copy from right away: on wasm a view of the heap, valid only until the
 * next TF.js call (a heap growth detaches it); elsewhere dataSync's array.
 */
export function valuesToCopy(t: tf.Tensor): Float32Array {
  if (onWasm() && t.dtype === 'float32') return (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

/** A tensor of `shape` holding a copy of `values` (shared memory another thread will rewrite). */
export function tensorFromShared(values: Float32Array, shape: readonly number[]): tf.Tensor {
  return tf.tensor(onWasm() ? values : values.slice(), [...shape], 'float32');
}

/**
 * Transpose on wasm for the permutations training runs, in JS over the wasm heap. The stock kernel
 * moves ~7 ns per element ([1024, 512] in ~3.7 ms); the matmul gradients transpose an activation
 * for every weight gradient, and attention moves heads in and out. The permutation is first
 * canonicalised (size-1 axes dropped, axes that stay adjacent merged), then:
 *  - nothing moves: an identity permutation shares the data; one that only moves size-1 axes copies;
 *  - the last axis stays last: contiguous runs are copied (e.g. heads [B,T,H,dh] -> [B,H,T,dh]);
 *  - the last two axes swap, with any leading batch axes: a cache-blocked 2-D transpose (~0.6-0.9 ns
 *    per element; e.g. Xᵀ for dW, or [B,T,H·dh] -> [B,H·dh,T] for Kᵀ);
 *  - anything else, and dtypes other than float32/int32: the stock kernel.
 */
import type { KernelConfig, KernelFunc, TensorInfo, TransposeAttrs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wrapKernel } from './wrap_kernel.js';

/** The wrapper's name, as `wrapperOf` reports it. */
export const FAST_TRANSPOSE = 'fastTranspose';

/**
 * The same permutation on the smallest shape: size-1 axes dropped and runs of input axes that stay
 * adjacent and in order in the output merged into one axis.
 */
export function canonicalPermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  // Position of each kept axis in the input once size-1 axes are gone.
  const position = new Map([...kept].sort((a, b) => a - b).map((axis, i) => [axis, i]));
  // Group output positions whose input axes are consecutive.
  const groups: number[][] = [];
  for (const axis of kept) {
    const last = groups[groups.length - 1];
    if (last !== undefined && position.get(last[last.length - 1]!)! + 1 === position.get(axis)) last.push(axis);
    else groups.push([axis]);
  }
  // Number the groups by their position in the input.
  const order = groups.map((g, i) => [g[0]!, i] as const).sort((a, b) => a[0] - b[0]);
  const inputShape = order.map(([, i]) => groups[i]!.reduce((s, axis) => s * shape[axis]!, 1));
  const rank = new Map(order.map(([, i], r) => [i, r]));
  return { shape: inputShape, perm: groups.map((_, i) => rank.get(i)!) };
}

type Args = { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: TransposeAttrs };

const BLOCK = 64;

/**
 * out[b][j][i] = x[b][i][j] for `batch` matrices of rows x cols, cache-blocked, eight source rows per
 * pass (eight consecutive writes per column: ~0.6-0.9 ns per element against ~1.3-1.9 for one row
 * per pass). Int32 views copy float32 data bit for bit as well.
 */
function transposeLastTwo(src: Int32Array, dst: Int32Array, batch: number, rows: number, cols: number): void {
  const size = rows * cols;
  for (let b = 0; b < batch; b++) {
    const base = b * size;
    for (let i0 = 0; i0 < rows; i0 += BLOCK) {
      const iEnd = Math.min(i0 + BLOCK, rows);
      for (let j0 = 0; j0 < cols; j0 += BLOCK) {
        const jEnd = Math.min(j0 + BLOCK, cols);
        let i = i0;
        for (; i + 8 <= iEnd; i += 8) {
          const row = base + i * cols;
          for (let j = j0; j < jEnd; j++) {
            const o = base + j * rows + i;
            const k = row + j;
            dst[o] = src[k]!;
            dst[o + 1] = src[k + cols]!;
            dst[o + 2] = src[k + 2 * cols]!;
            dst[o + 3] = src[k + 3 * cols]!;
            dst[o + 4] = src[k + 4 * cols]!;
            dst[o + 5] = src[k + 5 * cols]!;
            dst[o + 6] = src[k + 6 * cols]!;
            dst[o + 7] = src[k + 7 * cols]!;
          }
        }
        for (; i < iEnd; i++) {
          for (let j = j0; j < jEnd; j++) dst[base + j * rows + i] = src[base + i * cols + j]!;
        }
      }
    }
  }
}

/** Output rows of length `shape[last]` copied from their source offsets (the last axis is not moved). */
function copyRuns(src: Int32Array, dst: Int32Array, shape: readonly number[], perm: readonly number[]): void {
  const rank = shape.length;
  const inner = shape[rank - 1]!;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1]! * shape[a + 1]!;
  const outShape = perm.map((a) => shape[a]!);
  const outStrides = perm.map((a) => strides[a]!); // source stride of each output axis
  const index = new Array<number>(rank - 1).fill(0);
  const rows = dst.length / inner;
  let source = 0;
  for (let row = 0; row < rows; row++) {
    const out = row * inner;
    for (let j = 0; j < inner; j++) dst[out + j] = src[source + j]!;
    // Odometer over the output's leading axes, keeping the source offset in step.
    for (let a = rank - 2; a >= 0; a--) {
      index[a]! += 1;
      source += outStrides[a]!;
      if (index[a]! < outShape[a]!) break;
      source -= outStrides[a]! * outShape[a]!;
      index[a] = 0;
    }
  }
}

export function fastTransposeConfig(original: KernelConfig): KernelConfig {
  const kernelFunc = (args: Args) => {
    const { inputs: { x }, backend, attrs } = args;
    const outShape = attrs.perm.map((a) => x.shape[a]!);
    const { shape, perm } = canonicalPermutation(x.shape, attrs.perm);
    const rank = perm.length;
    if (perm.every((a, i) => a === i)) {
      // Only an identity permutation may share the data: the wasm matmul caches its packed XNNPACK
      // operator by the id of B, so the same id under another shape ([k,1] -> [1,k]) would reuse it.
      if (attrs.perm.every((a, i) => a === i)) {
        backend.incRef(x.dataId);
        return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
      }
      if (x.dtype === 'float32' || x.dtype === 'int32') {
        const out = backend.makeOutput(outShape, x.dtype);
        (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(x) as Float32Array);
        return out;
      }
    }
    const lastStays = perm[rank - 1] === rank - 1;
    const swapsLastTwo = perm[rank - 1] === rank - 2 && perm[rank - 2] === rank - 1 && perm.slice(0, -2).every((a, i) => a === i);
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || !(lastStays || swapsLastTwo)) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
    }
    const out = backend.makeOutput(outShape, x.dtype); // before any heap view (growth detaches them)
    // Int32 views for both dtypes: one monomorphic copy loop, bit-exact for floats.
    const asInt32 = (t: TensorInfo) => {
      const view = backend.typedArrayFromHeap(t);
      return new Int32Array(view.buffer, view.byteOffset, view.length);
    };
    const src = asInt32(x);
    const dst = asInt32(out);
    if (lastStays) copyRuns(src, dst, shape, perm);
    else {
      const [rows, cols] = [shape[rank - 2]!, shape[rank - 1]!];
      transposeLastTwo(src, dst, src.length / (rows * cols), rows, cols);
    }
    return out;
  };
  return wrapKernel(original, FAST_TRANSPOSE, kernelFunc);
}

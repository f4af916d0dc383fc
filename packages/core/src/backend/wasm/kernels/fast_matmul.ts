/**
 * Replacements for the wasm backend's BatchMatMul / _FusedMatMul that keep every matmul on XNNPACK's
 * fast path. tfjs-backend-wasm (4.22, src/cc/batch_mat_mul_impl.cc) uses XNNPACK only for an
 * untransposed product with batch 1; anything else runs a scalar loop. Measured at 512x512x512:
 * 44 GFLOP/s plain, 3.8 with transposeB, 1.5 with transposeA; batched attention products
 * (128 x [128x64]·[64x128]) about 3. tfjs's matMul gradient always passes transpose flags.
 * So: transpose operands explicitly with the backend's Transpose kernel (O(size), against the
 * product's O(m·k·n)), and run a batched BatchMatMul as one batch-1 product per batch entry on
 * zero-copy views of the operands, writing straight into the output.
 */
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../../tf.js';
import { wrapKernel } from './wrap_kernel.js';

/** The wrapper's name, as `wrapperOf` reports it. */
export const FAST_MATMUL = 'fastMatMul';

/**
 * Below this many multiply-adds per batch entry the per-call overhead may eat the gain (measured,
 * batch 128: split vs stock is 1.5x at 16x32x32 per entry, 2x at 32x32x32, 6x at 128x64x128).
 */
const MIN_MACS_PER_ENTRY = 16 * 1024;

type Args = { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs?: NamedAttrMap };

/** Swaps the last two axes with the backend's own Transpose kernel. */
function transposeInner(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const transpose = tf.getKernel(tf.Transpose, 'wasm');
  if (transpose == null) throw new Error("wasm backend has no 'Transpose' kernel");
  const perm = x.shape.map((_, i) => i);
  const rank = perm.length;
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

// The C++ entry point of BatchMatMul (not exported by the package; same signature as its kernel uses).
type WasmBatchMatMul = (
  aId: number, aShape: Uint8Array, aRank: number,
  bId: number, bShape: Uint8Array, bRank: number,
  transposeA: boolean, transposeB: boolean, outId: number,
) => void;
const boundBatchMatMul = new WeakMap<object, WasmBatchMatMul>();

function wasmBatchMatMul(backend: BackendWasm): WasmBatchMatMul {
  let fn = boundBatchMatMul.get(backend.wasm);
  if (fn == null) {
    const types = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];
    // Emscripten's cwrap is on the module at run time; the package's typings leave it out of the union.
    const module = backend.wasm as unknown as { cwrap(name: string, ret: null, args: string[]): unknown };
    fn = module.cwrap(tf.BatchMatMul, null, types) as WasmBatchMatMul;
    boundBatchMatMul.set(backend.wasm, fn);
  }
  return fn;
}

/** A tensor registered on memory inside `base` (no copy); release it with `releaseView`, never disposeData. */
function view(backend: BackendWasm, base: TensorInfo, elementOffset: number, shape: number[]): TensorInfo {
  const { memoryOffset } = backend.dataIdMap.get(base.dataId)!;
  return backend.makeOutput(shape, 'float32', memoryOffset + 4 * elementOffset);
}

function releaseView(backend: BackendWasm, t: TensorInfo): void {
  const data = backend.dataIdMap.get(t.dataId)!;
  backend.wasm.tfjs.disposeData(data.id); // C++ side, incl. XNNPACK operators cached on it; no free()
  backend.dataIdMap.delete(t.dataId);
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * C[i] = A[i]·B[i] for untransposed float32 operands whose batch dims either match the output's or
 * are all 1, as `batch` calls of the fast batch-1 path. Returns null when the shapes do not fit.
 */
function splitBatches(a: TensorInfo, b: TensorInfo, backend: BackendWasm): TensorInfo | null {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(outBatch);
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const fits = (size: number) => size === 1 || size === batch;
  if (batch <= 1 || !fits(batchA) || !fits(batchB) || m * k * n < MIN_MACS_PER_ENTRY || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return null;
  }
  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  const run = wasmBatchMatMul(backend);
  const [aShape, bShape] = [shapeBytes([1, m, k]), shapeBytes([1, k, n])];
  for (let i = 0; i < batch; i++) {
    const views = [
      view(backend, a, batchA === 1 ? 0 : i * m * k, [1, m, k]),
      view(backend, b, batchB === 1 ? 0 : i * k * n, [1, k, n]),
      view(backend, out, i * m * n, [1, m, n]),
    ] as const;
    try {
      const [va, vb, vo] = views.map((t) => backend.dataIdMap.get(t.dataId)!.id) as [number, number, number];
      run(va, aShape, 3, vb, bShape, 3, false, false, vo);
    } finally {
      for (const t of views) releaseView(backend, t);
    }
  }
  return out;
}

/** A config for `original.kernelName` that transposes explicitly and splits batches, then calls the fast path. */
export function fastMatMulConfig(original: KernelConfig): KernelConfig {
  const splits = original.kernelName === tf.BatchMatMul; // _FusedMatMul (bias, activation) is only de-flagged
  const kernelFunc = (args: Args) => {
    const { inputs, backend } = args;
    const attrs = args.attrs ?? {};
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const batched = a.shape.length > 2 && tf.util.sizeFromShape(a.shape.slice(0, -2)) > 1 ||
      b.shape.length > 2 && tf.util.sizeFromShape(b.shape.slice(0, -2)) > 1;
    if (!attrs.transposeA && !attrs.transposeB && !(splits && batched)) return original.kernelFunc(args);
    const intermediates: TensorInfo[] = [];
    try {
      const plainA = attrs.transposeA ? transposeInner(a, backend) : a;
      if (plainA !== a) intermediates.push(plainA);
      const plainB = attrs.transposeB ? transposeInner(b, backend) : b;
      if (plainB !== b) intermediates.push(plainB);
      const split = splits && batched ? splitBatches(plainA, plainB, backend) : null;
      return split ?? original.kernelFunc({
        inputs: { ...inputs, a: plainA, b: plainB },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of intermediates) backend.disposeData(t.dataId);
    }
  };
  return wrapKernel(original, FAST_MATMUL, kernelFunc);
}

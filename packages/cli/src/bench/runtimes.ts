/**
 * What runs a bench target: gbp's own TF.js forward pass (`tfjs`, on the chosen TF.js backend, its
 * batch's rows split among replica threads on wasm/cpu) or onnxruntime-node on the model's ONNX
 * export (`onnx`, with a number of intra-op threads).
 */
export const BENCH_RUNTIMES = ['tfjs', 'onnx'] as const;
export type BenchRuntime = (typeof BENCH_RUNTIMES)[number];

/**
 * Threads when --threads is not given: 1 for both runtimes, so runs compare like for like and with
 * bench files measured before gbp had threads (gbp run and gbp infer default to every core).
 */
export const DEFAULT_BENCH_THREADS = 1;

export interface RuntimeVariant {
  readonly runtime: BenchRuntime;
  readonly threads: number;
}

export const TFJS: RuntimeVariant = { runtime: 'tfjs', threads: DEFAULT_BENCH_THREADS };

/** Every runtime once per thread count, in the order given (duplicates dropped). */
export function runtimeVariants(runtimes: readonly BenchRuntime[], threads: readonly number[] = [DEFAULT_BENCH_THREADS]): RuntimeVariant[] {
  return [...new Set(runtimes)].flatMap((runtime) => [...new Set(threads)].map((n) => ({ runtime, threads: n })));
}

/** How a variant is named in progress lines, labels and tables: `tfjs`, `tfjs x2`, `onnx x1`, `onnx x2`. */
export const variantName = (variant: { readonly runtime: BenchRuntime; readonly threads?: number | undefined }): string =>
  variant.runtime === 'tfjs' ? ((variant.threads ?? 1) === 1 ? 'tfjs' : `tfjs x${variant.threads}`) : `onnx x${variant.threads ?? '?'}`;

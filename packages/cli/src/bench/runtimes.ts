/**
 * What runs a bench target: gbp's own TF.js forward pass (`tfjs`, on the chosen TF.js backend) or
 * onnxruntime-node on the model's ONNX export (`onnx`, with a number of intra-op threads).
 */
export const BENCH_RUNTIMES = ['tfjs', 'onnx'] as const;
export type BenchRuntime = (typeof BENCH_RUNTIMES)[number];

/** ORT's intraOpNumThreads when --threads is not given: 1, like gbp's single-threaded wasm backend, so the two compare like for like. */
export const DEFAULT_ORT_THREADS = 1;

export type RuntimeVariant = { readonly runtime: 'tfjs' } | { readonly runtime: 'onnx'; readonly threads: number };

export const TFJS: RuntimeVariant = { runtime: 'tfjs' };

/** Every runtime once, in the order given (duplicates dropped); onnx once per thread count. */
export function runtimeVariants(runtimes: readonly BenchRuntime[], threads: readonly number[] = [DEFAULT_ORT_THREADS]): RuntimeVariant[] {
  return [...new Set(runtimes)].flatMap((runtime): RuntimeVariant[] => (runtime === 'tfjs' ? [TFJS] : [...new Set(threads)].map((n) => ({ runtime, threads: n }))));
}

/** How a variant is named in progress lines and in a measured target's label: `tfjs`, `onnx x2`. */
export const variantName = (variant: RuntimeVariant): string => (variant.runtime === 'tfjs' ? 'tfjs' : `onnx x${variant.threads}`);

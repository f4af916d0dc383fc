/**
 * The measuring loop. Per shape: warm-up runs of each target, then `repeats` rounds in which every
 * target runs once, in order, so drift (thermal, other processes) hits each target alike. A run is
 * timed around `logits` (awaited: onnxruntime runs asynchronously) plus reading the result back
 * (`await data()`), so an asynchronous backend's work is inside the time. One loop for every runtime.
 */
import type { ModelInput } from '@gbp/core';
import { syntheticInput } from './inputs.js';
import type { Shape } from './shapes.js';

/**
 * A forward pass's result, read back by `await data()`: where an asynchronous backend's work
 * finishes. Not dataSync: webgpu cannot read synchronously on Node.
 */
export interface BenchResult {
  data(): unknown;
  dispose(): void;
}

/**
 * What the loop needs of a model (InferenceModel has it): a forward pass whose result can be read
 * back; a runtime whose run is asynchronous (onnxruntime) returns a promise of it.
 */
export interface BenchModel {
  readonly config: { readonly vocab_size: number; readonly max_len: number };
  readonly numParams: number;
  readonly weightBytes: number;
  logits(input: ModelInput): BenchResult | Promise<BenchResult>;
  dispose(): void;
}

export interface BenchTarget {
  readonly label: string;
  readonly model: BenchModel;
}

export type BenchProgress =
  | { readonly phase: 'warmup'; readonly shape: Shape; readonly target: string; readonly runs: number }
  | { readonly phase: 'round'; readonly shape: Shape; readonly round: number; readonly rounds: number; readonly ms: readonly { target: string; ms: number }[] };

export interface MeasureOptions {
  readonly repeats: number;
  readonly warmup: number;
  /** Milliseconds from a monotonic clock (default performance.now). */
  readonly now?: () => number;
  readonly onProgress?: (progress: BenchProgress) => void;
  /** Stops between runs with the signal's reason. */
  readonly signal?: AbortSignal;
  readonly seed?: number;
}

/** The latencies of one target at one shape, in round order. */
export interface Samples {
  readonly target: string;
  readonly shape: Shape;
  readonly ms: readonly number[];
}

/** Times every target at every shape; samples are in shape order, then target order. */
export async function measure(targets: readonly BenchTarget[], shapes: readonly Shape[], options: MeasureOptions): Promise<Samples[]> {
  const now = options.now ?? (() => performance.now());
  const samples: Samples[] = [];
  for (const shape of shapes) {
    const inputs = targets.map((t) => syntheticInput(shape, t.model.config.vocab_size, options.seed));
    for (const [i, target] of targets.entries()) {
      options.onProgress?.({ phase: 'warmup', shape, target: target.label, runs: options.warmup });
      for (let w = 0; w < options.warmup; w++) {
        await betweenRuns(options.signal);
        await runOnce(target.model, inputs[i]!);
      }
    }
    const times = targets.map(() => [] as number[]);
    for (let round = 1; round <= options.repeats; round++) {
      for (const [i, target] of targets.entries()) {
        await betweenRuns(options.signal);
        const start = now();
        await runOnce(target.model, inputs[i]!);
        times[i]!.push(now() - start);
      }
      options.onProgress?.({ phase: 'round', shape, round, rounds: options.repeats, ms: targets.map((t, i) => ({ target: t.label, ms: times[i]!.at(-1)! })) });
    }
    targets.forEach((t, i) => samples.push({ target: t.label, shape, ms: times[i]! }));
  }
  return samples;
}

async function runOnce(model: BenchModel, input: ModelInput): Promise<void> {
  const logits = await model.logits(input);
  try {
    await logits.data();
  } finally {
    logits.dispose();
  }
}

/** Lets progress reach the terminal and a signal be seen; never inside a timed run. */
async function betweenRuns(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** From latency samples to bench.json rows: median, p90, sequences/s and speedup against the first target. */
import type { BenchRow } from './bench-file.js';
import type { BenchRuntime } from './runtimes.js';
import type { Samples } from './measure.js';
import { median, p90 } from './stats.js';

/** What a row says about its target besides the timings. */
export interface TargetFacts {
  /** The measured target's label in the samples (unique: one per target and runtime). */
  readonly label: string;
  /** The row's target name, when `label` adds the runtime to it; default `label`. */
  readonly target?: string;
  readonly runtime: BenchRuntime;
  readonly threads?: number;
  readonly params: number;
  readonly weightBytes: number;
  readonly path?: string;
  readonly job?: string;
  readonly method?: string;
}

/** One row per sample set, in the samples' order; `targets[0]` is the reference of `speedup`. */
export function benchRows(samples: readonly Samples[], targets: readonly TargetFacts[]): BenchRow[] {
  const reference = targets[0];
  if (!reference) throw new Error('bench rows: no targets');
  const medianOf = (label: string, batch: number, seq: number) => {
    const set = samples.find((s) => s.target === label && s.shape.batch === batch && s.shape.seq === seq);
    if (!set) throw new Error(`bench rows: no samples of ${label} at batch ${batch} x seq ${seq}`);
    return median(set.ms);
  };
  return samples.map((set) => {
    const facts = targets.find((t) => t.label === set.target);
    if (!facts) throw new Error(`bench rows: samples of an unknown target ${set.target}`);
    const { batch, seq } = set.shape;
    const mid = median(set.ms);
    return {
      target: facts.target ?? facts.label,
      ...(facts.path !== undefined && { path: facts.path }),
      ...(facts.job !== undefined && { job: facts.job }),
      ...(facts.method !== undefined && { method: facts.method }),
      runtime: facts.runtime,
      ...(facts.threads !== undefined && { threads: facts.threads }),
      batch,
      seq,
      median_ms: mid,
      p90_ms: p90(set.ms),
      seq_per_s: batch / (mid / 1000),
      params: facts.params,
      weight_bytes: facts.weightBytes,
      speedup: medianOf(reference.label, batch, seq) / mid,
    };
  });
}

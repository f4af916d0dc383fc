/** The input shapes a bench measures: from --mode, overridden by --batch and --seq. */

export const BENCH_MODES = ['latency', 'throughput', 'balanced'] as const;
export type BenchMode = (typeof BENCH_MODES)[number];

/** One input shape: `batch` sequences of `seq` tokens. */
export interface Shape {
  readonly batch: number;
  readonly seq: number;
}

/** Batch sizes and sequence lengths of each mode: latency answers one request, throughput a full batch. */
export const MODE_GRID: Readonly<Record<BenchMode, { batch: readonly number[]; seq: readonly number[] }>> = {
  latency: { batch: [1], seq: [64, 128] },
  throughput: { batch: [32], seq: [64, 128] },
  balanced: { batch: [1, 8, 32], seq: [64, 128] },
};

/** Every batch x seq of the mode's grid (default balanced), with --batch / --seq replacing its axis. Batch-major. */
export function benchShapes(options: { mode?: BenchMode; batch?: readonly number[]; seq?: readonly number[] }): Shape[] {
  const grid = MODE_GRID[options.mode ?? 'balanced'];
  const batches = unique(options.batch ?? grid.batch);
  const seqs = unique(options.seq ?? grid.seq);
  return batches.flatMap((batch) => seqs.map((seq) => ({ batch, seq })));
}

const unique = (values: readonly number[]) => [...new Set(values)];

export const shapeLabel = (shape: Shape): string => `batch ${shape.batch} x seq ${shape.seq}`;

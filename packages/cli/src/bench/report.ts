/** How a bench speaks: a progress line per warm-up and round, and the results table. */
import { textTable } from '../commands/table.js';
import type { BenchFile, BenchRow } from './bench-file.js';
import type { BenchProgress } from './measure.js';
import { shapeLabel } from './shapes.js';
import { variantName } from './runtimes.js';

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** One line (no newline) for a progress event: the shape, the target or round, and the round's times. */
export function progressLine(progress: BenchProgress): string {
  const shape = shapeLabel(progress.shape);
  if (progress.phase === 'warmup') return `${shape}: warm-up ${progress.target} (${progress.runs} run${progress.runs === 1 ? '' : 's'})`;
  return `${shape}: round ${progress.round}/${progress.rounds}: ${progress.ms.map((t) => `${t.target} ${ms(t.ms)} ms`).join(', ')}`;
}

const runtimeOf = (r: BenchRow) => variantName(r);

/** The results as an aligned table, one line per target (and runtime, when others than one-thread tfjs ran) and shape. */
export function benchTable(bench: BenchFile): string {
  const onlyTfjs = bench.rows.every((r) => runtimeOf(r) === 'tfjs');
  const rows = bench.rows.map((r) => [
    r.target,
    ...(onlyTfjs ? [] : [runtimeOf(r)]),
    r.batch,
    r.seq,
    ms(r.median_ms),
    ms(r.p90_ms),
    r.seq_per_s.toFixed(1),
    (r.params / 1e6).toFixed(2),
    (r.weight_bytes / 2 ** 20).toFixed(1),
    `${r.speedup.toFixed(2)}`,
  ]);
  const header = ['target', ...(onlyTfjs ? [] : ['runtime']), 'batch', 'seq', 'median ms', 'p90 ms', 'seq/s', 'params (M)', 'weights (MiB)', 'speedup'];
  const runtimes = onlyTfjs ? bench.backend : `tfjs on ${bench.backend} (x threads: gbp's replicas), onnx on onnxruntime-node (x intra-op threads)`;
  return `${textTable(header, rows)}\n(${runtimes}, ${bench.repeats} rounds per shape; speedup = ${bench.rows[0]?.target ?? 'the first target'}'s median / the row's median at the same shape)`;
}

import { describe, expect, it } from 'vitest';
import type { BenchRow } from '../bench/bench-file.js';
import { jobSpeed, type BenchFile } from './speed-files.js';

const row = (job: string, runtime: BenchRow['runtime'], median: number): BenchRow => ({
  target: job,
  job,
  runtime,
  ...(runtime === 'onnx' && { threads: 1 }),
  batch: 8,
  seq: 128,
  median_ms: median,
  p90_ms: median,
  seq_per_s: 8000 / median,
  params: 1,
  weight_bytes: 4,
  speedup: 1,
});

describe('jobSpeed', () => {
  it('reads the tfjs rows of a bench.json that also holds onnx rows (its speed is on bench.backend), whatever their order', () => {
    const bench: BenchFile = {
      file: '/p/bench.json',
      backend: 'wasm',
      repeats: 5,
      rows: [row('dense', 'onnx', 50), row('pruned', 'onnx', 10), row('dense', 'tfjs', 300), row('pruned', 'tfjs', 150)],
    };
    const dense = { id: 'dense', dir: '/p/results_dense' };
    expect(jobSpeed(bench, { id: 'pruned', dir: '/p/results_pruned' }, 128, dense)).toEqual({ speedup: 2, batch: 8, seq: 128, backend: 'wasm' });
  });
});

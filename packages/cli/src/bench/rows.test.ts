import { describe, expect, it } from 'vitest';
import { benchRows } from './rows.js';
import { median, p90, quantile } from './stats.js';

describe('latency statistics', () => {
  it('median and p90 interpolate between ranks (numpy default)', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // 10 samples 1..10: position 0.9 * 9 = 8.1 -> 9 + 0.1 * (10 - 9).
    expect(p90([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toBeCloseTo(9.1, 12);
    expect(quantile([5], 0.9)).toBe(5);
    expect(() => quantile([], 0.5)).toThrow('quantile of no samples');
  });
});

describe('benchRows', () => {
  const shapeA = { batch: 8, seq: 128 };
  const shapeB = { batch: 1, seq: 64 };
  const samples = [
    { target: 'dense', shape: shapeA, ms: [40, 42, 38, 100] },
    { target: 'pruned', shape: shapeA, ms: [20, 21, 19, 50] },
    { target: 'dense', shape: shapeB, ms: [6, 6, 6] },
    { target: 'pruned', shape: shapeB, ms: [4, 4, 4] },
  ];
  const targets = [
    { label: 'dense', runtime: 'tfjs' as const, params: 1000, weightBytes: 4000, path: '/r/results_dense/model', job: 'dense', method: 'baseline' },
    { label: 'pruned', runtime: 'tfjs' as const, params: 400, weightBytes: 1600 },
  ];

  it('speedup is the first target\'s median over the row\'s median at the same shape; seq/s is batch over the median', () => {
    const rows = benchRows(samples, targets);
    expect(rows.map((r) => [r.target, r.batch, r.seq, r.median_ms, r.speedup])).toEqual([
      ['dense', 8, 128, 41, 1],
      ['pruned', 8, 128, 20.5, 41 / 20.5],
      ['dense', 1, 64, 6, 1],
      ['pruned', 1, 64, 4, 1.5],
    ]);
    expect(rows[0]!.seq_per_s).toBeCloseTo(8 / 0.041, 9);
    expect(rows[3]!.seq_per_s).toBe(250);
    expect(rows[0]!.p90_ms).toBeCloseTo(42 + 0.7 * 58, 9);
  });

  it('carries params, weight bytes and, for a job, its path, id and method', () => {
    const [dense, pruned] = benchRows(samples, targets);
    expect(dense).toEqual({
      target: 'dense',
      path: '/r/results_dense/model',
      job: 'dense',
      method: 'baseline',
      runtime: 'tfjs',
      batch: 8,
      seq: 128,
      median_ms: 41,
      p90_ms: expect.any(Number),
      seq_per_s: expect.any(Number),
      params: 1000,
      weight_bytes: 4000,
      speedup: 1,
    });
    expect(Object.keys(pruned!)).toEqual(['target', 'runtime', 'batch', 'seq', 'median_ms', 'p90_ms', 'seq_per_s', 'params', 'weight_bytes', 'speedup']);
  });

  it('a target on two runtimes: one row each under the target\'s name, with runtime and threads, speedup against the first', () => {
    const shape = { batch: 8, seq: 128 };
    const rows = benchRows(
      [
        { target: 'tiny (tfjs)', shape, ms: [30, 30, 30] },
        { target: 'tiny (onnx x2)', shape, ms: [10, 10, 10] },
      ],
      [
        { label: 'tiny (tfjs)', target: 'tiny', runtime: 'tfjs', params: 10, weightBytes: 40 },
        { label: 'tiny (onnx x2)', target: 'tiny', runtime: 'onnx', threads: 2, params: 10, weightBytes: 40 },
      ],
    );
    expect(rows.map((r) => [r.target, r.runtime, r.threads, r.speedup])).toEqual([
      ['tiny', 'tfjs', undefined, 1],
      ['tiny', 'onnx', 2, 3],
    ]);
    expect('threads' in rows[0]!).toBe(false);
  });
});

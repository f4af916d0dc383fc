import { describe, expect, it } from 'vitest';
import { benchShapes } from './shapes.js';

const pairs = (shapes: { batch: number; seq: number }[]) => shapes.map((s) => `${s.batch}x${s.seq}`);

describe('benchShapes', () => {
  it('balanced (the default) is batch 1,8,32 x seq 64,128; latency batch 1; throughput batch 32', () => {
    expect(pairs(benchShapes({}))).toEqual(['1x64', '1x128', '8x64', '8x128', '32x64', '32x128']);
    expect(pairs(benchShapes({ mode: 'latency' }))).toEqual(['1x64', '1x128']);
    expect(pairs(benchShapes({ mode: 'throughput' }))).toEqual(['32x64', '32x128']);
  });

  it('--batch and --seq replace their axis of the mode, once per value', () => {
    expect(pairs(benchShapes({ mode: 'latency', seq: [32] }))).toEqual(['1x32']);
    expect(pairs(benchShapes({ batch: [8, 8, 2], seq: [128] }))).toEqual(['8x128', '2x128']);
  });
});

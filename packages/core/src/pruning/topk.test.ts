import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { prunedCount, topKMasks } from './topk.js';

const f32 = (values: number[]) => Float32Array.from(values);

/** Reference: sort (score, global index) and prune the first k. */
function referenceMasks(scores: Float32Array[], sparsity: number, previous?: Uint8Array[]): Uint8Array[] {
  const all: { s: number; g: number; i: number; forced: boolean; order: number }[] = [];
  let order = 0;
  scores.forEach((s, g) => s.forEach((v, i) => all.push({ s: v === 0 ? 0 : v, g, i, forced: previous?.[g]?.[i] === 0, order: order++ })));
  const masks = scores.map((s) => new Uint8Array(s.length).fill(1));
  let k = prunedCount(all.length, sparsity);
  for (const e of all) {
    if (!e.forced) continue;
    masks[e.g]![e.i] = 0;
    k--;
  }
  all
    .filter((e) => !e.forced)
    .sort((a, b) => a.s - b.s || a.order - b.order)
    .slice(0, Math.max(0, k))
    .forEach((e) => (masks[e.g]![e.i] = 0));
  return masks;
}

describe('topKMasks', () => {
  it('prunes the lowest scores, ties by index', () => {
    expect(Array.from(topKMasks([f32([3, 1, 2, 1, 5])], 0.4)[0]!)).toEqual([1, 0, 1, 0, 1]);
    expect(Array.from(topKMasks([f32([1, 1, 1, 1])], 0.5)[0]!)).toEqual([0, 0, 1, 1]);
    expect(Array.from(topKMasks([f32([-1, -0, 0, 2, -Infinity, Infinity])], 0.5)[0]!)).toEqual([0, 0, 1, 1, 0, 1]);
  });
  it('uses one threshold over all gates, or one per gate', () => {
    const scores = [f32([1, 2, 3, 4]), f32([10, 20, 30, 40])];
    expect(topKMasks(scores, 0.5).map((m) => Array.from(m))).toEqual([[0, 0, 0, 0], [1, 1, 1, 1]]);
    expect(topKMasks(scores, 0.5, { scope: 'per_gate' }).map((m) => Array.from(m))).toEqual([[0, 0, 1, 1], [0, 0, 1, 1]]);
  });
  it('keeps previously pruned weights pruned (monotone) and counts them toward the target', () => {
    const prev = [Uint8Array.from([1, 1, 0, 1, 1])];
    expect(Array.from(topKMasks([f32([3, 1, 9, 2, 5])], 0.4, { previousMasks: prev })[0]!)).toEqual([1, 0, 0, 1, 1]);
    // More already pruned than asked: nothing revived, nothing added.
    expect(Array.from(topKMasks([f32([3, 1, 9, 2, 5])], 0.2, { previousMasks: [Uint8Array.from([0, 1, 0, 1, 1])] })[0]!)).toEqual([0, 1, 0, 1, 1]);
  });
  it('matches a sort-based reference on random scores with many ties', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const scores = [0, 1, 2].map(() => Float32Array.from({ length: 1 + rng.int(500) }, () => Math.round(rng.normal() * 4) / 2));
      const previous = trial % 2 ? scores.map((s) => Uint8Array.from(s, () => (rng.next() < 0.2 ? 0 : 1))) : undefined;
      const sparsity = rng.next();
      const got = topKMasks(scores, sparsity, { previousMasks: previous });
      expect(got.map((m) => Array.from(m))).toEqual(referenceMasks(scores, sparsity, previous).map((m) => Array.from(m)));
      const perGate = topKMasks(scores, sparsity, { scope: 'per_gate', previousMasks: previous });
      scores.forEach((s, g) => expect(Array.from(perGate[g]!)).toEqual(Array.from(referenceMasks([s], sparsity, previous ? [previous[g]!] : undefined)[0]!)));
    }
  });
  it('hits exact counts at 0 and 1', () => {
    expect(Array.from(topKMasks([f32([1, 2, 3])], 0)[0]!)).toEqual([1, 1, 1]);
    expect(Array.from(topKMasks([f32([1, 2, 3])], 1)[0]!)).toEqual([0, 0, 0]);
  });
  it('rejects NaN scores with the gate and index', () => {
    expect(() => topKMasks([f32([1, NaN])], 0.5, { names: ['encoder.layer.0.output.dense'] })).toThrow(/NaN at index 1 of gate encoder.layer.0.output.dense/);
  });
});

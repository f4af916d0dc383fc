import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { partlyMaskedGroups } from '../testing/whole_groups.js';
import { thresholdMasks, topKMasks } from './topk.js';
import type { Granularity } from './groups.js';

const f32 = (values: number[]) => Float32Array.from(values);
const zeros = (masks: Uint8Array[]) => masks.reduce((n, m) => n + m.filter((v) => v === 0).length, 0);

/** One encoder layer's six gates: d 4, head size 2 (2 heads), dff 3. Head = 4·4·2 = 32 weights, neuron = 8. */
function layerLayout(layer: number): { name: string; shape: [number, number] }[] {
  const p = `encoder.layer.${layer}.`;
  return [
    { name: `${p}attention.self.query`, shape: [4, 4] },
    { name: `${p}attention.self.key`, shape: [4, 4] },
    { name: `${p}attention.self.value`, shape: [4, 4] },
    { name: `${p}attention.output.dense`, shape: [4, 4] },
    { name: `${p}intermediate.dense`, shape: [4, 3] },
    { name: `${p}output.dense`, shape: [3, 4] },
  ];
}

const randomScores = (layout: { shape: [number, number] }[], seed: number) => {
  const rng = new Rng(seed);
  return layout.map(({ shape }) => Float32Array.from({ length: shape[0] * shape[1] }, () => rng.next()));
};

const STRUCTURED: Granularity = { kind: 'structured', headSize: 2 };

describe('topKMasks at block granularity', () => {
  it('masks the [rows, cols] tiles of lowest mean score, edge tiles smaller', () => {
    // 3x3 with 2x2 blocks: tiles (0,0) 4 weights, (0,1) 2, (1,0) 2, (1,1) 1.
    const scores = [f32([5, 5, 1, 5, 5, 1, 9, 9, 0.5])];
    // Means: (0,0) 5, (0,1) 1, (1,0) 9, (1,1) 0.5. Target round(0.4·9) = 4: take (1,1) [1], (0,1) [2], skip (0,0) [4 > 1 left], skip (1,0) [2 > 1].
    const [mask] = topKMasks(scores, 0.4, { granularity: { kind: 'block', block: [2, 2] }, shapes: [[3, 3]] });
    expect(Array.from(mask!)).toEqual([1, 1, 0, 1, 1, 0, 1, 1, 0]);
  });

  it('scores a group by the mean, not the sum, so a small edge tile with high scores is kept', () => {
    // 2x3 with 2x2 blocks: tile 0 = [0.5, 1.5, 1, 1] (mean 1, sum 4), tile 1 = [1.2, 1.2] (mean 1.2, sum 2.4).
    // Target 4: by mean tile 0 goes; by sum tile 1 would; single weights would take 0.5, 1, 1, 1.2.
    const [mask] = topKMasks([f32([0.5, 1.5, 1.2, 1, 1, 1.2])], 0.6, { granularity: { kind: 'block', block: [2, 2] }, shapes: [[2, 3]] });
    expect(Array.from(mask!)).toEqual([0, 0, 1, 0, 0, 1]);
  });

  it('skips a group that would overshoot and fills with smaller ones, never going above the target', () => {
    const layout = Array.from({ length: 3 }, () => ({ shape: [5, 7] as [number, number] }));
    for (const seed of [1, 2, 3]) {
      const scores = randomScores(layout, seed);
      for (const s of [0.1, 0.37, 0.5, 0.83]) {
        const granularity: Granularity = { kind: 'block', block: [2, 3] };
        const masks = topKMasks(scores, s, { granularity, shapes: layout.map((l) => l.shape) });
        const target = Math.round(s * 105);
        expect(zeros(masks)).toBeLessThanOrEqual(target);
        expect(target - zeros(masks)).toBeLessThan(6); // less than one full block
        expect(partlyMaskedGroups(masks.map((mask, g) => ({ name: `g${g}`, shape: layout[g]!.shape, mask })), granularity)).toEqual([]);
      }
    }
  });

  it('per_gate ranks each gate on its own', () => {
    // Row tiles: gate 0 means 2.5 and 2, gate 1 means 8 and 9.
    const scores = [f32([1, 4, 2, 2]), f32([8, 8, 9, 9])];
    const options = { granularity: { kind: 'block', block: [1, 2] } as Granularity, shapes: [[2, 2], [2, 2]] as [number, number][] };
    expect(topKMasks(scores, 0.5, options).map((m) => Array.from(m))).toEqual([[0, 0, 0, 0], [1, 1, 1, 1]]);
    expect(topKMasks(scores, 0.5, { ...options, scope: 'per_gate' }).map((m) => Array.from(m))).toEqual([[1, 1, 0, 0], [0, 0, 1, 1]]);
  });

  it('breaks ties by the lowest index', () => {
    // Both row tiles have mean 3; the first goes, although the second holds the lowest weight.
    const [mask] = topKMasks([f32([3, 3, 3, 1, 5, 3])], 0.5, { granularity: { kind: 'block', block: [1, 3] }, shapes: [[2, 3]] });
    expect(Array.from(mask!)).toEqual([0, 0, 0, 1, 1, 1]);
  });
});

describe('topKMasks at structured granularity', () => {
  const layout = [...layerLayout(0), ...layerLayout(1)];
  const names = layout.map((l) => l.name);
  const shapes = layout.map((l) => l.shape);

  it('masks whole heads (q/k/v columns + attention-output rows) and neurons (intermediate column + output row)', () => {
    // Head 1 of layer 0 scores 0 where it lives but one weight of 2 (mean 1/16), everything else 1 but one
    // weight of -5 in neuron 0 (mean 0.25): pruning 32 of 2·(4·16+2·12) = 176 removes exactly head 1.
    const scores = layout.map(({ shape }) => new Float32Array(shape[0] * shape[1]).fill(1));
    for (let g = 0; g < 3; g++) for (let r = 0; r < 4; r++) scores[g]!.fill(0, r * 4 + 2, r * 4 + 4); // q, k, v columns 2..3
    scores[3]!.fill(0, 8, 16); // attention output rows 2..3
    scores[0]![2] = 2;
    scores[5]![1] = -5; // output row 0: neuron 0
    const masks = topKMasks(scores, 32 / 176, { granularity: STRUCTURED, names, shapes });
    expect(zeros(masks)).toBe(32);
    expect(Array.from(masks[0]!)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    expect(Array.from(masks[3]!)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(masks.slice(4).every((m) => m.every((v) => v === 1))).toBe(true);
  });

  it('removes only whole units at any sparsity, within one head of the target, globally and per layer', () => {
    for (const seed of [4, 5]) {
      const scores = randomScores(layout, seed);
      for (const s of [0.2, 0.5, 0.75, 0.9]) {
        for (const scope of ['global', 'per_gate'] as const) {
          const masks = topKMasks(scores, s, { granularity: STRUCTURED, names, shapes, scope });
          expect(partlyMaskedGroups(masks.map((mask, g) => ({ ...layout[g]!, mask })), STRUCTURED)).toEqual([]);
          const gap = Math.round(s * 176) - zeros(masks);
          expect(gap).toBeGreaterThanOrEqual(0);
          expect(gap).toBeLessThan(scope === 'global' ? 32 : 64);
          if (scope === 'per_gate') {
            // per layer: each layer (88 weights) on its own reaches its target to within one head.
            for (const half of [masks.slice(0, 6), masks.slice(6)]) expect(Math.round(s * 88) - zeros(half)).toBeLessThan(32);
          }
        }
      }
    }
  });

  it('is monotone: fully masked units stay masked and count; a partly masked unit keeps its masked weights', () => {
    const scores = randomScores(layout, 6);
    const first = topKMasks(scores, 0.3, { granularity: STRUCTURED, names, shapes });
    const partly = first.map((m) => Uint8Array.from(m));
    partly[5]![0] = 0; // one weight of neuron 0 of layer 0 (output row 0)
    const flipped = scores.map((s) => s.map((v) => 1 - v)); // the old choice now scores highest
    const second = topKMasks(flipped, 0.5, { granularity: STRUCTURED, names, shapes, previousMasks: partly });
    second.forEach((m, g) => m.forEach((v, i) => partly[g]![i] === 0 && expect(v).toBe(0)));
    // Whole units, but for the partly masked neuron when it was not taken.
    const broken = partlyMaskedGroups(second.map((mask, g) => ({ ...layout[g]!, mask })), STRUCTURED);
    expect(broken.every((b) => b.startsWith('neuron 0 of layer 0:'))).toBe(true);
    expect(zeros(second)).toBeLessThanOrEqual(88);
    // Already past the target: nothing more is pruned, nothing revived.
    const again = topKMasks(scores, 0.1, { granularity: STRUCTURED, names, shapes, previousMasks: first });
    expect(again.map((m) => Array.from(m))).toEqual(first.map((m) => Array.from(m)));
  });

  it('refuses a gate that is not an encoder-layer matrix, naming it', () => {
    const bad = [...layerLayout(0), { name: 'pooler.dense', shape: [4, 4] as [number, number] }];
    expect(() => topKMasks(randomScores(bad, 1), 0.5, { granularity: STRUCTURED, names: bad.map((l) => l.name), shapes: bad.map((l) => l.shape) })).toThrow(
      /gate 'pooler.dense' is not one of them/,
    );
  });

  it('says what is missing: shapes, names, or scores matching the shape; NaN names the gate', () => {
    const scores = randomScores(layout, 1);
    expect(() => topKMasks(scores, 0.5, { granularity: STRUCTURED, names })).toThrow(/structured granularity needs options.shapes/);
    expect(() => topKMasks(scores, 0.5, { granularity: STRUCTURED, shapes })).toThrow(/structured granularity needs options.names/);
    expect(() => topKMasks(scores, 0.5, { granularity: STRUCTURED, names, shapes: shapes.map(() => [2, 2] as [number, number]) })).toThrow(
      /gate encoder.layer.0.attention.self.query has shape \[2, 2\] \(4 weights\) but 16 scores/,
    );
    const nan = scores.map((s) => Float32Array.from(s));
    nan[4]![7] = NaN;
    expect(() => topKMasks(nan, 0.5, { granularity: STRUCTURED, names, shapes })).toThrow(/NaN at index 7 of gate encoder.layer.0.intermediate.dense/);
  });
});

describe('thresholdMasks', () => {
  it('keeps single weights at or above the threshold, and masked weights masked', () => {
    expect(Array.from(thresholdMasks([f32([0.5, 1, 2, 3])], 1, { previousMasks: [Uint8Array.from([1, 1, 1, 0])] })[0]!)).toEqual([0, 1, 1, 0]);
  });

  it('keeps a whole group when its mean score is at least the threshold', () => {
    // 2x4 in [1, 2] blocks: means 0.5, 1.5, 1, 0.75.
    const [mask] = thresholdMasks([f32([0, 1, 1, 2, 1, 1, 0.5, 1])], 1, { granularity: { kind: 'block', block: [1, 2] }, shapes: [[2, 4]] });
    expect(Array.from(mask!)).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
  });
});

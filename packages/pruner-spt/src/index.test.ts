import { afterEach, describe, expect, it } from 'vitest';
import { Rng, tf, type PruningSpec } from '@gbp/core';
import { createTestContext, drivePruner, type GradientSource, type TestContext } from '@gbp/core/testing';
import spt, { defaultEpsilon, REFERENCE_GATED_WEIGHTS } from './index.js';

type SptState = { rewards: Record<string, Float32Array>; explored: Record<string, Int32Array>; last_target: number; epsilon: number };

const contexts: TestContext[] = [];
afterEach(() => contexts.splice(0).forEach((c) => c.dispose()));

function makeContext(pruning: Partial<PruningSpec>, opts: { epochs?: number; stepsPerEpoch?: number; values?: number[] } = {}) {
  const values = opts.values ?? new Rng(9).shuffle(Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000));
  const ctx = createTestContext({
    gates: [
      { name: 'a', shape: [20, 25], values: values.slice(0, 500) },
      { name: 'b', shape: [25, 20], values: values.slice(500) },
    ],
    epochs: opts.epochs ?? 2,
    stepsPerEpoch: opts.stepsPerEpoch ?? 5,
    pruning,
    name: 'spt',
  });
  contexts.push(ctx);
  return ctx;
}
const zeros = (masks: Uint8Array[]) => masks.map((m) => m.filter((x) => x === 0).length);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const constantGradients =
  (value: (gate: number, k: number) => number): GradientSource =>
  (ctx) =>
    new Map(ctx.gates.map((g, gi) => [g.name, tf.tensor2d(Float32Array.from({ length: g.size }, (_, k) => value(gi, k)), g.shape as [number, number])]));

describe('spt: epsilon scaled by model size', () => {
  it('is 0.0025 for BERT-base and scales with 1/sqrt(size), clipped to [0.0005, 0.02]', () => {
    expect(defaultEpsilon(REFERENCE_GATED_WEIGHTS)).toBeCloseTo(0.0025, 12);
    expect(defaultEpsilon(4 * REFERENCE_GATED_WEIGHTS)).toBeCloseTo(0.00125, 12);
    expect(defaultEpsilon(1_048_576)).toBe(0.02); // tiny: 0.0225 clipped
    expect(defaultEpsilon(1e12)).toBe(0.0005);
  });
});

describe('spt: exploration', () => {
  it('masks round(ε·live) live weights for one step, never across an epoch end', async () => {
    const ctx = makeContext({ start_epoch: 1, end_epoch: 2, sparsity_steps: [20, 40] });
    const seen: { step: number; zeros: number; committed: number; explored: number }[] = [];
    let lastExplored: Int32Array[] = [];
    await drivePruner(spt, { epsilon: 0.1 }, ctx, {
      onStep: (c, step, instance) => {
        const explored = Object.values((instance.state() as SptState).explored);
        const masks = c.masks();
        // Explored weights are masked and were live; the previous set is restored (a new draw).
        explored.forEach((e, g) => e.forEach((k) => expect(masks[g]![k]).toBe(0)));
        if (explored.some((e) => e.length > 0)) expect(explored.map((e) => Array.from(e))).not.toEqual(lastExplored.map((e) => Array.from(e)));
        lastExplored = explored;
        const explorations = sum(explored.map((e) => e.length));
        seen.push({ step, zeros: sum(zeros(masks)), committed: sum(zeros(masks)) - explorations, explored: explorations });
      },
    });
    expect(seen.map((s) => s.explored)).toEqual([100, 100, 100, 100, 0, 80, 80, 80, 80, 0]);
    expect(seen.map((s) => s.committed)).toEqual([0, 0, 0, 0, 200, 200, 200, 200, 200, 400]);
    expect(sum(zeros(ctx.masks()))).toBe(400); // after teardown: no exploration left
  });

  it('explores round(ε·live_g) in every gate with explore_per_layer', async () => {
    const ctx = makeContext({ start_epoch: 1, end_epoch: 2, sparsity_steps: [30, 40] }, { stepsPerEpoch: 3 });
    const perGate: number[][] = [];
    await drivePruner(spt, { epsilon: 0.05, explore_per_layer: true, scope: 'per_layer' }, ctx, {
      onStep: (_c, _s, instance) => perGate.push(Object.values((instance.state() as SptState).explored).map((e) => e.length)),
    });
    // 500 live per gate -> 25 each; after 30% per layer, 350 live -> round(17.5) = 18 each.
    expect(perGate).toEqual([[25, 25], [25, 25], [0, 0], [18, 18], [18, 18], [0, 0]]);
  });

  it('explores nothing before the window or once the final target is reached', async () => {
    const ctx = makeContext({ start_epoch: 2, end_epoch: 2, sparsity_steps: [50] }, { epochs: 3, stepsPerEpoch: 2 });
    const explored: number[] = [];
    await drivePruner(spt, { epsilon: 0.1 }, ctx, {
      onStep: (_c, _s, instance) => explored.push(sum(Object.values((instance.state() as SptState).explored).map((e) => e.length))),
    });
    expect(explored).toEqual([0, 0, 100, 0, 0, 0]);
  });
});

describe('spt: rewards', () => {
  it('are the EMA of G·W over the explored weights only', async () => {
    const ctx = makeContext({ start_epoch: 1, end_epoch: 2, sparsity_steps: [20, 40] });
    const grad = (g: number, k: number) => ((k % 7) - 3) * 0.01 * (g + 1);
    // Stop after setup and beforeEpoch: the first exploration set is drawn, no reward yet.
    const first = await drivePruner(spt, { epsilon: 0.1, reward_alpha: 0.25 }, ctx, { stopAfterStep: 0 });
    const s0 = first.state() as SptState;
    expect(Object.values(s0.rewards).every((r) => r.every((x) => x === 0))).toBe(true);
    const w = ctx.gates.map((g) => g.weight.dataSync());
    const s1Holder: SptState[] = [];
    await drivePruner(spt, { epsilon: 0.1, reward_alpha: 0.25 }, ctx, {
      state: structuredClone(s0),
      gradients: constantGradients(grad),
      stopAfterStep: 2,
      onStep: (_c, _s, instance) => s1Holder.push(instance.state() as SptState),
    });
    const [afterStep1, afterStep2] = s1Holder;
    ['a', 'b'].forEach((name, g) => {
      const e1 = new Set(s0.explored[name]);
      afterStep1!.rewards[name]!.forEach((r, k) => expect(r).toBeCloseTo(e1.has(k) ? 0.25 * grad(g, k) * w[g]![k]! : 0, 7));
      const e2 = new Set(afterStep1!.explored[name]);
      afterStep2!.rewards[name]!.forEach((r, k) => {
        const r1 = afterStep1!.rewards[name]![k]!;
        expect(r).toBeCloseTo(e2.has(k) ? 0.75 * r1 + 0.25 * grad(g, k) * w[g]![k]! : r1, 7);
      });
    });
  });
});

describe('spt: pruning', () => {
  it('prunes by magnitude when no reward is known (reward_weight 0)', async () => {
    const ctx = makeContext({ start_epoch: 1, end_epoch: 1, sparsity_steps: [30] }, { epochs: 1 });
    await drivePruner(spt, { epsilon: 0.1, reward_weight: 0 }, ctx, { gradients: constantGradients(() => 1) });
    const masks = ctx.masks().flatMap((m) => Array.from(m));
    const w = ctx.gates.flatMap((g) => Array.from(g.weight.dataSync()));
    w.forEach((v, i) => expect(masks[i]).toBe(v <= 0.3 + 1e-6 ? 0 : 1)); // weights are 0.001..1
  });

  it('prunes the weights whose removal helped first: keep score |W|/ρ_W − λ·R/ρ_R', async () => {
    // All |W| = 1, so only rewards decide; restore rewards: +1 on 300 weights, -1 on 300, 0 elsewhere.
    const values = Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : -1));
    const ctx = makeContext({ start_epoch: 1, end_epoch: 1, sparsity_steps: [30] }, { epochs: 1, values });
    const reward = (i: number) => (i % 10 < 3 ? 1 : i % 10 < 6 ? -1 : 0);
    const rewards = { a: Float32Array.from({ length: 500 }, (_, k) => reward(k)), b: Float32Array.from({ length: 500 }, (_, k) => reward(500 + k)) };
    const state = { rewards, explored: { a: new Int32Array(0), b: new Int32Array(0) }, last_target: 0, epsilon: 0.01 };
    await drivePruner(spt, { epsilon: 0.01 }, ctx, { state });
    const masks = ctx.masks().flatMap((m) => Array.from(m));
    // Explored weights with zero gradients decay their reward but keep its sign.
    masks.forEach((m, i) => expect(m).toBe(reward(i) === 1 ? 0 : 1));
  });

  it('trades magnitude against reward on one normalised scale', async () => {
    // Gate a: |W| = 1 everywhere except 10 weights of |W| = 3; rewards R = 1 on those 10 only.
    // ρ_W = sqrt((990 + 90)/1000) = 1.039, ρ_R = 1: keep = 3/1.039 − λ. With λ = 3, 2.89 − 3 < 0.96:
    // the large rewarded weights go first; with λ = 1 (1.89 > 0.96) the small ones go.
    for (const [lambda, bigPruned] of [[3, true], [1, false]] as const) {
      const values = Array.from({ length: 1000 }, (_, i) => (i < 10 ? 3 : 1));
      const ctx = makeContext({ start_epoch: 1, end_epoch: 1, sparsity_steps: [1] }, { epochs: 1, values });
      const rewards = { a: Float32Array.from({ length: 500 }, (_, k) => (k < 10 ? 1 : 0)), b: new Float32Array(500) };
      const state = { rewards, explored: { a: new Int32Array(0), b: new Int32Array(0) }, last_target: 0, epsilon: 0.01 };
      await drivePruner(spt, { epsilon: 0.001, reward_weight: lambda }, ctx, { state });
      const a = ctx.masks()[0]!;
      expect(Array.from(a.slice(0, 10)).every((m) => m === (bigPruned ? 0 : 1))).toBe(true);
      expect(sum(zeros(ctx.masks()))).toBe(10);
    }
  });

  it('reaches each listed value at step ceil(t_k · stepsPerEpoch), monotone', async () => {
    // 5 values over the window [1, 2], 4 steps per epoch: t_k = 1, 1.25, 1.5, 1.75, 2 -> steps 4..8.
    const ctx = makeContext({ start_epoch: 1, end_epoch: 2, sparsity_steps: [10, 20, 30, 40, 50] }, { epochs: 3, stepsPerEpoch: 4 });
    const committed: number[] = [];
    let previous: Uint8Array[] | undefined;
    await drivePruner(spt, { epsilon: 0.02 }, ctx, {
      gradients: constantGradients((g, k) => Math.sin(k + g)),
      onStep: (c, _s, instance) => {
        const explored = (instance.state() as SptState).explored;
        const masks = c.masks().map((m, g) => {
          const copy = m.slice();
          explored[c.gates[g]!.name]!.forEach((k) => (copy[k] = 1));
          return copy;
        });
        previous?.forEach((m, g) => m.forEach((x, k) => x === 0 && expect(masks[g]![k]).toBe(0)));
        previous = masks;
        committed.push(sum(zeros(masks)));
      },
    });
    expect(committed).toEqual([0, 0, 0, 100, 200, 300, 400, 500, 500, 500, 500, 500]);
  });
});

describe('spt: checkpoints', () => {
  it('resumes from state() (with the rng and masks restored) to the same masks and rewards', async () => {
    const pruning = { start_epoch: 1, end_epoch: 2, sparsity_steps: [10, 25, 40, 55] };
    const opts = { epsilon: 0.05 };
    const gradients = constantGradients((g, k) => Math.cos(k * 0.37 + g));
    const full = makeContext(pruning, { epochs: 3, stepsPerEpoch: 4 });
    const fullInstance = await drivePruner(spt, opts, full, { gradients, teardown: false });

    const first = makeContext(pruning, { epochs: 3, stepsPerEpoch: 4 });
    const instance = await drivePruner(spt, opts, first, { gradients, stopAfterStep: 6 });
    const state = structuredClone(instance.state());
    const resumed = makeContext(pruning, { epochs: 3, stepsPerEpoch: 4 });
    resumed.rng.restore(first.rng.state());
    first.masks().forEach((m, g) => resumed.gates[g]!.setMask(m)); // checkpoint masks, exploration included
    const resumedInstance = await drivePruner(spt, opts, resumed, { gradients, startStep: 6, state, teardown: false });
    expect(resumed.masks()).toEqual(full.masks());
    expect(resumedInstance.state()).toEqual(fullInstance.state());
  });
});

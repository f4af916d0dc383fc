import { afterEach, describe, expect, it } from 'vitest';
import { Rng, tf, type PruningSpec } from '@gbp/core';
import { createTestContext, drivePruner, partlyMaskedGroups, type GradientSource, type TestContext } from '@gbp/core/testing';
import movement, { defaultFrequency } from './index.js';

const contexts: TestContext[] = [];
afterEach(() => contexts.splice(0).forEach((c) => c.dispose()));

// A tiny linear model y = x · (W ⊙ M) with loss mean((y - t)^2) over all outputs.
const N = 6;
const IN = 4;
const OUT = 3;
const rng = new Rng(11);
const X = Float64Array.from({ length: N * IN }, () => rng.normal());
const T = Float64Array.from({ length: N * OUT }, () => rng.normal());
const LR = 0.05;

function makeContext(pruning: Partial<PruningSpec>, stepsPerEpoch = 4, epochs = 3) {
  const ctx = createTestContext({ gates: [{ name: 'lin', shape: [IN, OUT] }], epochs, stepsPerEpoch, pruning, seed: 5 });
  contexts.push(ctx);
  return ctx;
}

/** GateGradients as the trainer makes them: tf.grad of the loss w.r.t. the effective weight W ⊙ M. */
const tfGradients: GradientSource = (ctx) => {
  const gate = ctx.gates[0]!;
  const grad = tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(X), [N, IN]);
    const t = tf.tensor2d(Float32Array.from(T), [N, OUT]);
    const loss = (wEff: tf.Tensor) => tf.mean(tf.square(tf.sub(tf.matMul(x, wEff as tf.Tensor2D), t)));
    return tf.grad(loss)(tf.mul(gate.weight, gate.mask)) as tf.Tensor2D;
  });
  return new Map([[gate.name, grad]]);
};

/** A plain SGD step on the live weights, so W changes between steps. */
function sgdStep(ctx: TestContext) {
  const gate = ctx.gates[0]!;
  const grads = tfGradients(ctx, 0).get(gate.name)!;
  tf.tidy(() => gate.weight.assign(gate.weight.sub(grads.mul(gate.mask).mul(LR))));
  grads.dispose();
}

/** Independent reference in float64: S = -Σ_t ∂L/∂W'_t ⊙ W_t with ∂L/∂W' = (2 / (N·OUT)) Xᵀ(X W' − T). */
function referenceScores(w0: Float64Array, maskAt: (step: number) => Float64Array, steps: number, opts: { sgd?: boolean; l1?: number } = {}): Float64Array {
  const { sgd = true, l1 = 0 } = opts;
  const w = Float64Array.from(w0);
  const s = new Float64Array(IN * OUT);
  for (let step = 1; step <= steps; step++) {
    const m = maskAt(step);
    const g = new Float64Array(IN * OUT);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OUT; o++) {
        let y = 0;
        for (let i = 0; i < IN; i++) y += X[n * IN + i]! * w[i * OUT + o]! * m[i * OUT + o]!;
        const r = (2 / (N * OUT)) * (y - T[n * OUT + o]!);
        for (let i = 0; i < IN; i++) g[i * OUT + o]! += X[n * IN + i]! * r;
      }
    }
    for (let k = 0; k < w.length; k++) {
      s[k]! -= g[k]! * w[k]! + l1 * Math.sign(s[k]!);
      if (sgd) w[k]! -= LR * g[k]! * m[k]!;
    }
  }
  return s;
}

describe('movement pruner', () => {
  it('accumulates S = -Σ dL/dW\' ⊙ W, equal to an independent float64 computation', async () => {
    const ctx = makeContext({ end_sparsity: 0.5, start_epoch: 3, end_epoch: 3 });
    const w0 = Float64Array.from(ctx.gates[0]!.weight.dataSync());
    const mask = Float64Array.from({ length: IN * OUT }, (_, k) => (k % 5 === 2 ? 0 : 1));
    ctx.gates[0]!.setMask(Float32Array.from(mask)); // masked entries still get dense gradients
    const instance = await drivePruner(movement, {}, ctx, { gradients: tfGradients, onStep: (c) => sgdStep(c), stopAfterStep: 6 });
    const scores = (instance.state() as { scores: Record<string, Float32Array> }).scores.lin!;
    const reference = referenceScores(w0, () => mask, 6);
    expect(Math.max(...reference.map(Math.abs))).toBeGreaterThan(1e-3);
    reference.forEach((r, k) => expect(scores[k]).toBeCloseTo(r, 4));
  });

  it('keeps the top scores at every frequency_steps on the schedule, per layer by default', async () => {
    const ctx = makeContext({ start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 3 });
    const pruned: number[] = [];
    const instance = await drivePruner(movement, { frequency_steps: 2 }, ctx, {
      gradients: tfGradients,
      onStep: (c) => {
        sgdStep(c);
        pruned.push(c.masks()[0]!.filter((x) => x === 0).length);
      },
      teardown: false,
    });
    // 12 weights; t = step/4, f = (t - 1)/2: step 6 -> 12.5% (2), 8 -> 25% (3), 10 -> 37.5% (5), 12 -> 50% (6).
    expect(pruned).toEqual([0, 0, 0, 0, 0, 2, 2, 3, 3, 5, 5, 6]);
    const scores = (instance.state() as { scores: Record<string, Float32Array> }).scores.lin!;
    const order = Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]! || a - b);
    const mask = ctx.masks()[0]!;
    order.forEach((k, rank) => expect(mask[k]).toBe(rank < 6 ? 0 : 1));
    instance.teardown?.(ctx);
  });

  it('never revives with monotone, and hits the cubic schedule at epoch ends', async () => {
    const ctx = makeContext({ start_sparsity: 0, end_sparsity: 0.75, start_epoch: 1, end_epoch: 3 });
    const history: Uint8Array[] = [];
    await drivePruner(movement, { frequency_steps: 3, schedule: 'cubic', monotone: true }, ctx, {
      gradients: tfGradients,
      onStep: (c) => {
        sgdStep(c);
        history.push(c.masks()[0]!);
      },
    });
    for (let i = 1; i < history.length; i++) history[i - 1]!.forEach((x, k) => x === 0 && expect(history[i]![k]).toBe(0));
    // cubic: step 8 (f = 0.5) -> 0.75 - 0.75/8 = 65.6% of 12 = 8; step 12 -> 9.
    expect(history[7]!.filter((x) => x === 0)).toHaveLength(8);
    expect(history[11]!.filter((x) => x === 0)).toHaveLength(9);
  });

  it('soft mode keeps scores >= threshold and applies the L1 term', async () => {
    const lambda = 0.01;
    const ctx = makeContext({ start_epoch: 1, end_epoch: 2 }, 1, 2); // soft masks act inside the window: steps 1 and 2
    const w = Float64Array.from(ctx.gates[0]!.weight.dataSync());
    const masks: Uint8Array[] = [];
    const instance = await drivePruner(movement, { mode: 'soft', l1: lambda, threshold: 0, frequency_steps: 1 }, ctx, {
      gradients: tfGradients,
      onStep: (c) => masks.push(c.masks()[0]!),
      teardown: false,
    });
    const scores = (instance.state() as { scores: Record<string, Float32Array> }).scores.lin!;
    const mask1 = Float64Array.from(masks[0]!);
    const ones = new Float64Array(IN * OUT).fill(1);
    const s1 = referenceScores(w, () => ones, 1, { sgd: false });
    mask1.forEach((m, k) => expect(m).toBe(s1[k]! >= 0 ? 1 : 0));
    expect(mask1.includes(0)).toBe(true);
    // Step 2 sees W' = W ⊙ M1; S2 = S1 − G2 ⊙ W − λ·sign(S1).
    const s2 = referenceScores(w, (step) => (step === 1 ? ones : mask1), 2, { sgd: false, l1: lambda });
    s2.forEach((r, k) => expect(scores[k]).toBeCloseTo(r, 4));
    masks[1]!.forEach((m, k) => expect(m).toBe(scores[k]! >= 0 ? 1 : 0));
    instance.teardown?.(ctx);
  });

  it('resumes from state() exactly and leaks no tensors', async () => {
    const pruning = { start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 3 };
    const opts = { frequency_steps: 2, scope: 'global' };
    const full = makeContext(pruning);
    const before = tf.memory().numTensors;
    await drivePruner(movement, opts, full, { gradients: tfGradients });
    expect(tf.memory().numTensors).toBe(before); // teardown disposed the scores

    const first = makeContext(pruning);
    const instance = await drivePruner(movement, opts, first, { gradients: tfGradients, stopAfterStep: 7 });
    const state = structuredClone(instance.state());
    instance.teardown?.(first);
    const resumed = makeContext(pruning);
    resumed.gates[0]!.setMask(first.masks()[0]!);
    await drivePruner(movement, opts, resumed, { gradients: tfGradients, startStep: 7, state });
    expect(resumed.masks()).toEqual(full.masks());
  });

  it('defaults to 400 steps, or a quarter epoch for short epochs', () => {
    expect([1, 10, 1000, 1600, 8000].map(defaultFrequency)).toEqual([1, 3, 250, 400, 400]);
  });

  it('soft mode masks whole heads and neurons at structured granularity (a unit kept when its mean score reaches the threshold)', async () => {
    // One layer, d 4, 2 heads of 2, dff 4, gates named as in the model; seeded random gradients.
    const p = 'encoder.layer.0.';
    const shapes: [string, [number, number]][] = [
      ['attention.self.query', [4, 4]],
      ['attention.self.key', [4, 4]],
      ['attention.self.value', [4, 4]],
      ['attention.output.dense', [4, 4]],
      ['intermediate.dense', [4, 4]],
      ['output.dense', [4, 4]],
    ];
    const ctx = createTestContext({
      gates: shapes.map(([name, shape]) => ({ name: p + name, shape })),
      pruning: { start_epoch: 1, end_epoch: 2, granularity: 'structured' },
      model: { d_model: 4, num_heads: 2 },
      epochs: 2,
      stepsPerEpoch: 2,
      seed: 3,
    });
    contexts.push(ctx);
    const noise = new Rng(8);
    const gradients: GradientSource = (c) => new Map(c.gates.map((g) => [g.name, tf.tensor2d(Float32Array.from({ length: g.size }, () => noise.normal()), g.shape as [number, number])]));
    await drivePruner(movement, { mode: 'soft', threshold: 0, frequency_steps: 1 }, ctx, { gradients });
    const masks = ctx.masks();
    const granularity = { kind: 'structured', headSize: 2 } as const;
    expect(partlyMaskedGroups(ctx.gates.map((g, i) => ({ name: g.name, shape: g.shape, mask: masks[i]! })), granularity)).toEqual([]);
    const pruned = masks.reduce((n, m) => n + m.filter((v) => v === 0).length, 0);
    expect(pruned).toBeGreaterThan(0);
    expect(pruned).toBeLessThan(128);
  });
});

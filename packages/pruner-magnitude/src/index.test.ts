import { afterEach, describe, expect, it } from 'vitest';
import { Rng, type PruningSpec } from '@gbp/core';
import { createTestContext, drivePruner, type TestContext } from '@gbp/core/testing';
import magnitude from './index.js';

const contexts: TestContext[] = [];
afterEach(() => contexts.splice(0).forEach((c) => c.dispose()));

/** Two gates with distinct weights 1..40 in a seeded order, half of them negative. */
function makeContext(pruning: Partial<PruningSpec>, opts: { epochs?: number; stepsPerEpoch?: number } = {}) {
  const values = new Rng(3).shuffle(Array.from({ length: 40 }, (_, i) => (i + 1) * (i % 2 ? -1 : 1)));
  const ctx = createTestContext({
    gates: [
      { name: 'a', shape: [4, 5], values: values.slice(0, 20) },
      { name: 'b', shape: [5, 4], values: values.slice(20) },
    ],
    epochs: opts.epochs ?? 3,
    stepsPerEpoch: opts.stepsPerEpoch ?? 4,
    pruning,
  });
  contexts.push(ctx);
  return { ctx, values };
}
const prunedOf = (ctx: TestContext) => ctx.masks().reduce((n, m) => n + m.filter((x) => x === 0).length, 0);

describe('magnitude pruner', () => {
  it('prunes the smallest |W| globally at the end of each epoch of the window', async () => {
    const { ctx, values } = makeContext({ start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 });
    const history: number[] = [];
    await drivePruner(magnitude, {}, ctx, { onStep: (c) => history.push(prunedOf(c)) });
    // Steps 1..12: target 0 at the end of epoch 1, 50% (20 of 40) from the end of epoch 2 on.
    expect(history).toEqual([0, 0, 0, 0, 0, 0, 0, 20, 20, 20, 20, 20]);
    const flatMask = ctx.masks().flatMap((m) => Array.from(m));
    values.forEach((v, i) => expect(flatMask[i]).toBe(Math.abs(v) > 20 ? 1 : 0));
  });

  it('prunes each layer to the target with scope per_layer', async () => {
    const { ctx, values } = makeContext({ end_sparsity: 0.25, start_epoch: 1, end_epoch: 1 });
    await drivePruner(magnitude, { scope: 'per_layer' }, ctx);
    ctx.masks().forEach((mask, g) => {
      const gateValues = values.slice(20 * g, 20 * g + 20).map(Math.abs);
      const cut = [...gateValues].sort((x, y) => x - y)[4]!; // the 5 smallest are pruned
      expect(mask.filter((x) => x === 0)).toHaveLength(5);
      gateValues.forEach((v, i) => expect(mask[i]).toBe(v <= cut ? 0 : 1));
    });
  });

  it('follows the linear schedule every frequency_steps inside the window', async () => {
    const { ctx } = makeContext({ start_sparsity: 0, end_sparsity: 0.6, start_epoch: 1, end_epoch: 3 });
    const history: number[] = [];
    await drivePruner(magnitude, { frequency_steps: 2 }, ctx, { onStep: (c) => history.push(prunedOf(c)) });
    // t = step/4, f = (t - 1)/2: step 6 -> 15%, 8 -> 30%, 10 -> 45%, 12 -> 60% of 40 weights.
    expect(history).toEqual([0, 0, 0, 0, 0, 6, 6, 12, 12, 18, 18, 24]);
  });

  it('follows the steps schedule at epoch ends', async () => {
    const { ctx } = makeContext({ start_epoch: 1, end_epoch: 3, sparsity_steps: [20, 40, 60] });
    const byEpoch: number[] = [];
    await drivePruner(magnitude, { schedule: 'steps' }, ctx, { onEpoch: (c) => byEpoch.push(prunedOf(c)) });
    expect(byEpoch).toEqual([8, 16, 24]);
  });

  it('never revives a pruned weight, even when its magnitude grows', async () => {
    const { ctx } = makeContext({ start_sparsity: 0.25, end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 });
    let firstMasks: Uint8Array[] = [];
    await drivePruner(magnitude, {}, ctx, {
      onEpoch: (c, epoch) => {
        if (epoch !== 1) return;
        firstMasks = c.masks();
        // Make the pruned weights the largest: a non-monotone pruner would bring them back.
        c.gates.forEach((g, i) => {
          const w = g.weight.dataSync().map((v, j) => (firstMasks[i]![j] === 0 ? 1000 : v));
          g.weight.assign(c.tf.tensor2d(w, g.shape as [number, number]));
        });
      },
    });
    expect(firstMasks.reduce((n, m) => n + m.filter((x) => x === 0).length, 0)).toBe(10);
    const finalMasks = ctx.masks();
    firstMasks.forEach((m, g) => m.forEach((x, i) => x === 0 && expect(finalMasks[g]![i]).toBe(0)));
    expect(prunedOf(ctx)).toBe(20);
  });

  it('resumes from state() to the same masks as an uninterrupted run', async () => {
    const pruning = { start_sparsity: 0, end_sparsity: 0.6, start_epoch: 1, end_epoch: 3 };
    const full = makeContext(pruning).ctx;
    await drivePruner(magnitude, { frequency_steps: 2, schedule: 'cubic' }, full);

    const first = makeContext(pruning).ctx;
    const instance = await drivePruner(magnitude, { frequency_steps: 2, schedule: 'cubic' }, first, { stopAfterStep: 7 });
    const state = instance.state();
    const resumed = makeContext(pruning).ctx;
    resumed.gates.forEach((g, i) => g.setMask(first.masks()[i]!)); // the trainer restores masks from the checkpoint
    await drivePruner(magnitude, { frequency_steps: 2, schedule: 'cubic' }, resumed, { startStep: 7, state: structuredClone(state) });
    expect(resumed.masks()).toEqual(full.masks());
    expect(state).toEqual({ last_target: expect.any(Number), last_step: 6 });
  });

  it('rejects unknown options by name', async () => {
    const { ctx } = makeContext({});
    await expect(drivePruner(magnitude, { scope: 'layer' }, ctx)).rejects.toThrow(/pruner magnitude:\n {2}- method_options.scope: must be one of "global", "per_layer" \(got "layer"\)/);
  });
});

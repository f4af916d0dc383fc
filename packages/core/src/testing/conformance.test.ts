import { describe, expect, it } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { definePruner } from '../hooks/define.js';
import type { PrunerContext } from '../hooks/types.js';
import { checkPrunerConformance, conformanceChecks, assertConformance, CONFORMANCE_CHECKS, type ConformanceReport } from './conformance.js';

/** Prunes the smallest |W| to the linear target at each epoch end (a minimal conforming pruner). */
function linearMagnitude(ctx: PrunerContext, target = (epoch: number) => ctx.helpers.targetSparsity('linear', ctx.pruning, { epoch, epochs: ctx.epochs })) {
  const s = target(ctx.epoch);
  if (s === 0) return;
  const masks = ctx.helpers.topKMasks(ctx.helpers.magnitudeScores(ctx.gates), s, { previousMasks: ctx.gates.map((g) => ctx.helpers.readMask(g)) });
  ctx.helpers.applyMasks(ctx.gates, masks);
}

const schema = { type: 'object', properties: {}, additionalProperties: false };
const good = definePruner({
  name: 'good',
  optionsSchema: schema,
  create: () => ({ afterEpoch: (ctx) => linearMagnitude(ctx), state: () => null, restore: () => undefined }),
});

const byName = (report: ConformanceReport) => Object.fromEntries(report.results.map((r) => [r.name, r]));
const driven = { 'job-resume': 'driven checks only' };

describe('conformance kit', () => {
  it('passes a conforming pruner on every check, the job included', async () => {
    const report = await checkPrunerConformance(good, { expectedSparsity: 'linear', keepOutputs: true });
    expect(report.results.map((r) => [r.name, r.status])).toEqual(CONFORMANCE_CHECKS.map((n) => [n, 'passed']));
    expect(byName(report).schedule!.message).toBe('epoch 1: 0.00% (expected 0.00%), epoch 2: 37.50% (expected 37.50%), epoch 3: 75.00% (expected 75.00%), epoch 4: 75.00% (expected 75.00%)');
    const jobNote = /^aborted at step 9 and resumed.*epoch 3: 75\.00% \(expected 75\.00%\); outputs in (.+)$/.exec(byName(report)['job-resume']!.message);
    expect(jobNote).not.toBeNull();
    // runJob is given the definition: the kit writes no module for it to import, only data and the two runs.
    const outputs = jobNote![1]!;
    expect((await readdir(outputs)).sort()).toEqual(['cache', 'data', 'interrupted', 'straight']);
    await rm(outputs, { recursive: true, force: true });
    expect(() => assertConformance(report)).not.toThrow();
  });

  it('passes the granularity check with the job-bound helpers, and fails a pruner that masks single weights of its own', async () => {
    const report = await checkPrunerConformance(good, { expectedSparsity: 'linear', skip: { ...driven, 'masks-binary': 'x', deterministic: 'x', 'no-tensor-growth': 'x' } });
    expect(byName(report).granularity).toMatchObject({ status: 'passed' });
    expect(byName(report).granularity!.message).toMatch(/^whole groups after every epoch; block: 0.00%, 3\d.\d\d%, 7\d.\d\d%, 7\d.\d\d%; structured: /);
    const ownGrouping = definePruner({
      name: 'own-grouping',
      optionsSchema: schema,
      create: () => ({
        afterEpoch: (ctx) => {
          const s = ctx.helpers.targetSparsity('linear', ctx.pruning, { epoch: ctx.epoch, epochs: ctx.epochs });
          if (s > 0) ctx.helpers.applyMasks(ctx.gates, ctx.helpers.topKMasks(ctx.helpers.magnitudeScores(ctx.gates), s, { granularity: { kind: 'weight' } }));
        },
        state: () => null,
        restore: () => undefined,
      }),
    });
    const bad = await checkPrunerConformance(ownGrouping, { expectedSparsity: 'linear', skip: { ...driven, 'masks-binary': 'x', deterministic: 'x', 'no-tensor-growth': 'x' } });
    expect(byName(bad).schedule).toMatchObject({ status: 'passed' });
    expect(byName(bad).granularity).toMatchObject({ status: 'failed' });
    expect(byName(bad).granularity!.message).toMatch(/^block granularity, after epoch 2: \d+ groups partly masked, e.g. block \(\d+, \d+\) of encoder.layer.0.attention.self.query#0: \d+ masked, \d+ kept/);
  });

  it('fails a pruner whose masks are not 0/1, and names gate, value and step', async () => {
    const halves = definePruner({
      name: 'halves',
      optionsSchema: schema,
      create: () => ({
        afterStep: (ctx, step) => void (step === 3 && ctx.gates[1]!.mask.assign(tf.fill(ctx.gates[1]!.shape as [number, number], 0.5))),
        state: () => null,
        restore: () => undefined,
      }),
    });
    const report = await checkPrunerConformance(halves, { expectedSparsity: 'linear', skip: driven });
    expect(byName(report)['masks-binary']).toMatchObject({ status: 'failed', message: 'after step 3: gate encoder.layer.0.intermediate.dense mask value 0.5 at index 0 is not 0 or 1' });
    expect(report.passed).toBe(false);
    expect(() => assertConformance(report)).toThrow(/pruner halves fails conformance check 'masks-binary'/);
  });

  it('fails a pruner off its declared schedule, with the per-epoch table', async () => {
    // Declares cubic but prunes linearly: cubic is ahead of linear inside the window.
    const report = await checkPrunerConformance(good, { expectedSparsity: 'cubic', skip: driven });
    expect(byName(report).schedule).toMatchObject({ status: 'failed' });
    expect(byName(report).schedule!.message).toContain('at epoch 2: epoch 1: 0.00% (expected 0.00%), epoch 2: 37.50% (expected 65.63%)');
    // A custom expectation function works the same way.
    const custom = await checkPrunerConformance(good, { expectedSparsity: (epoch) => [0, 0.375, 0.75, 0.75][epoch - 1]!, skip: driven });
    expect(byName(custom).schedule!.status).toBe('passed');
  });

  it('fails a pruner that is not reproducible from its seed', async () => {
    const unseeded = definePruner({
      name: 'unseeded',
      optionsSchema: schema,
      create: () => ({
        afterEpoch(ctx) {
          const s = ctx.helpers.targetSparsity('linear', ctx.pruning, { epoch: ctx.epoch, epochs: ctx.epochs });
          const scores = ctx.gates.map((g) => Float32Array.from({ length: g.size }, () => Math.random()));
          ctx.helpers.applyMasks(ctx.gates, ctx.helpers.topKMasks(scores, s, { previousMasks: ctx.gates.map((g) => ctx.helpers.readMask(g)) }));
        },
        state: () => null,
        restore: () => undefined,
      }),
    });
    const report = await checkPrunerConformance(unseeded, { expectedSparsity: 'linear', skip: driven });
    expect(byName(report).schedule!.status).toBe('passed');
    expect(byName(report).deterministic!.message).toMatch(/^two runs with seed 7 differ after epoch 2: gate encoder\.layer\.0\.attention\.self\.query: \d+ of 256 mask entries differ/);
  });

  it('fails a pruner that leaks a tensor per step, and one that keeps its variables after teardown', async () => {
    const leaky = definePruner({
      name: 'leaky',
      optionsSchema: schema,
      create: () => ({ afterStep: (ctx) => void ctx.gates[0]!.weight.abs(), afterEpoch: (ctx) => linearMagnitude(ctx), state: () => null, restore: () => undefined }),
    });
    const report = await checkPrunerConformance(leaky, { expectedSparsity: 'linear', skip: driven });
    expect(byName(report)['no-tensor-growth']!.message).toMatch(/^8 more live tensors after epoch 3 than after epoch 2/);

    const hoarder = definePruner({
      name: 'hoarder',
      optionsSchema: schema,
      create: (_o, ctx) => {
        const scores = ctx.gates.map((g) => tf.variable(tf.zeros(g.shape as [number, number]), false));
        return { afterEpoch: (c) => linearMagnitude(c), state: () => null, restore: () => undefined, scores };
      },
    });
    const held = await checkPrunerConformance(hoarder, { expectedSparsity: 'linear', skip: driven });
    expect(byName(held)['no-tensor-growth']!.message).toMatch(/^6 tensors still live after teardown/);
  });

  it('fails a pruner whose state() forgets what it needs to resume', async () => {
    // Random pruning from a private RNG that state() does not save: a resumed run draws other weights.
    const forgetful = definePruner({
      name: 'forgetful',
      optionsSchema: schema,
      create: () => {
        const rng = new Rng(5);
        return {
          afterStep(ctx) {
            if (ctx.step % ctx.stepsPerEpoch !== 0) rng.next(); // advances mid-epoch: lost on resume
            if (ctx.step % ctx.stepsPerEpoch !== 0) return;
            const s = ctx.helpers.targetSparsity('linear', ctx.pruning, { epoch: ctx.step / ctx.stepsPerEpoch, epochs: ctx.epochs });
            const scores = ctx.gates.map((g) => Float32Array.from({ length: g.size }, () => rng.next()));
            ctx.helpers.applyMasks(ctx.gates, ctx.helpers.topKMasks(scores, s, { previousMasks: ctx.gates.map((g) => ctx.helpers.readMask(g)) }));
          },
          state: () => null,
          restore: () => undefined,
        };
      },
    });
    const report = await checkPrunerConformance(forgetful, { expectedSparsity: 'linear', skip: { 'masks-binary': 'x', schedule: 'x', deterministic: 'x', 'no-tensor-growth': 'x' } });
    expect(byName(report)['job-resume']).toMatchObject({ status: 'failed' });
    expect(byName(report)['job-resume']!.message).toMatch(/^epoch 2: eval_loss is [\d.]+ in the straight run but [\d.]+ after abort \+ resume$/);
  });

  it('lists named checks and reports skips with their reason', () => {
    const checks = conformanceChecks(good, { expectedSparsity: 'linear', skip: { deterministic: 'not seeded on purpose' } });
    expect(checks.map((c) => c.name)).toEqual([...CONFORMANCE_CHECKS]);
    expect(checks.find((c) => c.name === 'deterministic')!.skip).toBe('not seeded on purpose');
    expect(() => conformanceChecks(good, {} as never)).toThrow(/options\.expectedSparsity is required/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { runJob } from '../job.js';
import { definePruner } from '../hooks/define.js';
import type { PrunerContext, PrunerState } from '../hooks/types.js';
import type { JobEvent } from '../events.js';
import type { JobSpec } from '../spec.js';
import { createTestContext, drivePruner, tinyPruningJobSpec, type GradientSource, type TestContext } from './index.js';
import { writeSyntheticSst2 } from './conformance.js';

// The same pruner, run in a real job and then driven by the kit with the gradients it saw in the
// job: the kit must call the same hooks at the same counters and end with the same masks.

interface Recording {
  /** 'hook(args) epoch=E step=S', in call order. */
  calls: string[];
  /** Per step, each gate's gradient values. */
  gradients: Map<string, Float32Array>[];
  /** Masks after each afterEpoch, in gate order. */
  masks: Uint8Array[][];
  /** The gates as the pruner saw them at create. */
  gates: { name: string; shape: [number, number] }[];
}

const at = (ctx: PrunerContext) => `epoch=${ctx.epoch} step=${ctx.step}`;

/**
 * A pruner that writes down what it sees. It scores weights by Σ|gradient| times a draw from
 * ctx.rng, so its masks depend on the gradients, the hook order and the context's RNG alike.
 */
function recordingPruner(rec: Recording, afterStep: (step: number) => void = () => undefined) {
  return definePruner({
    name: 'recorder',
    optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
    create(_options, ctx) {
      rec.calls.push(`create ${at(ctx)}`);
      rec.gates = ctx.gates.map((g) => ({ name: g.name, shape: [g.shape[0], g.shape[1]] }));
      let scores = ctx.gates.map((g) => new Float32Array(g.size));
      return {
        setup: (c) => void rec.calls.push(`setup ${at(c)}`),
        beforeEpoch: (c, epoch) => void rec.calls.push(`beforeEpoch(${epoch}) ${at(c)}`),
        afterBackward(c, grads) {
          rec.calls.push(`afterBackward(${grads.size} gates) ${at(c)}`);
          rec.gradients.push(new Map([...grads].map(([name, g]) => [name, g.dataSync() as Float32Array])));
          c.gates.forEach((gate, i) => {
            const g = grads.get(gate.name)!.dataSync();
            for (let j = 0; j < g.length; j++) scores[i]![j]! += Math.abs(g[j]!);
          });
        },
        afterStep(c, step) {
          rec.calls.push(`afterStep(${step}) ${at(c)}`);
          afterStep(step);
        },
        afterEpoch(c, epoch) {
          rec.calls.push(`afterEpoch(${epoch}) ${at(c)}`);
          const target = c.helpers.targetSparsity('linear', c.pruning, { epoch, epochs: c.epochs });
          const drawn = scores.map((s) => s.map((v) => v * c.rng.next()));
          c.helpers.applyMasks(c.gates, c.helpers.topKMasks(drawn, target, { previousMasks: c.gates.map((g) => c.helpers.readMask(g)) }));
          rec.masks.push(c.gates.map((g) => c.helpers.readMask(g)));
        },
        teardown: (c) => void rec.calls.push(`teardown ${at(c)}`),
        state: (): PrunerState => ({ scores: [...scores] }),
        restore(state) {
          scores = (state as { scores: Float32Array[] }).scores.map((s) => Float32Array.from(s));
        },
      };
    },
  });
}

const newRecording = (): Recording => ({ calls: [], gradients: [], masks: [], gates: [] });
const ABORT_AFTER_STEP = 8;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-kit-vs-job-'));
  await writeSyntheticSst2(join(root, 'data'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const jobSpec = (outputDir: string): JobSpec => tinyPruningJobSpec({ method: 'recorder', dataDir: join(root, 'data'), outputDir: join(root, outputDir) });

/** Runs the job with the recording pruner (aborting it after step `abortAfter`); returns the recording and the job's steps per epoch. */
async function recordJob(spec: JobSpec, abortAfter?: number): Promise<{ rec: Recording; stepsPerEpoch: number }> {
  const rec = newRecording();
  const controller = new AbortController();
  let stepsPerEpoch = 0;
  const onEvent = (e: JobEvent) => void (e.type === 'start' && (stepsPerEpoch = e.steps_per_epoch));
  const pruner = recordingPruner(rec, (step) => void (step === abortAfter && controller.abort()));
  await runJob(spec, onEvent, { signal: controller.signal, pruner }).catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });
  return { rec, stepsPerEpoch };
}

/** A kit context over the job's gates (names and shapes), with the job's schedule and seed. */
function kitContext(job: Recording, spec: JobSpec, stepsPerEpoch: number): TestContext {
  return createTestContext({ gates: job.gates, epochs: spec.train.epochs, stepsPerEpoch, pruning: spec.pruning, seed: spec.train.seed, name: 'recorder' });
}

/** The gradients the job's pruner saw at each step; `offset` steps were done before the recording began. */
function replay(job: Recording, offset = 0): GradientSource {
  const shapes = new Map(job.gates.map((g) => [g.name, g.shape]));
  return (_ctx, step) => new Map([...job.gradients[step - 1 - offset]!].map(([name, g]) => [name, tf.tensor2d(g, shapes.get(name)!)]));
}

describe('the testing kit and a real job', () => {
  it('call the same hooks at the same counters and reach the same masks from the same gradients', async () => {
    const spec = jobSpec('straight');
    const { rec: job, stepsPerEpoch } = await recordJob(spec);
    expect(job.calls[0]).toBe('create epoch=0 step=0');
    expect(job.calls.at(-1)).toBe(`teardown epoch=3 step=${3 * stepsPerEpoch}`);

    const kit = newRecording();
    const ctx = kitContext(job, spec, stepsPerEpoch);
    await drivePruner(recordingPruner(kit), {}, ctx, { gradients: replay(job) });
    ctx.dispose();

    expect(kit.calls).toEqual(job.calls);
    expect(kit.masks).toEqual(job.masks);
    // Something was pruned, so the masks compare the pruner's decisions, not two untouched states.
    expect(job.masks.at(-1)!.some((m) => m.includes(0))).toBe(true);
  });

  it('agree across an abort mid-epoch and a resume', async () => {
    const spec = jobSpec('resumed');
    const { rec: before, stepsPerEpoch } = await recordJob(spec, ABORT_AFTER_STEP);
    const { rec: after } = await recordJob({ ...spec, resume: true });
    expect(after.calls[0]).toBe(`create epoch=2 step=${ABORT_AFTER_STEP}`);

    const kitBefore = newRecording();
    const first = kitContext(before, spec, stepsPerEpoch);
    const instance = await drivePruner(recordingPruner(kitBefore), {}, first, { gradients: replay(before), stopAfterStep: ABORT_AFTER_STEP, teardown: false });
    // The job checkpoints at the abort, then tears the pruner down; the kit stops before teardown.
    expect([...kitBefore.calls, `teardown epoch=2 step=${ABORT_AFTER_STEP}`]).toEqual(before.calls);
    expect(kitBefore.masks).toEqual(before.masks);

    const kitAfter = newRecording();
    const resumed = kitContext(after, spec, stepsPerEpoch);
    // What the job's checkpoint restores: the pruner's RNG and the masks.
    resumed.rng.restore(first.rng.state());
    first.masks().forEach((m, g) => resumed.gates[g]!.setMask(m));
    await drivePruner(recordingPruner(kitAfter), {}, resumed, { gradients: replay(after, ABORT_AFTER_STEP), startStep: ABORT_AFTER_STEP, state: instance.state() });
    first.dispose();
    resumed.dispose();

    expect(kitAfter.calls).toEqual(after.calls);
    expect(kitAfter.masks).toEqual(after.masks);
  });
});

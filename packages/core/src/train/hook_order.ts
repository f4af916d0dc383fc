/**
 * When the trainer calls each pruner hook, in one place: Trainer.run calls these at its hook points
 * and '@gbp/core/testing' drivePruner calls them in the same loop, so a pruner sees the same
 * sequence in the kit as in a job:
 *
 *   setup → per epoch: beforeEpoch → per step: afterBackward(grads) → afterStep(step) → afterEpoch(epoch, metrics) → teardown
 *
 * setup and teardown are the job's. The caller moves the counters a PrunerContext reads first:
 * ctx.epoch before startEpoch, ctx.step (steps completed) before stepDone.
 */
import type { HookRegistry } from '../hooks/registry.js';
import type { GateGradients } from '../model/gate.js';
import type { Metrics } from '../events.js';

/** Epoch `epoch` (1-based) begins with `batchesDone` of its batches trained: beforeEpoch only at its true start, not on a resume mid-epoch. */
export async function startEpoch(hooks: HookRegistry, epoch: number, batchesDone: number): Promise<void> {
  if (batchesDone === 0) await hooks.call('beforeEpoch', epoch);
}

/** A full batch's gate gradients are known, before clipping and the update. `gradients` is only built when a pruner listens. */
export async function gradientsReady(hooks: HookRegistry, gradients: () => GateGradients): Promise<void> {
  if (hooks.has('afterBackward')) await hooks.call('afterBackward', gradients());
}

/** The optimizer update of step `step` (steps completed, global) is applied. */
export async function stepDone(hooks: HookRegistry, step: number): Promise<void> {
  await hooks.call('afterStep', step);
}

/** Epoch `epoch` is trained and evaluated; `metrics` are its evaluation metrics. */
export async function epochDone(hooks: HookRegistry, epoch: number, metrics: Metrics): Promise<void> {
  await hooks.call('afterEpoch', epoch, metrics);
}

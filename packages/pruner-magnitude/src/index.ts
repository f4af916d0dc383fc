/**
 * Magnitude pruning: scores are |W|; at each schedule point the lowest-magnitude live weights are
 * masked (globally or per layer) until the schedule's target is reached. Masks are monotone: a
 * pruned weight never comes back.
 */
import { definePruner, type PrunerContext, type PrunerState, type ScheduleKind } from '@gbp/core';

export interface MagnitudeOptions {
  schedule: ScheduleKind;
  scope: 'global' | 'per_layer';
  /** 0: prune at the end of every epoch of the window; N: also every N optimizer steps. */
  frequency_steps: number;
}

export const optionsSchema = {
  type: 'object',
  properties: {
    schedule: { enum: ['linear', 'cubic', 'steps'], default: 'linear', description: 'Sparsity schedule over the pruning window.' },
    scope: { enum: ['global', 'per_layer'], default: 'global', description: 'One threshold over all gates, or each gate pruned to the target (each layer at structured granularity).' },
    frequency_steps: {
      type: 'integer',
      minimum: 0,
      default: 0,
      description: 'Prune every N optimizer steps inside the window (besides every epoch end); 0: epoch ends only.',
    },
  },
  additionalProperties: false,
} as const;

export function createMagnitudePruner(options: MagnitudeOptions, ctx: PrunerContext) {
  const { helpers } = ctx;
  helpers.pruningWindow(ctx.pruning, ctx.epochs); // fail before training when the window is empty
  let lastTarget = 0;
  let lastStep = -1;

  const pruneTo = (target: number, step: number) => {
    lastStep = step;
    if (target === 0) return; // nothing to prune yet (masks never grow back)
    const masks = helpers.topKMasks(helpers.magnitudeScores(ctx.gates), target, {
      scope: options.scope === 'per_layer' ? 'per_gate' : 'global',
      previousMasks: ctx.gates.map((g) => helpers.readMask(g)),
      names: ctx.gates.map((g) => g.name),
    });
    helpers.applyMasks(ctx.gates, masks);
    lastTarget = target;
    ctx.log.debug(`step ${step}: pruned to ${(100 * target).toFixed(2)}% (${options.scope})`);
  };

  return {
    afterStep(c: PrunerContext, step: number) {
      const clock = { step, stepsPerEpoch: c.stepsPerEpoch, epochs: c.epochs };
      if (!helpers.isPruningStep(c.pruning, clock, options.frequency_steps)) return;
      pruneTo(helpers.targetSparsity(options.schedule, c.pruning, clock), step);
    },
    afterEpoch(c: PrunerContext, epoch: number) {
      // Normally done at the epoch's last step; this catches an epoch whose step count differs.
      const window = helpers.pruningWindow(c.pruning, c.epochs);
      if (epoch < window.startEpoch || epoch > window.endEpoch || lastStep === c.step) return;
      c.log.warn(`epoch ${epoch} ended at step ${c.step}, not on a multiple of ${c.stepsPerEpoch}: pruning after evaluation`);
      pruneTo(helpers.targetSparsity(options.schedule, c.pruning, { epoch, epochs: c.epochs }), c.step);
    },
    state: (): PrunerState => ({ last_target: lastTarget, last_step: lastStep }),
    restore(state: PrunerState) {
      const s = state as { last_target: number; last_step: number };
      lastTarget = s.last_target;
      lastStep = s.last_step;
    },
  };
}

export default definePruner<MagnitudeOptions>({
  name: 'magnitude',
  version: '0.1.0',
  description: 'Prunes the smallest |W| on a linear, cubic or steps schedule; monotone masks.',
  optionsSchema,
  create: createMagnitudePruner,
});

/**
 * Random pruning: at the end of every epoch of the pruning window, live weights drawn uniformly at
 * random (from the job's seeded ctx.rng) are masked until the linear schedule's target is reached.
 * Masks are monotone. A criterion-free baseline: a real pruner should beat it at equal sparsity.
 */
import { definePruner, type PrunerContext, type PrunerState } from '@gbp/core';

export interface RandomOptions {
  /** 'global': draw among all live gated weights; 'per_layer': every gate reaches the target. */
  scope: 'global' | 'per_layer';
}

export const optionsSchema = {
  type: 'object',
  properties: {
    scope: { enum: ['global', 'per_layer'], default: 'global', description: 'Draw over all gates, or prune every gate to the target (every layer at structured granularity).' },
  },
  additionalProperties: false,
} as const;

export function createRandomPruner(options: RandomOptions, ctx: PrunerContext) {
  const { helpers } = ctx;
  helpers.pruningWindow(ctx.pruning, ctx.epochs); // an empty window fails before training
  let lastTarget = 0;

  return {
    afterStep(c: PrunerContext, step: number) {
      const clock = { step, stepsPerEpoch: c.stepsPerEpoch, epochs: c.epochs };
      if (!helpers.isEpochEndInWindow(c.pruning, clock)) return;
      const target = helpers.targetSparsity('linear', c.pruning, clock);
      if (target <= lastTarget) return;
      // Uniform random scores: the lowest are pruned; already pruned weights stay pruned.
      const scores = c.gates.map((g) => Float32Array.from({ length: g.size }, () => c.rng.next()));
      const masks = helpers.topKMasks(scores, target, {
        scope: options.scope === 'per_layer' ? 'per_gate' : 'global',
        previousMasks: c.gates.map((g) => helpers.readMask(g)),
        names: c.gates.map((g) => g.name),
      });
      helpers.applyMasks(c.gates, masks);
      lastTarget = target;
      c.log.debug(`step ${step}: pruned random weights to ${(100 * target).toFixed(2)}%`);
    },
    // The rng's position is saved by the job; the last target is all this pruner adds.
    state: (): PrunerState => ({ last_target: lastTarget }),
    restore(state: PrunerState) {
      lastTarget = (state as { last_target: number }).last_target;
    },
  };
}

export default definePruner<RandomOptions>({
  name: 'random',
  version: '0.1.0',
  description: 'Prunes random live weights on the linear schedule (seeded); monotone masks.',
  optionsSchema,
  create: createRandomPruner,
});

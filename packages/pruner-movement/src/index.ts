/**
 * Movement pruning (Sanh, Wolf & Rush 2020). Scores accumulate every optimizer step from the
 * dense gradient of the effective weight W' = W ⊙ M:
 *
 *     S ← S − ∂L/∂W' ⊙ W                (hard)
 *     S ← S − ∂L/∂W' ⊙ W − λ·sign(S)    (soft: L1 regulariser λ|S| on the scores)
 *
 * so weights moving away from zero gain score and weights moving towards zero lose it. Every
 * `frequency_steps` steps inside the pruning window, and at every epoch end of the window, masks
 * are recomputed: hard keeps the top (1 − s_t) of the scores (s_t from a linear or cubic
 * schedule); soft keeps the weights whose score is ≥ threshold. At the job's block or structured
 * granularity, core's helpers mask whole groups (a group scores the mean of its weights).
 */
import { definePruner, tf, type GateGradients, type PrunerContext, type PrunerState } from '@gbp/core';

export interface MovementOptions {
  schedule: 'linear' | 'cubic';
  scope: 'global' | 'per_layer';
  /** Steps between mask updates; default: see defaultFrequency. */
  frequency_steps?: number;
  mode: 'hard' | 'soft';
  /** soft: weights with score < threshold are masked. */
  threshold: number;
  /** soft: λ of the L1 regulariser on the scores, in score units per step. */
  l1: number;
  /** Never revive a pruned weight (off in the paper: scores keep moving while a weight is masked). */
  monotone: boolean;
}

export const optionsSchema = {
  type: 'object',
  properties: {
    schedule: { enum: ['linear', 'cubic'], default: 'linear', description: 'Sparsity schedule of hard mode over the pruning window.' },
    scope: { enum: ['global', 'per_layer'], default: 'per_layer', description: 'Top-k over all gates, or per gate (the paper: per matrix; per layer at structured granularity).' },
    frequency_steps: { type: 'integer', minimum: 1, description: 'Optimizer steps between mask updates. Default: min(400, ceil(steps per epoch / 4)).' },
    mode: { enum: ['hard', 'soft'], default: 'hard', description: 'hard: top-k on the schedule; soft: scores thresholded, L1 on scores.' },
    threshold: { type: 'number', default: 0, description: 'soft: keep weights whose score is at least this.' },
    l1: { type: 'number', minimum: 0, default: 0, description: 'soft: L1 regularisation of the scores per step.' },
    monotone: { type: 'boolean', default: false, description: 'Keep pruned weights pruned.' },
  },
  additionalProperties: false,
} as const;

/** 400 steps (the paper's), or a quarter epoch when epochs are short, so each epoch of the window sees ≥ 4 updates. */
export function defaultFrequency(stepsPerEpoch: number): number {
  return Math.max(1, Math.min(400, Math.ceil(stepsPerEpoch / 4)));
}

export function createMovementPruner(options: MovementOptions, ctx: PrunerContext) {
  const { helpers } = ctx;
  helpers.pruningWindow(ctx.pruning, ctx.epochs);
  const frequency = options.frequency_steps ?? defaultFrequency(ctx.stepsPerEpoch);
  let scores: Map<string, tf.Variable> | null = new Map(ctx.gates.map((g) => [g.name, tf.tidy(() => tf.variable(tf.zeros(g.shape as [number, number]), false))]));
  let lastTarget = 0;
  const live = () => {
    if (!scores) throw new Error('used after teardown');
    return scores;
  };
  ctx.log.info(`movement (${options.mode}, ${options.scope}): masks every ${frequency} steps inside the window`);

  const updateMasks = (step: number) => {
    const scoreArrays = ctx.gates.map((g) => Float32Array.from(live().get(g.name)!.dataSync() as Float32Array));
    const previous = options.monotone ? ctx.gates.map((g) => helpers.readMask(g)) : undefined;
    let masks: Uint8Array[];
    if (options.mode === 'hard') {
      const target = helpers.targetSparsity(options.schedule, ctx.pruning, { step, stepsPerEpoch: ctx.stepsPerEpoch, epochs: ctx.epochs });
      if (target === 0 && lastTarget === 0) return;
      masks = helpers.topKMasks(scoreArrays, target, {
        scope: options.scope === 'per_layer' ? 'per_gate' : 'global',
        previousMasks: previous,
        names: ctx.gates.map((g) => g.name),
      });
      lastTarget = target;
    } else {
      // At block or structured granularity a whole group is kept when its mean score reaches the threshold.
      masks = helpers.thresholdMasks(scoreArrays, options.threshold, { previousMasks: previous, names: ctx.gates.map((g) => g.name) });
    }
    helpers.applyMasks(ctx.gates, masks);
  };

  return {
    afterBackward(c: PrunerContext, grads: GateGradients) {
      for (const gate of c.gates) {
        const grad = grads.get(gate.name);
        if (!grad) throw new Error(`no gradient for gate ${gate.name}`);
        const s = live().get(gate.name)!;
        tf.tidy(() => {
          let next = s.sub(grad.mul(gate.weight));
          if (options.mode === 'soft' && options.l1 > 0) next = next.sub(s.sign().mul(options.l1));
          s.assign(next);
        });
      }
    },
    afterStep(c: PrunerContext, step: number) {
      if (helpers.isPruningStep(c.pruning, { step, stepsPerEpoch: c.stepsPerEpoch, epochs: c.epochs }, frequency)) updateMasks(step);
    },
    teardown() {
      scores?.forEach((s) => s.dispose());
      scores = null;
    },
    state(): PrunerState {
      const out: Record<string, Float32Array> = {};
      for (const [name, s] of live()) out[name] = Float32Array.from(s.dataSync() as Float32Array);
      return { scores: out, last_target: lastTarget };
    },
    restore(state: PrunerState) {
      const s = state as { scores: Record<string, Float32Array>; last_target: number };
      for (const gate of ctx.gates) {
        const saved = s.scores[gate.name];
        if (!saved || saved.length !== gate.size) throw new Error(`saved movement scores for gate ${gate.name} are missing or of the wrong size`);
        const variable = live().get(gate.name)!;
        tf.tidy(() => variable.assign(tf.tensor2d(saved, gate.shape as [number, number])));
      }
      lastTarget = s.last_target;
    },
  };
}

export default definePruner<MovementOptions>({
  name: 'movement',
  version: '0.1.0',
  description: 'Movement pruning (Sanh et al. 2020): scores -Σ ∂L/∂W ⊙ W, hard top-k or soft threshold.',
  optionsSchema,
  create: createMovementPruner,
});

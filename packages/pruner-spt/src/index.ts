/**
 * SPT: exploration-based pruning on the steps schedule (see README.md for the equations).
 *
 * Every optimizer step of the pruning window an ε fraction of the live weights is masked for one
 * step (explored). The trainer's dense gradient ∂L/∂W' at the explored point gives, per explored
 * weight, a first-order estimate of what its removal did to the loss: r = G·W (> 0: the loss is
 * lower without it). Rewards are smoothed per weight with an EMA(α). When the steps schedule rises,
 * the live weights with the lowest keep score |W|/ρ_W − λ·R/ρ_R are pruned (monotone).
 */
import { definePruner, tf, type Gate, type GateGradients, type PrunerContext, type PrunerState } from '@gbp/core';

export interface SptOptions {
  /** Fraction of live weights explored per step; default: defaultEpsilon(gated weights). */
  epsilon?: number;
  explore_per_layer: boolean;
  reward_alpha: number;
  reward_weight: number;
  scope: 'global' | 'per_layer';
}

export const optionsSchema = {
  type: 'object',
  properties: {
    epsilon: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 0.5,
      description: 'Fraction of live weights explored (masked for one step) per step. Default: 0.0025 scaled by model size (README).',
    },
    explore_per_layer: { type: 'boolean', default: false, description: 'Explore ε of each gate, instead of ε of all live weights.' },
    reward_alpha: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.125, description: 'EMA factor of the per-weight rewards.' },
    reward_weight: { type: 'number', minimum: 0, default: 1, description: 'λ: weight of the normalised reward against the normalised magnitude.' },
    scope: { enum: ['global', 'per_layer'], default: 'global', description: 'Prune to the target over all gates, or in each gate (each layer at structured granularity).' },
  },
  additionalProperties: false,
} as const;

/** Gated weights of BERT-base: 12 × (4·768² + 2·768·3072). */
export const REFERENCE_GATED_WEIGHTS = 84_934_656;

/** ε = 0.0025·sqrt(REFERENCE_GATED_WEIGHTS / n), clipped to [0.0005, 0.02]: 0.0025 for BERT-base. */
export function defaultEpsilon(gatedWeights: number): number {
  return Math.min(0.02, Math.max(0.0005, 0.0025 * Math.sqrt(REFERENCE_GATED_WEIGHTS / Math.max(1, gatedWeights))));
}

const EMPTY = new Int32Array(0);

export function createSptPruner(options: SptOptions, ctx: PrunerContext) {
  const { helpers } = ctx;
  const gates = ctx.gates;
  const window = helpers.pruningWindow(ctx.pruning, ctx.epochs);
  const finalTarget = helpers.targetSparsity('steps', ctx.pruning, { epoch: window.endEpoch, epochs: ctx.epochs });
  const epsilon = options.epsilon ?? defaultEpsilon(gates.reduce((n, g) => n + g.size, 0));
  const alpha = options.reward_alpha;
  ctx.log.info(`spt: epsilon ${epsilon} (${options.epsilon === undefined ? 'scaled by model size' : 'given'}), explore ${options.explore_per_layer ? 'per layer' : 'globally'}`);

  let rewards = gates.map((g) => new Float32Array(g.size));
  let explored: Int32Array[] = gates.map(() => EMPTY);
  let lastTarget = 0;
  // Masks without the exploration (the pruning decisions); read lazily from the gates so that
  // masks restored from a checkpoint are picked up whatever the order of restore() and setup.
  let committed: Uint8Array[] | null = null;
  let live: number[] = [];

  const ensureCommitted = (): Uint8Array[] => {
    if (!committed) {
      committed = gates.map((g, i) => {
        const mask = helpers.readMask(g);
        for (const k of explored[i]!) mask[k] = 1;
        return mask;
      });
      live = committed.map((m) => m.length - helpers.countPruned(m));
    }
    return committed;
  };

  /** Draws `count` distinct live indices of gate g (uniform), marking them 2 in `marks`. */
  const drawLive = (g: number, count: number, marks: Uint8Array): number[] => {
    const size = gates[g]!.size;
    const picked: number[] = [];
    if (count <= 0) return picked;
    if (live[g]! * 16 >= size) {
      while (picked.length < count) {
        const k = ctx.rng.int(size);
        if (marks[k] !== 1) continue;
        marks[k] = 2;
        picked.push(k);
      }
      return picked;
    }
    // Few live weights: rejection would be slow, enumerate them instead (partial Fisher-Yates).
    const candidates: number[] = [];
    for (let k = 0; k < size; k++) if (marks[k] === 1) candidates.push(k);
    for (let j = 0; j < count; j++) {
      const r = j + ctx.rng.int(candidates.length - j);
      [candidates[j], candidates[r]] = [candidates[r]!, candidates[j]!];
      marks[candidates[j]!] = 2;
      picked.push(candidates[j]!);
    }
    return picked;
  };

  /** The next exploration set: round(ε·live) weights, per gate or over all gates. */
  const sampleExploration = (): Int32Array[] => {
    const masks = ensureCommitted();
    const counts = gates.map(() => 0);
    if (options.explore_per_layer) {
      live.forEach((l, g) => (counts[g] = Math.round(epsilon * l)));
    } else {
      // Allocate the global count to gates in proportion to their live weights (a multinomial draw).
      const total = live.reduce((a, b) => a + b, 0);
      const draws = Math.round(epsilon * total);
      for (let j = 0; j < draws; j++) {
        let u = ctx.rng.int(total);
        let g = 0;
        while (u >= live[g]!) u -= live[g++]!;
        counts[g]!++;
      }
      // A gate cannot give more than it has live.
      counts.forEach((c, g) => (counts[g] = Math.min(c, live[g]!)));
    }
    return counts.map((count, g) => {
      const picked = drawLive(g, count, masks[g]!);
      for (const k of picked) masks[g]![k] = 1; // unmark
      return Int32Array.from(picked).sort();
    });
  };

  const writeMasks = (touched: ReadonlySet<number>) => {
    const masks = ensureCommitted();
    for (const g of touched) {
      const mask = masks[g]!.slice();
      for (const k of explored[g]!) mask[k] = 0;
      gates[g]!.setMask(mask);
    }
  };

  /** True when step `next` (1-based) lies in an epoch of the window and a schedule point is still ahead. */
  const shouldExplore = (next: number) =>
    lastTarget < finalTarget && next > (window.startEpoch - 1) * ctx.stepsPerEpoch && next <= window.endEpoch * ctx.stepsPerEpoch;

  /** Normalised keep scores |W|/ρ_W − λ·R/ρ_R with ρ the RMS over live weights of a group. */
  const keepScores = (): Float32Array[] => {
    const masks = ensureCommitted();
    const weights = gates.map((g: Gate) => helpers.readWeights(g));
    const groups = options.scope === 'global' ? [gates.map((_, g) => g)] : gates.map((_, g) => [g]);
    const scores = gates.map((g) => new Float32Array(g.size));
    for (const group of groups) {
      let sw = 0;
      let nw = 0;
      let sr = 0;
      let nr = 0;
      for (const g of group) {
        const w = weights[g]!;
        const r = rewards[g]!;
        const m = masks[g]!;
        for (let k = 0; k < w.length; k++) {
          if (m[k] === 0) continue;
          sw += w[k]! * w[k]!;
          nw++;
          if (r[k] === 0) continue; // never explored
          sr += r[k]! * r[k]!;
          nr++;
        }
      }
      const rhoW = nw > 0 && sw > 0 ? Math.sqrt(sw / nw) : 1;
      const rewardScale = nr > 0 && sr > 0 ? options.reward_weight / Math.sqrt(sr / nr) : 0;
      for (const g of group) {
        const w = weights[g]!;
        const r = rewards[g]!;
        const s = scores[g]!;
        for (let k = 0; k < w.length; k++) s[k] = Math.abs(w[k]!) / rhoW - rewardScale * r[k]!;
      }
    }
    return scores;
  };

  const pruneTo = (target: number, step: number) => {
    const masks = helpers.topKMasks(keepScores(), target, {
      scope: options.scope === 'per_layer' ? 'per_gate' : 'global',
      previousMasks: ensureCommitted(),
      names: gates.map((g) => g.name),
    });
    committed = masks;
    live = masks.map((m) => m.length - helpers.countPruned(m));
    lastTarget = target;
    ctx.log.debug(`step ${step}: pruned to ${(100 * target).toFixed(2)}%`);
  };

  const exploreNext = (touched: Set<number>) => {
    explored = sampleExploration();
    explored.forEach((e, g) => e.length > 0 && touched.add(g));
  };

  const clearExploration = (touched: Set<number>) => {
    explored.forEach((e, g) => e.length > 0 && touched.add(g));
    explored = gates.map(() => EMPTY);
  };

  return {
    beforeEpoch(c: PrunerContext) {
      ensureCommitted();
      if (explored.some((e) => e.length > 0) || !shouldExplore(c.step + 1)) return;
      const touched = new Set<number>();
      exploreNext(touched);
      writeMasks(touched);
    },
    afterBackward(_c: PrunerContext, grads: GateGradients) {
      explored.forEach((indices, g) => {
        if (indices.length === 0) return;
        const gate = gates[g]!;
        const grad = grads.get(gate.name);
        if (!grad) throw new Error(`no gradient for gate ${gate.name}`);
        const idx = tf.tensor1d(indices, 'int32');
        const [gt, wt] = tf.tidy(() => [tf.gather(grad.reshape([-1]), idx), tf.gather(gate.weight.reshape([-1]), idx)]);
        idx.dispose();
        // Read outside tidy (dataSync inside tidy is far slower).
        const gv = gt!.dataSync();
        const wv = wt!.dataSync();
        gt!.dispose();
        wt!.dispose();
        const r = rewards[g]!;
        indices.forEach((k, j) => (r[k] = (1 - alpha) * r[k]! + alpha * gv[j]! * wv[j]!));
      });
    },
    afterStep(c: PrunerContext, step: number) {
      ensureCommitted();
      const touched = new Set<number>();
      clearExploration(touched);
      const target = helpers.targetSparsity('steps', c.pruning, { step, stepsPerEpoch: c.stepsPerEpoch, epochs: c.epochs });
      if (target > lastTarget) {
        pruneTo(target, step);
        gates.forEach((_, g) => touched.add(g));
      }
      // No exploration over an epoch end: evaluation and checkpoints see the committed masks.
      if (step % c.stepsPerEpoch !== 0 && shouldExplore(step + 1)) exploreNext(touched);
      writeMasks(touched);
    },
    teardown() {
      if (!committed) return;
      const touched = new Set<number>();
      clearExploration(touched);
      writeMasks(touched);
    },
    state(): PrunerState {
      const byName = <T,>(arrays: T[]) => Object.fromEntries(gates.map((g, i) => [g.name, arrays[i]!]));
      return { rewards: byName(rewards.map((r) => r.slice())), explored: byName(explored.map((e) => e.slice())), last_target: lastTarget, epsilon };
    },
    restore(state: PrunerState) {
      const s = state as { rewards: Record<string, Float32Array>; explored: Record<string, Int32Array>; last_target: number };
      rewards = gates.map((g) => {
        const r = s.rewards[g.name];
        if (!r || r.length !== g.size) throw new Error(`saved spt rewards for gate ${g.name} are missing or of the wrong size`);
        return Float32Array.from(r);
      });
      explored = gates.map((g) => Int32Array.from(s.explored[g.name] ?? EMPTY));
      lastTarget = s.last_target;
      committed = null;
    },
  };
}

export default definePruner<SptOptions>({
  name: 'spt',
  version: '0.1.0',
  description: 'Exploration-based pruning: explored weights earn smoothed first-order rewards; steps schedule.',
  optionsSchema,
  create: createSptPruner,
});

/**
 * One step of weight-sharing supernet training by the sandwich rule (BigNAS, as AutoTinyBERT and
 * DynaBERT train theirs): the largest sub-network learns from the labels, the smallest and N random
 * ones from the largest's logits (in-place distillation; or all from a teacher's), and the step's
 * gradient is the sum over all of them, with respect to the shared weights (W ⊙ M of the full
 * model, sliced per sub-network). The trainer's sandwich mode (train/trainer.ts) runs sandwichPass
 * on each micro-batch; the supernet job (job/supernet.ts) wraps it in a job.
 */
import { tf } from '../tf.js';
import { dropoutDrawsPerForward, forward, type GatedBert, type ModelInput } from '../model/encoder.js';
import { parameterSpecs, type ModelConfig, type ParamSpec } from '../model/config.js';
import { distillLossSum, lossSum } from '../model/loss.js';
import type { Rng } from '../rng.js';
import { archConfig, archKey, largestArch, sampleArch, smallestArch, type SearchSpace, type SubnetArch } from './space.js';
import { cutOf } from './subnet.js';
import type { MicroBatch } from '../parallel/micro-batches.js';

export interface SandwichOptions {
  /** Random sub-networks besides the largest and the smallest (AutoTinyBERT: 2). */
  readonly randomSubnets: number;
  readonly rng: Rng;
  /** Weight of the soft targets for the other sub-networks (default 1: soft targets only, as BigNAS). */
  readonly alpha?: number;
  readonly temperature?: number;
  /** A teacher's logits for the batch's rows: every sub-network, the largest included, distils from them. */
  readonly teacherLogits?: Float32Array;
  /** Dropout seeds for training forwards; none: dropout off. */
  readonly dropoutSeed?: () => number;
}

export interface SandwichStep {
  /** Gradients with respect to every parameter of model.specs (gated: ∂L/∂(W ⊙ M)), summed over the sub-networks. */
  readonly grads: tf.Tensor[];
  /** Each sub-network's loss (per example), largest first. */
  readonly losses: readonly { readonly arch: string; readonly loss: number }[];
}

/** Where a sandwich pass reads the full model's parameters: a model's (W ⊙ M) or a replica's copies. Called inside tf.tidy. */
export interface SandwichWeights {
  readonly config: ModelConfig;
  /** Parameters in parameterSpecs(config) order. */
  readonly specs: readonly ParamSpec[];
  /** Parameter i's value as the forward uses it (W ⊙ M for a gated weight). */
  readonly value: (i: number) => tf.Tensor;
}

/** A model's sandwich weights: its variables, gated ones as W ⊙ M. */
export const modelSandwichWeights = (model: GatedBert): SandwichWeights => ({
  config: model.config,
  specs: model.specs,
  value: (i) => {
    const name = model.specs[i]!.name;
    return model.gateOf(name)?.effective() ?? model.param(name);
  },
});

/** Loss (sum over rows / divisor) and gradients of one sub-network with respect to the full model's effective weights. */
function subnetLossAndGradients(
  weights: SandwichWeights,
  arch: SubnetArch,
  input: ModelInput & { labels: Float32Array },
  target: { teacherLogits: Float32Array; alpha: number; temperature: number } | undefined,
  divisor: number,
  dropoutSeed: (() => number) | undefined,
): { value: number; grads: tf.Tensor[]; logits: Float32Array } {
  const { config, specs } = weights;
  const sub = archConfig(config, arch);
  // Only what the sub-network reads is differentiated (a dropped layer's weights get zero gradients).
  const reads = new Set(parameterSpecs(sub).map((s) => s.name));
  const used = specs.flatMap((s, i) => (reads.has(s.name) ? [i] : []));
  const index = new Map(used.map((i, k) => [specs[i]!.name, k]));
  const n = config.num_labels;
  let logitsOut: tf.Tensor | undefined;
  const { value, grads } = tf.tidy(() => {
    const values = used.map((i) => weights.value(i));
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const lookup = (name: string) => {
        const full = xs[index.get(name)!]!;
        const cut = cutOf(config, sub, name, full.shape);
        return cut.every((c, i) => c === full.shape[i]) ? full : tf.slice(full, cut.map(() => 0), [...cut]);
      };
      const logits = forward(sub, lookup, input, { training: dropoutSeed !== undefined, ...(dropoutSeed && { dropoutSeed }) });
      logitsOut = tf.keep(tf.clone(logits));
      const sum = target ? distillLossSum(logits, input.labels, n, target) : lossSum(logits, input.labels, n);
      return tf.div(sum, divisor);
    };
    const result = tf.valueAndGrads(f)(values);
    const byParam = new Map(used.map((i, k) => [i, result.grads[k]!]));
    return { value: result.value, grads: specs.map((s, i) => byParam.get(i) ?? tf.zeros([...s.shape])) };
  });
  const loss = value.dataSync()[0]!;
  value.dispose();
  const logits = logitsOut!.dataSync() as Float32Array;
  logitsOut!.dispose();
  return { value: loss, grads, logits };
}

/** The sandwich rule's sub-networks of one step: the largest, the smallest, then `randomSubnets` drawn from `rng`. */
export function sandwichArchs(space: SearchSpace, randomSubnets: number, rng: Rng): SubnetArch[] {
  return [largestArch(space), smallestArch(space), ...Array.from({ length: randomSubnets }, () => sampleArch(space, rng))];
}

/** Dropout seeds one sandwich pass over `archs` draws (each sub-network's forward draws its own). */
export function sandwichDropoutDraws(config: ModelConfig, archs: readonly SubnetArch[]): number {
  return archs.reduce((sum, arch) => sum + dropoutDrawsPerForward(archConfig(config, arch)), 0);
}

export interface SandwichPassOptions {
  /** Each loss is summed over the rows and divided by this (the step's batch size, for micro-batches). Default: the rows. */
  readonly divisor?: number;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly teacherLogits?: Float32Array;
  readonly dropoutSeed?: () => number;
}

/**
 * The summed gradients of `archs` (the first is the largest: the others distil from its logits of
 * these rows, unless a teacher's are given) on one batch or micro-batch: what the trainer's sandwich
 * step accumulates over its micro-batches.
 */
export function sandwichPass(model: GatedBert | SandwichWeights, archs: readonly SubnetArch[], batch: ModelInput & { labels: Float32Array }, options: SandwichPassOptions = {}): SandwichStep {
  const weights = 'value' in model ? model : modelSandwichWeights(model);
  const soft = { alpha: options.alpha ?? 1, temperature: options.temperature ?? 1 };
  const divisor = options.divisor ?? batch.batchSize;
  let summed: tf.Tensor[] | null = null;
  let teacher = options.teacherLogits;
  const losses: { arch: string; loss: number }[] = [];
  archs.forEach((arch, k) => {
    const target = teacher && (k > 0 || options.teacherLogits) ? { teacherLogits: teacher, ...soft } : undefined;
    const { value, grads, logits } = subnetLossAndGradients(weights, arch, batch, target, divisor, options.dropoutSeed);
    losses.push({ arch: archKey(arch), loss: value });
    // In-place distillation: the others learn from the largest's logits of these rows.
    if (k === 0 && !options.teacherLogits) teacher = logits;
    if (summed === null) summed = grads;
    else {
      summed = summed.map((g, i) => {
        const sum = tf.add(g, grads[i]!);
        g.dispose();
        grads[i]!.dispose();
        return sum;
      });
    }
  });
  if (summed === null) throw new Error('internal: a sandwich pass without sub-networks');
  return { grads: summed, losses };
}

/** The sandwich step's summed gradients on `batch`: largest, smallest, then `randomSubnets` random sub-networks. */
export function sandwichGradients(model: GatedBert, space: SearchSpace, batch: ModelInput & { labels: Float32Array }, options: SandwichOptions): SandwichStep {
  const { randomSubnets, rng, ...pass } = options;
  return sandwichPass(model, sandwichArchs(space, randomSubnets, rng), batch, pass);
}

/**
 * One micro-batch of a sandwich step as accumulateGradients takes it: the sub-networks' summed
 * gradients, and the largest's loss as the value (the others' measure their distance from it).
 * The same on the job's thread and on a replica, so a shard's sum does not depend on where it ran.
 */
export function sandwichMicroBatch(
  weights: GatedBert | SandwichWeights,
  archs: readonly SubnetArch[],
  micro: MicroBatch,
  dropoutSeed: () => number,
  divisor: number,
): { value: tf.Scalar; grads: tf.Tensor[] } {
  const teacher = micro.distill && { teacherLogits: micro.distill.teacherLogits, alpha: micro.distill.alpha, temperature: micro.distill.temperature };
  const { grads, losses } = sandwichPass(weights, archs, micro.batch, { divisor, dropoutSeed, ...teacher });
  return { value: tf.scalar(losses[0]!.loss), grads };
}

/**
 * The training loop: micro-batched forward/backward with respect to the effective weights W ⊙ M,
 * pruner hooks, global-norm clipping, AdamW with the warmup/linear-decay schedule, evaluation after
 * every epoch, and an exact, resumable position (epoch, batch, RNG states, running loss).
 */
import { AbortError } from '../abort.js';
import { tf } from '../tf.js';
import { Rng, type RngState } from '../rng.js';
import type { HookRegistry } from '../hooks/registry.js';
import type { EpochRecord, Metrics } from '../events.js';
import type { TrainSpec } from '../spec.js';
import { makeBatches, sliceBatch, type Batch, type EncodedExample } from '../data/index.js';

export { sliceBatch };
import { dropoutDrawsPerForward, lossAndGradients, type GatedBert } from '../model/encoder.js';
import { lossSum, type DistillTarget } from '../model/loss.js';
import type { ModelConfig } from '../model/config.js';
import { autoEvalBatchSize, autoMicroBatchSize, type StepKind } from '../model/memory.js';
import { AdamW, assignFrom } from './adamw.js';
import { clipByGlobalNorm } from './clip.js';
import { learningRateAt, makeLrSchedule, type LrSchedule } from './schedule.js';
import { epochDone, gradientsReady, startEpoch, stepDone } from './hook_order.js';
import { accumulateGradients } from '../parallel/accumulate.js';
import { shardRows, type MicroBatch } from '../parallel/micro-batches.js';
import type { ReplicaPool } from '../parallel/replica-pool.js';
import { tensorFromShared, valuesToCopy } from '../parallel/host-arrays.js';
import { alongside } from '../parallel/alongside.js';
import { sandwichArchs, sandwichDropoutDraws, sandwichMicroBatch } from '../search/supernet.js';
import type { SearchSpace, SubnetArch } from '../search/space.js';

export { AbortError };

export interface EvalSet {
  /** Split name, e.g. 'validation' or 'validation_matched'. */
  split: string;
  examples: readonly EncodedExample[];
}

export interface EvalResult {
  split: string;
  loss: number;
  metrics: Metrics;
}

/**
 * The job's observers of training (events, results files, checkpoints), kept apart from the pruner
 * hooks (TrainerHooks, through the HookRegistry) on purpose, though both fire at the same points:
 * - hooks are the plugin contract: they get a PrunerContext, change masks, fail as PluginError
 *   naming the pruner, and save their state through PrunerInstance.state() into the job checkpoint
 *   (so, as with Lightning's callbacks, each pruner owns its checkpoint state);
 * - callbacks carry what plugins must not see or depend on (loss, lr, tokens, eval progress, the
 *   request to write a checkpoint) and fail as the job's own errors.
 * Merging them would put job-only points into the public hook list or misname job failures as a
 * plugin's. At a shared point the hooks run first, so an event reports the masks they left.
 */
export interface TrainerCallbacks {
  onProgress?: (p: { epoch: number; step: number; epochStep: number; loss: number; lr: number; tokens: number }) => void;
  onEval?: (p: { epoch: number; split: string; done: number; total: number }) => void;
  /** After an epoch's evaluation; records so far included. */
  onEpoch?: (record: EpochRecord) => Promise<void> | void;
  /** Asked to write a checkpoint (after each epoch when enabled, and on abort). */
  onCheckpoint?: (reason: 'epoch' | 'abort') => Promise<void>;
}

export interface TrainerOptions {
  model: GatedBert;
  train: TrainSpec;
  numLabels: number;
  trainExamples: readonly EncodedExample[];
  evalSets: readonly EvalSet[];
  padId: number;
  computeMetrics: (predictions: ArrayLike<number>, labels: ArrayLike<number>) => Metrics;
  hooks: HookRegistry;
  /** Global sparsity of the gates (for epoch records). */
  sparsity: () => number;
  /** Train towards a teacher as well as the labels (train.distill); eval losses stay the task loss. */
  distill?: TrainerDistill;
  /** Threads besides this one (train.threads - 1), started by the caller, who closes them. */
  replicas?: ReplicaPool;
  /** Train as a weight-sharing supernet (sandwich mode); with replicas, each thread runs the step's sub-networks on its shard. */
  supernet?: TrainerSupernet;
}

/**
 * Sandwich mode: each step's gradient is the sum of the largest's, the smallest's and
 * `randomSubnets` random sub-networks' of `space` (search/supernet.ts), the others distilled in place
 * from the largest (or all from the distillation teacher). Step s draws its random sub-networks from
 * Rng.derive(train.seed, `sandwich:${s}`): a resumed job draws the same ones with no state saved.
 */
export interface TrainerSupernet {
  space: SearchSpace;
  randomSubnets: number;
}

/** Distillation settings with the teacher's logits of every training example, computed before training. */
export interface TrainerDistill {
  alpha: number;
  temperature: number;
  /** Row i holds the logits of trainExamples[i]: [trainExamples.length, numLabels] row-major. */
  teacherLogits: Float32Array;
}

/** Everything besides the variables that a checkpoint needs to continue exactly. */
export interface TrainerPosition {
  /** Epoch in progress (1-based); epochs + 1 when training is finished. */
  epoch: number;
  /** Batches of that epoch already trained on. */
  batchIndex: number;
  /** Optimizer steps completed. */
  step: number;
  /** Shuffle RNG as it was before this epoch's shuffle (replayed on resume). */
  epochShuffleState: RngState;
  dropoutState: RngState;
  epochLossSum: number;
  epochLossCount: number;
  epochTokens: number;
  records: EpochRecord[];
  /** Training wall time of previous sessions, seconds. */
  elapsedS: number;
  /** Threads that trained up to here (absent in checkpoints from before threads). */
  threads?: number;
}

export interface TrainerState {
  position: TrainerPosition;
  weights: Record<string, Float32Array>;
  masks: Record<string, Float32Array>;
  optimizer: ReturnType<AdamW['state']>;
}

export class Trainer {
  readonly model: GatedBert;
  readonly spec: TrainSpec;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly schedule: LrSchedule;
  readonly optimizer: AdamW;
  private readonly options: TrainerOptions;
  private readonly shuffleRng: Rng;
  private readonly dropoutRng: Rng;
  private position: TrainerPosition;
  /** Live counters for the pruner context. */
  readonly counters = { step: 0, epoch: 0 };

  constructor(options: TrainerOptions) {
    this.options = options;
    this.model = options.model;
    this.spec = options.train;
    if (options.trainExamples.length === 0) throw new Error('no training examples');
    const teacherRows = options.distill && options.distill.teacherLogits.length / options.numLabels;
    if (teacherRows !== undefined && teacherRows !== options.trainExamples.length) {
      throw new Error(`distillation: teacher logits for ${teacherRows} examples, but ${options.trainExamples.length} training examples`);
    }
    this.stepsPerEpoch = Math.ceil(options.trainExamples.length / this.spec.batch_size);
    this.totalSteps = this.stepsPerEpoch * this.spec.epochs;
    this.schedule = makeLrSchedule(this.spec.learning_rate, this.spec.warmup_ratio, this.totalSteps);
    this.optimizer = new AdamW(
      this.model.specs.map((s) => {
        const gate = this.model.gateOf(s.name);
        return {
          name: s.name,
          variable: this.model.param(s.name),
          decay: s.kind === 'weight' || s.kind === 'embedding',
          ...(gate ? { mask: gate.mask } : {}),
        };
      }),
      { weightDecay: this.spec.weight_decay },
    );
    // On wasm, refuse before the first step a model that cannot train even one example at a time.
    if (tf.getBackend() === 'wasm') autoMicroBatchSize(this.model.config, longestSequence(options.trainExamples), this.spec.batch_size, undefined, this.stepKind);
    this.shuffleRng = Rng.derive(this.spec.seed, 'shuffle');
    this.dropoutRng = Rng.derive(this.spec.seed, 'dropout');
    this.position = {
      epoch: 1,
      batchIndex: 0,
      step: 0,
      epochShuffleState: this.shuffleRng.state(),
      dropoutState: this.dropoutRng.state(),
      epochLossSum: 0,
      epochLossCount: 0,
      epochTokens: 0,
      records: [],
      elapsedS: 0,
    };
  }

  get step(): number {
    return this.position.step;
  }

  get records(): readonly EpochRecord[] {
    return this.position.records;
  }

  get finished(): boolean {
    return this.position.epoch > this.spec.epochs;
  }

  /** One optimizer step on `batch` (split into micro-batches, and shards when threads > 1); returns the batch's mean loss. */
  async trainStep(batch: Batch): Promise<number> {
    const grads = await this.computeGradients(batch);
    try {
      await gradientsReady(this.options.hooks, () => {
        const byGate = new Map<string, tf.Tensor2D>();
        this.model.specs.forEach((s, i) => {
          if (s.gate !== undefined) byGate.set(s.gate, grads.grads[i] as tf.Tensor2D);
        });
        return byGate;
      });
      this.applyGradients(grads.grads);
    } finally {
      for (const g of grads.grads) g.dispose();
    }
    this.position.step += 1;
    this.counters.step = this.position.step;
    return grads.loss;
  }

  /** The threads of the checkpoint this trainer was restored from, when it says. */
  restoredThreads: number | undefined;

  /** Threads computing a step: this one and the replicas. */
  get threads(): number {
    return 1 + (this.options.replicas?.size ?? 0);
  }

  /**
   * Loss and gradients of the full batch (summed over micro-batches, each scaled by 1/batchSize).
   * Gradients are in `model.specs` order; for a gated weight it is ∂L/∂(W⊙M), dense.
   * With replicas, the batch's rows are cut into one contiguous shard per thread; this thread
   * computes the first while the replicas compute the others, and the shard sums are added in
   * shard order (so a given thread count always gives the same sum).
   */
  async computeGradients(batch: Batch): Promise<{ loss: number; grads: tf.Tensor[] }> {
    // A sandwich step's shards run its sub-networks on every micro-batch; a normal step's, the model.
    const archs = this.options.supernet && this.sandwichArchsAt(this.position.step);
    const draws = archs ? sandwichDropoutDraws(this.model.config, archs) : dropoutDrawsPerForward(this.model.config);
    const shards = this.planShards(batch, draws);
    const own = (micros: readonly MicroBatch[]) => (archs ? this.sandwichShard(micros, archs, batch.batchSize) : this.shardGradients(micros, batch.batchSize));
    const replicas = this.options.replicas;
    if (shards.length === 1 || replicas === undefined) return own(shards[0]!);
    this.publishWeights(replicas);
    const others = shards.slice(1).map((micros, r) => replicas.gradients(r, micros, batch.batchSize, archs).then((loss) => ({ loss, replica: r })));
    const [mine, ...done] = await alongside<{ loss: number; grads?: tf.Tensor[]; replica?: number }>(
      () => own(shards[0]!),
      others,
      (result) => tf.dispose(result.grads ?? []),
    );
    let loss = mine!.loss;
    const grads = mine!.grads!;
    for (const { loss: part, replica } of done) {
      loss += part;
      for (let i = 0; i < grads.length; i++) {
        const sum = tf.tidy(() => tf.add(grads[i]!, tensorFromShared(replicas.gradientOf(replica!, i), grads[i]!.shape)));
        grads[i]!.dispose();
        grads[i] = sum;
      }
    }
    return { loss, grads };
  }

  /** The sub-networks step `step` (0-based) trains in sandwich mode: largest, smallest, then the random ones. */
  sandwichArchsAt(step: number): SubnetArch[] {
    const supernet = this.options.supernet;
    if (supernet === undefined) throw new Error('internal: sandwichArchsAt on a trainer without supernet');
    return sandwichArchs(supernet.space, supernet.randomSubnets, Rng.derive(this.spec.seed, `sandwich:${step}`));
  }

  /**
   * One shard of a sandwich step on this thread: every micro-batch runs the same sub-networks, each
   * loss scaled by 1/batchSize as the normal step's. The loss returned is the largest's (on the
   * labels, or the teacher's objective when distilling): the others' measure their distance from it.
   */
  private sandwichShard(micros: readonly MicroBatch[], archs: readonly SubnetArch[], divisor: number): { loss: number; grads: tf.Tensor[] } {
    return accumulateGradients(micros, (micro, dropoutSeed) => sandwichMicroBatch(this.model, archs, micro, dropoutSeed, divisor));
  }

  /** One shard's gradients on this thread. */
  private shardGradients(micros: readonly MicroBatch[], divisor: number): { loss: number; grads: tf.Tensor[] } {
    return accumulateGradients(micros, (micro, dropoutSeed) =>
      lossAndGradients(this.model, micro.batch, { training: true, dropoutSeed, divisor, ...(micro.distill && { distill: micro.distill }) }),
    );
  }

  /**
   * The batch's shards (one per thread, fewer when rows are fewer) and their micro-batches, with the
   * dropout seeds each forward draws (`draws` per micro-batch), taken in the order one thread would draw them.
   */
  private planShards(batch: Batch, draws: number): MicroBatch[][] {
    return shardRows(batch.batchSize, this.threads).map(([start, end]) => {
      const rows = end - start;
      const micro = Math.max(1, Math.min(this.spec.micro_batch_size ?? this.defaultMicroBatch(batch.seqLen, rows), rows));
      const micros: MicroBatch[] = [];
      for (let from = start; from < end; from += micro) {
        const to = Math.min(end, from + micro);
        const part = from === 0 && to === batch.batchSize ? batch : sliceBatch(batch, from, to);
        const seeds = Array.from({ length: draws }, () => this.dropoutRng.seed());
        const distill = this.distillTarget(part.indices);
        micros.push({ batch: part, seeds, ...(distill && { distill }) });
      }
      return micros;
    });
  }

  /** Sends the replicas the weights this thread trains with (W ⊙ M for gated weights). */
  private publishWeights(replicas: ReplicaPool): void {
    const effective = new Map(this.model.gates.map((g) => [`${g.name}.weight`, g.effective()]));
    try {
      // publish copies each array before the next is read (a heap view lives until the next TF.js call).
      replicas.publish((i) => {
        const name = this.model.specs[i]!.name;
        return valuesToCopy(effective.get(name) ?? this.model.param(name));
      });
    } finally {
      tf.dispose([...effective.values()]);
    }
  }

  /** The teacher's logits of the examples `indices` (a micro-batch's rows), when distilling. */
  private distillTarget(indices: Int32Array): DistillTarget | undefined {
    const distill = this.options.distill;
    if (distill === undefined) return undefined;
    const n = this.options.numLabels;
    const teacherLogits = new Float32Array(indices.length * n);
    indices.forEach((example, row) => teacherLogits.set(distill.teacherLogits.subarray(example * n, (example + 1) * n), row * n));
    return { alpha: distill.alpha, temperature: distill.temperature, teacherLogits };
  }

  /**
   * Without train.micro_batch_size: the whole shard, except on wasm, whose heap stops at 4 GB, where
   * it is the largest micro-batch whose activations fit (small at 32 x 128 needs ~6 GB at once).
   */
  private defaultMicroBatch(seqLen: number, rows: number): number {
    return tf.getBackend() === 'wasm' ? autoMicroBatchSize(this.model.config, seqLen, rows, undefined, this.stepKind) : rows;
  }

  /** dW = dEff ⊙ M for gates, then clipping and the AdamW update at the scheduled rate. */
  private applyGradients(effGrads: readonly tf.Tensor[]): void {
    const masked = this.model.specs.map((s, i) => {
      const gate = s.gate !== undefined ? this.model.gateOf(s.name)! : undefined;
      return gate ? tf.mul(effGrads[i]!, gate.mask) : effGrads[i]!;
    });
    const { grads, norm } = clipByGlobalNorm(masked, this.spec.max_grad_norm);
    norm.dispose();
    masked.forEach((g, i) => {
      if (g !== effGrads[i]) g.dispose();
    });
    try {
      this.optimizer.apply(grads, this.currentLr());
    } finally {
      for (const g of grads) g.dispose();
    }
  }

  /** What a step holds besides a normal step's, for the wasm heap's micro-batch size. */
  private get stepKind(): StepKind {
    return { sandwich: this.options.supernet !== undefined };
  }

  /** The learning rate of the next step. */
  currentLr(): number {
    return learningRateAt(this.schedule, this.position.step);
  }

  /** Mean loss and metrics on one evaluation set; null when `signal` aborts it midway. */
  async evaluate(set: EvalSet, epoch: number, signal?: AbortSignal): Promise<EvalResult | null> {
    const batchSize = evalBatchSize(this.model.config, set.examples, this.spec);
    const batches = makeBatches(set.examples, batchSize, { padId: this.options.padId });
    const numLabels = this.model.config.num_labels;
    const predictions = new Float32Array(set.examples.length);
    const labels = new Float32Array(set.examples.length);
    let filled = 0;
    let lossSumTotal = 0;
    let lastReport = 0;
    const replicas = this.options.replicas;
    if (replicas) this.publishWeights(replicas);
    // One batch per thread at a time: this thread takes the first of each round, replicas the rest.
    // Results are taken in batch order, so threads change neither the metrics nor the loss.
    for (let round = 0; round < batches.length; round += this.threads) {
      await yieldToEventLoop();
      if (signal?.aborted) return null;
      const roundBatches = batches.slice(round, round + this.threads);
      const others = roundBatches.slice(1).map((batch, r) => replicas!.logits(r, batch, { labels: batch.labels }));
      const results = await alongside<{ logits: Float32Array; lossSum?: number }>(() => this.batchLogits(roundBatches[0]!), others);
      roundBatches.forEach((batch, k) => {
        const { logits, lossSum: batchLoss } = results[k]!;
        lossSumTotal += batchLoss!;
        for (let r = 0; r < batch.batchSize; r++) {
          predictions[filled + r] = numLabels === 1 ? logits[r]! : argmax(logits, r * numLabels, numLabels);
          labels[filled + r] = batch.labels[r]!;
        }
        filled += batch.batchSize;
      });
      const now = Date.now();
      if (now - lastReport > 250 || filled === set.examples.length) {
        lastReport = now;
        this.callbacks?.onEval?.({ epoch, split: set.split, done: filled, total: set.examples.length });
      }
    }
    const metrics = this.options.computeMetrics(predictions.subarray(0, filled), labels.subarray(0, filled));
    return { split: set.split, loss: lossSumTotal / Math.max(1, filled), metrics };
  }

  /** Logits and loss sum of one evaluation batch on this thread. */
  private batchLogits(batch: Batch): { logits: Float32Array; lossSum: number } {
    const [logitsT, lossT] = tf.tidy(() => {
      const logits = this.model.logits(batch, { training: false });
      return [logits, lossSum(logits, batch.labels, this.model.config.num_labels)] as const;
    });
    try {
      return { logits: logitsT.dataSync() as Float32Array, lossSum: lossT.dataSync()[0]! };
    } finally {
      tf.dispose([logitsT, lossT]);
    }
  }

  private callbacks: TrainerCallbacks | undefined;
  /** When this session's training began (null before run()); earlier sessions are in position.elapsedS. */
  private sessionStart: number | null = null;

  /** Training wall time so far, previous sessions (restored checkpoints) included. */
  elapsedSeconds(): number {
    return this.position.elapsedS + (this.sessionStart === null ? 0 : (Date.now() - this.sessionStart) / 1000);
  }

  /**
   * Trains from the current position to the last epoch. Hooks: beforeEpoch (not repeated when
   * resuming mid-epoch), afterBackward/afterStep per step, afterEpoch after evaluation. setup and
   * teardown are the job's. On abort: asks for a checkpoint at the current step, then throws AbortError.
   */
  async run(callbacks: TrainerCallbacks = {}, signal?: AbortSignal): Promise<EpochRecord[]> {
    this.callbacks = callbacks;
    const { hooks } = this.options;
    this.sessionStart = Date.now();
    const elapsed = () => this.elapsedSeconds();
    const abortIfAsked = async () => {
      if (signal?.aborted) {
        await callbacks.onCheckpoint?.('abort');
        throw new AbortError();
      }
    };
    while (!this.finished) {
      const pos = this.position;
      this.counters.epoch = pos.epoch;
      this.shuffleRng.restore(pos.epochShuffleState);
      const batches = makeBatches(this.options.trainExamples, this.spec.batch_size, { rng: this.shuffleRng, padId: this.options.padId });
      if (batches.length !== this.stepsPerEpoch) throw new Error(`makeBatches gave ${batches.length} batches, expected ${this.stepsPerEpoch}`);
      await startEpoch(hooks, pos.epoch, pos.batchIndex);
      this.dropoutRng.restore(pos.dropoutState);
      while (pos.batchIndex < batches.length) {
        await yieldToEventLoop();
        await abortIfAsked();
        const batch = batches[pos.batchIndex]!;
        const lr = this.currentLr();
        const loss = await this.trainStep(batch);
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at step ${pos.step} (epoch ${pos.epoch}); lower train.learning_rate`);
        pos.batchIndex += 1;
        pos.epochLossSum += loss;
        pos.epochLossCount += 1;
        pos.epochTokens += batch.tokens;
        pos.dropoutState = this.dropoutRng.state();
        await stepDone(hooks, pos.step);
        callbacks.onProgress?.({ epoch: pos.epoch, step: pos.step, epochStep: pos.batchIndex, loss, lr, tokens: batch.tokens });
      }
      await abortIfAsked();
      const results: EvalResult[] = [];
      for (const set of this.options.evalSets) {
        const result = await this.evaluate(set, pos.epoch, signal);
        // Aborted during evaluation: the position (all batches trained) makes a resume re-evaluate.
        if (result === null) await abortIfAsked();
        results.push(result!);
      }
      const record: EpochRecord = {
        epoch: pos.epoch,
        step: pos.step,
        lr: learningRateAt(this.schedule, Math.max(0, pos.step - 1)),
        train_loss: pos.epochLossSum / Math.max(1, pos.epochLossCount),
        eval_loss: combineLoss(results, this.options.evalSets),
        metrics: combineMetrics(results),
        sparsity: this.options.sparsity(),
        wall_time_s: elapsed(),
      };
      await epochDone(hooks, pos.epoch, record.metrics);
      // Masks may have changed in afterEpoch: the record reports the sparsity the next epoch trains at.
      record.sparsity = this.options.sparsity();
      pos.records.push(record);
      pos.epoch += 1;
      pos.batchIndex = 0;
      pos.epochShuffleState = this.shuffleRng.state();
      pos.epochLossSum = 0;
      pos.epochLossCount = 0;
      pos.epochTokens = 0;
      await callbacks.onEpoch?.(record);
      if (this.spec.checkpoint_every_epoch) {
        await callbacks.onCheckpoint?.('epoch');
      }
    }
    return this.position.records;
  }

  /** Weights, masks, optimizer moments and position, as typed arrays and JSON. */
  state(): TrainerState {
    const weights: Record<string, Float32Array> = {};
    for (const s of this.model.specs) weights[s.name] = this.model.param(s.name).dataSync() as Float32Array;
    const masks: Record<string, Float32Array> = {};
    for (const g of this.model.gates) masks[g.name] = g.mask.dataSync() as Float32Array;
    return { position: { ...structuredClone(this.position), elapsedS: this.elapsedSeconds(), threads: this.threads }, weights, masks, optimizer: this.optimizer.state() };
  }

  restore(state: TrainerState): void {
    for (const s of this.model.specs) assignFrom(this.model.param(s.name), state.weights[s.name], `weight ${s.name}`);
    for (const g of this.model.gates) g.setMask(requireMask(state.masks, g.name));
    this.optimizer.restore(state.optimizer);
    this.position = structuredClone(state.position);
    this.restoredThreads = state.position.threads;
    this.sessionStart = null;
    this.counters.step = this.position.step;
    this.counters.epoch = Math.min(this.position.epoch, this.spec.epochs);
  }
}

/**
 * Lets timers and I/O run (an abort arriving over IPC or as a signal): the training loop is
 * otherwise synchronous work chained by microtasks, which never give the event loop a turn.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Rows per evaluation pass: train.eval_batch_size, else train.batch_size, except on wasm, where the
 * forward pass of a batch (all of it kept until the batch is done) must fit the heap. For a
 * supernet's sub-networks, pass the full model's config: what fits it fits them.
 */
export function evalBatchSize(config: ModelConfig, examples: readonly EncodedExample[], train: Pick<TrainSpec, 'batch_size' | 'eval_batch_size'>): number {
  if (train.eval_batch_size !== undefined) return train.eval_batch_size;
  return tf.getBackend() === 'wasm' ? autoEvalBatchSize(config, longestSequence(examples), train.batch_size) : train.batch_size;
}

function longestSequence(examples: readonly EncodedExample[]): number {
  let longest = 1;
  for (const e of examples) longest = Math.max(longest, e.ids.length);
  return longest;
}

function requireMask(masks: Record<string, Float32Array>, name: string): Float32Array {
  const mask = masks[name];
  if (mask === undefined) throw new Error(`checkpoint lacks the mask of gate ${name}`);
  return mask;
}

/** Index of the largest of values[offset .. offset + n) (the predicted class of a row of logits). */
export function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

/** Eval loss over all eval examples (mnli: matched and mismatched together). */
function combineLoss(results: readonly EvalResult[], sets: readonly EvalSet[]): number {
  let total = 0;
  let count = 0;
  results.forEach((r, i) => {
    const n = sets[i]!.examples.length;
    total += r.loss * n;
    count += n;
  });
  return count === 0 ? Number.NaN : total / count;
}

/** One split: its metrics as they are; several (mnli): 'matched/accuracy', 'mismatched/accuracy'. */
export function combineMetrics(results: readonly EvalResult[]): Metrics {
  if (results.length === 1) return { ...results[0]!.metrics };
  const out: Metrics = {};
  for (const r of results) {
    const prefix = r.split.replace(/^validation_/, '');
    for (const [k, v] of Object.entries(r.metrics)) out[`${prefix}/${k}`] = v;
  }
  return out;
}

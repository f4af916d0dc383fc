import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { HookRegistry } from '../hooks/registry.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { GatedBert, InferenceModel, resolveModelConfig, type ModelConfig } from '../model/index.js';
import { dropoutDrawsPerForward, forward, lossAndGradients } from '../model/encoder.js';
import type { TrainSpec } from '../spec.js';
import { Trainer, sliceBatch } from '../train/trainer.js';
import { ReplicaPool } from './replica-pool.js';
import { shardRows } from './micro-batches.js';
import { defaultThreads, resolveThreads } from './threads.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const VOCAB = 60;
function synthetic(n: number, seed: number): EncodedExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + rng.int(10);
    const ids = Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : t === len - 1 ? 3 : 5 + rng.int(VOCAB - 5)));
    return { ids, typeIds: new Int32Array(len), label: rng.next() < 0.5 ? 1 : 0 };
  });
}

const CONFIG = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: VOCAB, max_len: 16, dropout_rate: 0.1 }, 2);
const trainSpec = (overrides: Partial<TrainSpec> = {}): TrainSpec => ({
  epochs: 2,
  batch_size: 16,
  learning_rate: 3e-3,
  weight_decay: 0.01,
  warmup_ratio: 0.1,
  max_grad_norm: 1,
  seed: 5,
  checkpoint_every_epoch: false,
  ...overrides,
});
const accuracy = (p: ArrayLike<number>, l: ArrayLike<number>) => {
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === l[i]) ok++;
  return { accuracy: ok / p.length };
};

function makeTrainer(train: TrainSpec, replicas?: ReplicaPool, config: ModelConfig = CONFIG) {
  const model = new GatedBert(config, { seed: train.seed });
  // Half of every gate masked, so the replicas must train on W ⊙ M, not W.
  for (const gate of model.gates) gate.setMask(tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(gate.mask.shape, 0, 1, 'float32', 3), 0.5), 'float32')).dataSync() as Float32Array);
  const trainer = new Trainer({
    model,
    train,
    numLabels: 2,
    trainExamples: synthetic(48, 1),
    evalSets: [{ split: 'validation', examples: synthetic(37, 2) }],
    padId: 0,
    computeMetrics: accuracy,
    hooks: new HookRegistry(),
    sparsity: () => 0,
    ...(replicas && { replicas }),
  });
  return { model, trainer, dispose: () => (trainer.optimizer.dispose(), model.dispose()) };
}

const weightsOf = (model: GatedBert) => model.specs.map((s) => Array.from(model.param(s.name).dataSync()));

describe('data-parallel training on worker threads', () => {
  let pool: ReplicaPool;
  beforeAll(async () => {
    pool = await ReplicaPool.start({ config: CONFIG, backend: 'wasm', count: 1 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('with shards that are the one-thread micro-batches, two threads give the same loss and gradients bit for bit (dropout on, masks applied)', async () => {
    const batch = makeBatches(synthetic(16, 3), 16, { padId: 0 })[0]!;
    const one = makeTrainer(trainSpec({ micro_batch_size: 8 }));
    const two = makeTrainer(trainSpec({ micro_batch_size: 8 }), pool);
    const fresh = makeTrainer(trainSpec({ micro_batch_size: 8 }));
    expect(two.trainer.threads).toBe(2);
    const a = await one.trainer.computeGradients(batch);
    const b = await two.trainer.computeGradients(batch);
    expect(b.loss).toBe(a.loss);
    a.grads.forEach((g, i) => expect(Array.from(b.grads[i]!.dataSync())).toEqual(Array.from(g.dataSync())));
    // And both equal the micro-batches computed by hand, drawing seeds from the dropout stream lazily, as each forward asks.
    const dropoutRng = Rng.derive(5, 'dropout');
    const byHand = [sliceBatch(batch, 0, 8), sliceBatch(batch, 8, 16)].map((part) =>
      lossAndGradients(fresh.model, part, { training: true, dropoutSeed: () => dropoutRng.seed(), divisor: 16 }),
    );
    expect(a.loss).toBe(byHand[0]!.value.dataSync()[0]! + byHand[1]!.value.dataSync()[0]!);
    a.grads.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(tf.add(byHand[0]!.grads[i]!, byHand[1]!.grads[i]!).dataSync())));
    tf.dispose([...a.grads, ...b.grads, ...byHand.flatMap((h) => [h.value, ...h.grads])]);
    fresh.dispose();
    one.dispose();
    two.dispose();
  });

  it('two threads train to the same weights every time, close to one thread, and evaluate exactly as one thread does', async () => {
    const run = async (replicas?: ReplicaPool) => {
      const t = makeTrainer(trainSpec(), replicas);
      const records = await t.trainer.run();
      const weights = weightsOf(t.model);
      const evaluation = await t.trainer.evaluate({ split: 'validation', examples: synthetic(37, 2) }, 3);
      t.dispose();
      return { records, weights, evaluation };
    };
    const first = await run(pool);
    const second = await run(pool);
    expect(second.weights).toEqual(first.weights);
    expect(second.records.map((r) => r.train_loss)).toEqual(first.records.map((r) => r.train_loss));
    const single = await run();
    // Other shards, other float sums: close, not equal.
    expect(first.records[1]!.train_loss).toBeCloseTo(single.records[1]!.train_loss, 2);
    // Evaluation of the same weights: a one-thread trainer with the two-thread weights gives the same loss and metrics.
    const check = makeTrainer(trainSpec());
    check.model.specs.forEach((s, i) => check.model.param(s.name).assign(tf.tensor(first.weights[i]!, [...s.shape])));
    const evalTwo = makeTrainer(trainSpec(), pool);
    evalTwo.model.specs.forEach((s, i) => evalTwo.model.param(s.name).assign(tf.tensor(first.weights[i]!, [...s.shape])));
    const set = { split: 'validation', examples: synthetic(37, 2) };
    const e1 = await check.trainer.evaluate(set, 1);
    const e2 = await evalTwo.trainer.evaluate(set, 1);
    expect(e2).toEqual(e1);
    check.dispose();
    evalTwo.dispose();
  });

  it('a replica that fails names its thread and why; the pool goes on serving, and a failed step leaves the trainer usable', async () => {
    const good = makeBatches(synthetic(4, 4), 4, { padId: 0 })[0]!;
    const tooLong = { ...good, seqLen: 40, inputIds: new Int32Array(4 * 40).fill(5), typeIds: new Int32Array(4 * 40), attentionMask: new Float32Array(4 * 40).fill(1) };
    await expect(pool.logits(0, tooLong)).rejects.toThrow('thread 2: sequence length 40 exceeds model.max_len 16');
    const t = makeTrainer(trainSpec({ batch_size: 4 }), pool);
    await expect(t.trainer.computeGradients(tooLong)).rejects.toThrow(/sequence length 40 exceeds model.max_len 16/);
    const ok = await t.trainer.computeGradients(good);
    expect(Number.isFinite(ok.loss)).toBe(true);
    tf.dispose(ok.grads);
    const { logits } = await pool.logits(0, good);
    const expected = tf.tidy(() => t.model.logits(good, { training: false }).dataSync());
    expect(Array.from(logits)).toEqual(Array.from(expected));
    t.dispose();
  });
});

describe('shards and seeds', () => {
  it('cuts rows into contiguous shards differing by at most one row, never more shards than rows', () => {
    expect(shardRows(16, 2)).toEqual([
      [0, 8],
      [8, 16],
    ]);
    expect(shardRows(7, 3)).toEqual([
      [0, 2],
      [2, 4],
      [4, 7],
    ]);
    expect(shardRows(1, 4)).toEqual([[0, 1]]);
  });

  it('counts the dropout seeds a training forward draws, for full and compacted layers', () => {
    const compacted = resolveModelConfig({ size: 'tiny', num_layers: 3, d_model: 32, num_heads: 4, dff: 64, vocab_size: VOCAB, max_len: 16, dropout_rate: 0.1 }, 2);
    const configs: ModelConfig[] = [CONFIG, { ...compacted, heads_per_layer: [4, 0, 2], dff_per_layer: [64, 16, 0] }, { ...CONFIG, dropout_rate: 0 }];
    for (const config of configs) {
      const model = new GatedBert(config, { seed: 1 });
      let draws = 0;
      const batch = makeBatches(synthetic(2, 5), 2, { padId: 0 })[0]!;
      tf.tidy(() => forward(config, (name) => model.param(name), batch, { training: true, dropoutSeed: () => ++draws }));
      expect(dropoutDrawsPerForward(config)).toBe(draws);
      model.dispose();
    }
    expect(dropoutDrawsPerForward(CONFIG)).toBeGreaterThan(0);
  });
});

describe('threads per job', () => {
  it('train.threads first, then GBP_THREADS, then every core; one thread on backends with threads of their own', () => {
    expect(resolveThreads(3, 'wasm', {}).threads).toBe(3);
    expect(resolveThreads(undefined, 'wasm', { GBP_THREADS: '1' })).toEqual({ threads: 1, reason: '1 thread (GBP_THREADS)' });
    expect(resolveThreads(undefined, 'wasm', { GBP_THREADS: '2' }).threads).toBe(2);
    expect(resolveThreads(undefined, 'cpu', {}).threads).toBe(defaultThreads({}));
    expect(resolveThreads(4, 'tensorflow', {})).toMatchObject({ threads: 1, reason: expect.stringContaining('backend tensorflow runs its own threads') });
    expect(() => defaultThreads({ GBP_THREADS: 'two' })).toThrow('GBP_THREADS="two": expected a positive integer (threads per job)');
    expect(() => defaultThreads({ GBP_THREADS: '0' })).toThrow(/GBP_THREADS="0"/);
    const cores = availableParallelism();
    expect(resolveThreads(cores + 1, 'wasm', {}).reason).toBe(`${cores + 1} threads (train.threads; more than this machine's ${cores} cores)`);
  });
});

describe('inference on threads', () => {
  it('predict on two threads gives the rows one thread gives, pooled output included', async () => {
    const model = InferenceModel.random(CONFIG, 3);
    const batch = makeBatches(synthetic(7, 6), 7, { padId: 0 })[0]!;
    const one = await model.predict(batch, { pooled: true });
    const choice = await model.useThreads(2);
    expect(choice.threads).toBe(2);
    expect(model.threads).toBe(2);
    const two = await model.predict(batch, { pooled: true });
    expect(two.logits.length).toBe(7 * 2);
    expect(two.pooled!.length).toBe(7 * 32);
    // Rows are computed apart from each other; a shard trimmed to its own longest row pads less, so
    // sums over padded keys may round differently: equal within float rounding.
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
    expect(maxDiff(two.logits, one.logits)).toBeLessThan(1e-5);
    expect(maxDiff(two.pooled!, one.pooled!)).toBeLessThan(1e-5);
    const expected = tf.tidy(() => model.logits(batch).dataSync());
    expect(maxDiff(one.logits, expected as Float32Array)).toBe(0);
    model.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { HookRegistry } from '../hooks/registry.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { GatedBert, resolveModelConfig } from '../model/index.js';
import type { TrainSpec } from '../spec.js';
import { resolveSearchSpace, type SearchSpaceSpec } from '../search/space.js';
import { ReplicaPool } from '../parallel/replica-pool.js';
import { Trainer, AbortError, type TrainerDistill, type TrainerState } from './trainer.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const VOCAB = 60;
/** Label 1 when the sequence contains token 7. */
function synthetic(n: number, seed: number): EncodedExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + rng.int(8);
    const ids = Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : t === len - 1 ? 3 : 8 + rng.int(VOCAB - 8)));
    const label = rng.next() < 0.5 ? 1 : 0;
    if (label === 1) ids[1 + rng.int(len - 2)] = 7;
    return { ids, typeIds: new Int32Array(len), label };
  });
}

const trainSpec = (overrides: Partial<TrainSpec> = {}): TrainSpec => ({
  epochs: 2,
  batch_size: 16,
  learning_rate: 3e-3,
  weight_decay: 0.01,
  warmup_ratio: 0.1,
  max_grad_norm: 1,
  seed: 5,
  checkpoint_every_epoch: true,
  ...overrides,
});

const accuracy = (p: ArrayLike<number>, l: ArrayLike<number>) => {
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === l[i]) ok++;
  return { accuracy: ok / p.length };
};

const WIDE: SearchSpaceSpec = { layers: [1, 2], heads: [1, 2, 4], ffn: [16, 32, 64] };

function makeTrainer(train: TrainSpec, opts: { space?: SearchSpaceSpec; randomSubnets?: number; dropout?: number; replicas?: ReplicaPool; distill?: TrainerDistill } = {}) {
  const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: VOCAB, max_len: 16, dropout_rate: opts.dropout ?? 0 });
  const model = new GatedBert(config, { seed: train.seed });
  const supernet = opts.space && { space: resolveSearchSpace(opts.space, config), randomSubnets: opts.randomSubnets ?? 2 };
  const trainer = new Trainer({
    model,
    train,
    numLabels: 2,
    trainExamples: synthetic(64, 1),
    evalSets: [{ split: 'validation', examples: synthetic(32, 2) }],
    padId: 0,
    computeMetrics: accuracy,
    hooks: new HookRegistry(),
    sparsity: () => 0,
    ...(supernet && { supernet }),
    ...(opts.replicas && { replicas: opts.replicas }),
    ...(opts.distill && { distill: opts.distill }),
  });
  return { model, trainer, dispose: () => (trainer.optimizer.dispose(), model.dispose()) };
}

/** Largest |a − b| over every gradient, relative to the largest |b|. */
function worstRelativeDiff(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): number {
  let worst = 0;
  let scale = 0;
  a.forEach((g, i) => {
    const [x, y] = [g.dataSync(), b[i]!.dataSync()];
    for (let j = 0; j < x.length; j++) {
      worst = Math.max(worst, Math.abs(x[j]! - y[j]!));
      scale = Math.max(scale, Math.abs(y[j]!));
    }
  });
  return worst / scale;
}

const batchOf = (n: number, seed: number) => makeBatches(synthetic(n, seed), n, { padId: 0 })[0]!;

describe('Trainer in sandwich mode (supernet)', () => {
  it("with a one-architecture space, a step's loss and gradients are the normal step's (the others distil from an identical largest), over micro-batches too", async () => {
    const normal = makeTrainer(trainSpec({ micro_batch_size: 4 }));
    const sandwich = makeTrainer(trainSpec({ micro_batch_size: 4 }), { space: {}, randomSubnets: 1 });
    const batch = batchOf(16, 3);
    const a = await sandwich.trainer.computeGradients(batch);
    const b = await normal.trainer.computeGradients(batch);
    expect(a.loss).toBeCloseTo(b.loss, 6);
    expect(worstRelativeDiff(a.grads, b.grads)).toBeLessThan(1e-5);
    tf.dispose([...a.grads, ...b.grads]);
    normal.dispose();
    sandwich.dispose();
  });

  it("distilling, every sub-network trains towards the teacher's logits of its rows: with a one-architecture space, the step is (2 + N) times the normal distilled step", async () => {
    // Distinct logits per example: a row paired with another example's would change the loss.
    const teacherLogits = Float32Array.from({ length: 64 * 2 }, (_, i) => Math.sin(i * 1.7) * 3);
    const distill = { alpha: 0.7, temperature: 2, teacherLogits };
    const normal = makeTrainer(trainSpec({ micro_batch_size: 5 }), { distill });
    const sandwich = makeTrainer(trainSpec({ micro_batch_size: 5 }), { space: {}, randomSubnets: 1, distill });
    const batch = makeBatches(synthetic(64, 1), 16, { rng: new Rng(11), padId: 0 })[0]!;
    const a = await sandwich.trainer.computeGradients(batch);
    const b = await normal.trainer.computeGradients(batch);
    expect(a.loss).toBeCloseTo(b.loss, 6);
    const tripled = b.grads.map((g) => tf.mul(g, 3));
    expect(worstRelativeDiff(a.grads, tripled)).toBeLessThan(1e-5);
    tf.dispose([...a.grads, ...b.grads, ...tripled]);
    normal.dispose();
    sandwich.dispose();
  });

  it('gradients do not depend on the micro-batch size (2 rows vs the whole batch) and differ from the normal step', async () => {
    const micro = makeTrainer(trainSpec({ micro_batch_size: 2 }), { space: WIDE });
    const whole = makeTrainer(trainSpec(), { space: WIDE });
    const normal = makeTrainer(trainSpec());
    const batch = batchOf(16, 4);
    const a = await micro.trainer.computeGradients(batch);
    const b = await whole.trainer.computeGradients(batch);
    const c = await normal.trainer.computeGradients(batch);
    expect(a.loss).toBeCloseTo(b.loss, 5);
    // The reported loss is the largest's: here the full model's, the normal step's.
    expect(b.loss).toBeCloseTo(c.loss, 5);
    expect(worstRelativeDiff(a.grads, b.grads)).toBeLessThan(1e-5);
    expect(worstRelativeDiff(b.grads, c.grads)).toBeGreaterThan(1e-3);
    tf.dispose([...a.grads, ...b.grads, ...c.grads]);
    [micro, whole, normal].forEach((t) => t.dispose());
  });

  it('step s draws its random sub-networks from (train.seed, s): the same on a restored trainer, different across steps and seeds', async () => {
    const first = makeTrainer(trainSpec(), { space: WIDE, randomSubnets: 3 });
    const steps = [0, 1, 2, 3, 4, 5].map((s) => first.trainer.sandwichArchsAt(s));
    for (const archs of steps) {
      expect(archs[0]).toEqual({ layers: 2, heads: [4, 4], ffn: [64, 64] });
      expect(archs[1]).toEqual({ layers: 1, heads: [1], ffn: [16] });
      expect(archs).toHaveLength(5);
    }
    expect(new Set(steps.map((a) => JSON.stringify(a.slice(2)))).size).toBeGreaterThan(1);
    const batch = batchOf(16, 5);
    for (let i = 0; i < 3; i++) await first.trainer.trainStep(batch);
    const state = first.trainer.state();
    const second = makeTrainer(trainSpec(), { space: WIDE, randomSubnets: 3 });
    second.trainer.restore(state);
    expect(second.trainer.step).toBe(3);
    expect(second.trainer.sandwichArchsAt(3)).toEqual(steps[3]);
    const otherSeed = makeTrainer(trainSpec({ seed: 6 }), { space: WIDE, randomSubnets: 3 });
    expect(otherSeed.trainer.sandwichArchsAt(3)).not.toEqual(steps[3]);
    [first, second, otherSeed].forEach((t) => t.dispose());
  });

  it('2 epochs straight = abort mid-epoch 2 + resume: the same weights, bit for bit (dropout on)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbp-sandwich-resume-'));
    const weightsOf = (t: ReturnType<typeof makeTrainer>) => t.trainer.state().weights;
    try {
      const straight = makeTrainer(trainSpec(), { space: WIDE, dropout: 0.1 });
      const expected = await straight.trainer.run();
      const expectedWeights = Object.values(weightsOf(straight)).map((w) => w.slice());
      straight.dispose();

      const first = makeTrainer(trainSpec(), { space: WIDE, dropout: 0.1 });
      const controller = new AbortController();
      let ckpt = '';
      const run = first.trainer.run(
        {
          onProgress: (p) => p.step === 6 && controller.abort(),
          onCheckpoint: async (reason) => {
            if (reason === 'abort') ckpt = await writeCheckpoint(dir, first.trainer.step, first.trainer.state());
          },
        },
        controller.signal,
      );
      await expect(run).rejects.toBeInstanceOf(AbortError);
      first.dispose();

      const second = makeTrainer(trainSpec(), { space: WIDE, dropout: 0.1 });
      second.trainer.restore((await readCheckpoint(ckpt)).state as TrainerState);
      expect(second.trainer.step).toBe(6);
      const resumed = await second.trainer.run();
      expect(resumed.map((r) => r.train_loss)).toEqual(expected.map((r) => r.train_loss));
      Object.values(weightsOf(second)).forEach((w, i) => expect(Buffer.compare(Buffer.from(w.buffer), Buffer.from(expectedWeights[i]!.buffer))).toBe(0));
      second.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on two threads, with shards that are the one-thread micro-batches, gives the same loss and gradients bit for bit (dropout on: the seeds follow the sub-networks)', async () => {
    const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: VOCAB, max_len: 16, dropout_rate: 0.1 });
    const pool = await ReplicaPool.start({ config, backend: 'wasm', count: 1 });
    try {
      const batch = makeBatches(synthetic(16, 3), 16, { padId: 0 })[0]!;
      const one = makeTrainer(trainSpec({ micro_batch_size: 8 }), { space: WIDE, dropout: 0.1 });
      const two = makeTrainer(trainSpec({ micro_batch_size: 8 }), { space: WIDE, dropout: 0.1, replicas: pool });
      expect(two.trainer.threads).toBe(2);
      const a = await one.trainer.computeGradients(batch);
      const b = await two.trainer.computeGradients(batch);
      expect(b.loss).toBe(a.loss);
      a.grads.forEach((g, i) => expect(Array.from(b.grads[i]!.dataSync())).toEqual(Array.from(g.dataSync())));
      // Not the normal step's: the sub-networks ran on the replica too.
      const normal = makeTrainer(trainSpec({ micro_batch_size: 8 }), { dropout: 0.1 });
      const c = await normal.trainer.computeGradients(batch);
      expect(worstRelativeDiff(b.grads, c.grads)).toBeGreaterThan(1e-3);
      tf.dispose([...a.grads, ...b.grads, ...c.grads]);
      one.dispose();
      two.dispose();
      normal.dispose();
    } finally {
      await pool.close();
    }
  });
});

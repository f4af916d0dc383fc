import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { HookRegistry } from '../hooks/registry.js';
import type { PrunerContext } from '../hooks/types.js';
import type { EncodedExample } from '../data/index.js';
import type { EpochRecord } from '../events.js';
import { makeBatches } from '../data/index.js';
import { GatedBert, distillLossSum, resolveModelConfig } from '../model/index.js';
import { TrainSpecSchema, type TrainSpec } from '../spec.js';
import { Trainer, AbortError, type TrainerDistill, type TrainerState } from './trainer.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const VOCAB = 60;
/** Label 1 when the sequence contains token 7: learnable, needs attention to find it. */
function synthetic(n: number, seed: number): EncodedExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + rng.int(8);
    const ids = Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : t === len - 1 ? 3 : 5 + rng.int(VOCAB - 5)));
    const label = rng.next() < 0.5 ? 1 : 0;
    if (label === 1) ids[1 + rng.int(len - 2)] = 7;
    else for (let t = 1; t < len - 1; t++) if (ids[t] === 7) ids[t] = 8;
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

function makeTrainer(train: TrainSpec, opts: { hooks?: HookRegistry; dropout?: number; examples?: number; distill?: TrainerDistill } = {}) {
  const config = resolveModelConfig({ size: 'tiny', num_layers: 1, d_model: 32, num_heads: 4, dff: 64, vocab_size: VOCAB, max_len: 16, dropout_rate: opts.dropout ?? 0.1 });
  const model = new GatedBert(config, { seed: train.seed });
  const trainer = new Trainer({
    model,
    train,
    numLabels: 2,
    trainExamples: synthetic(opts.examples ?? 64, 1),
    evalSets: [{ split: 'validation', examples: synthetic(40, 2) }],
    padId: 0,
    computeMetrics: accuracy,
    hooks: opts.hooks ?? new HookRegistry(),
    sparsity: () => 0,
    ...(opts.distill && { distill: opts.distill }),
  });
  return { model, trainer, dispose: () => (trainer.optimizer.dispose(), model.dispose()) };
}

const comparable = (records: readonly EpochRecord[]) => records.map(({ wall_time_s: _, ...rest }) => rest);

describe('Trainer', () => {
  it('the spec defaults used here are the schema defaults', () => {
    expect(TrainSpecSchema.properties.learning_rate.default).toBeTypeOf('number');
  });

  it('same seed twice gives the same loss curve', async () => {
    const curves: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const { trainer, dispose } = makeTrainer(trainSpec());
      const losses: number[] = [];
      const started = Date.now();
      const records = await trainer.run({ onProgress: (p) => losses.push(p.loss), onCheckpoint: async () => void trainer.state() });
      // wall_time_s is cumulative training time: increasing, never more than the real time spent.
      expect(records[1]!.wall_time_s).toBeGreaterThan(records[0]!.wall_time_s);
      expect(records[1]!.wall_time_s).toBeLessThanOrEqual((Date.now() - started) / 1000 + 1e-3);
      curves.push(losses);
      dispose();
    }
    expect(curves[0]).toHaveLength(8);
    expect(curves[1]).toEqual(curves[0]);
  });

  it('2 epochs straight = abort mid-epoch 2 + resume from the checkpoint (metrics to 1e-5)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbp-resume-'));
    try {
      const straight = makeTrainer(trainSpec());
      const expected = comparable(await straight.trainer.run());
      straight.dispose();

      const first = makeTrainer(trainSpec());
      const controller = new AbortController();
      let ckpt = '';
      const run = first.trainer.run(
        {
          onProgress: (p) => {
            if (p.step === 6) controller.abort();
          },
          onCheckpoint: async (reason) => {
            if (reason === 'abort') ckpt = await writeCheckpoint(dir, first.trainer.step, first.trainer.state());
          },
        },
        controller.signal,
      );
      await expect(run).rejects.toBeInstanceOf(AbortError);
      first.dispose();
      expect(ckpt).not.toBe('');

      const second = makeTrainer(trainSpec());
      second.trainer.restore((await readCheckpoint(ckpt)).state as TrainerState);
      expect(second.trainer.step).toBe(6);
      const resumed = comparable(await second.trainer.run());
      second.dispose();
      expect(resumed).toHaveLength(2);
      resumed.forEach((r, i) => {
        const e = expected[i]!;
        expect(r.step).toBe(e.step);
        expect(r.train_loss).toBeCloseTo(e.train_loss, 5);
        expect(r.eval_loss).toBeCloseTo(e.eval_loss, 5);
        expect(r.metrics.accuracy).toBeCloseTo(e.metrics.accuracy!, 5);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an abort from a timer (as from IPC or a signal) is seen between steps', async () => {
    const { trainer, dispose } = makeTrainer(trainSpec({ epochs: 5, batch_size: 2 }), { examples: 100 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    let checkpoints = 0;
    await expect(trainer.run({ onCheckpoint: async (reason) => void (reason === 'abort' && checkpoints++) }, controller.signal)).rejects.toBeInstanceOf(AbortError);
    expect(checkpoints).toBe(1);
    expect(trainer.step).toBeGreaterThan(0);
    expect(trainer.step).toBeLessThan(250);
    dispose();
  });

  it('gradient accumulation over micro-batches equals the full batch', async () => {
    const { trainer, dispose } = makeTrainer(trainSpec({ micro_batch_size: 5 }), { dropout: 0 });
    const full = makeTrainer(trainSpec(), { dropout: 0 });
    const batch = makeBatches(synthetic(16, 3), 16, { padId: 0 })[0]!;
    const a = await trainer.computeGradients(batch);
    const b = await full.trainer.computeGradients(batch);
    expect(a.loss).toBeCloseTo(b.loss, 5);
    a.grads.forEach((g, i) => {
      const x = g.dataSync();
      const y = b.grads[i]!.dataSync();
      let diff = 0;
      let norm = 0;
      for (let j = 0; j < x.length; j++) {
        diff += (x[j]! - y[j]!) ** 2;
        norm += y[j]! ** 2;
      }
      if (norm > 1e-12) expect(Math.sqrt(diff / norm)).toBeLessThan(1e-4);
    });
    tf.dispose([...a.grads, ...b.grads]);
    dispose();
    full.dispose();
  });

  it('distilling, each row of a shuffled batch trains towards its own example\'s teacher logits, over micro-batches too', async () => {
    const examples = synthetic(64, 1);
    // Distinct logits per example: a row paired with another example's would change the loss.
    const teacherLogits = Float32Array.from({ length: 64 * 2 }, (_, i) => Math.sin(i * 1.7) * 3);
    const distill = { alpha: 0.7, temperature: 2, teacherLogits };
    const { model, trainer, dispose } = makeTrainer(trainSpec({ micro_batch_size: 5 }), { dropout: 0, distill });
    const batch = makeBatches(examples, 16, { rng: new Rng(11), padId: 0 })[0]!;
    expect(Array.from(batch.indices)).not.toEqual(Array.from({ length: 16 }, (_, i) => i));
    const rows = new Float32Array(32);
    batch.indices.forEach((example, row) => rows.set(teacherLogits.subarray(2 * example, 2 * example + 2), 2 * row));
    const expected = tf.tidy(() => distillLossSum(model.logits(batch, { training: false }), batch.labels, 2, { ...distill, teacherLogits: rows }).dataSync()[0]! / 16);
    const { loss, grads } = await trainer.computeGradients(batch);
    expect(loss).toBeCloseTo(expected, 5);
    tf.dispose(grads);
    dispose();
  });

  it('refuses teacher logits that do not cover the training examples', () => {
    expect(() => makeTrainer(trainSpec(), { distill: { alpha: 0.5, temperature: 1, teacherLogits: new Float32Array(10) } })).toThrow(
      'distillation: teacher logits for 5 examples, but 64 training examples',
    );
  });

  it('live tensors do not grow over 50 steps', async () => {
    const { trainer, dispose } = makeTrainer(trainSpec({ epochs: 1, batch_size: 2 }), { examples: 100 });
    const counts: number[] = [];
    await trainer.run({ onProgress: () => counts.push(tf.memory().numTensors) });
    expect(counts).toHaveLength(50);
    expect(counts[49]).toBe(counts[1]);
    dispose();
  });

  it('masked weights stay exactly unchanged; hooks run in order and a mask set in afterStep takes effect', async () => {
    const hooks = new HookRegistry();
    const calls: string[] = [];
    let gradShapes: string[] = [];
    const { model, trainer, dispose } = makeTrainer(trainSpec({ epochs: 1, weight_decay: 0.1 }), { hooks });
    const rng = new Rng(4);
    for (const g of model.gates) g.setMask(Float32Array.from({ length: g.size }, () => (rng.next() < 0.5 ? 0 : 1)));
    const target = model.gates[2]!;
    hooks.register('probe', {} as PrunerContext, {
      beforeEpoch: (_ctx, epoch) => void calls.push(`beforeEpoch ${epoch}`),
      afterBackward: (_ctx, grads) => {
        calls.push('afterBackward');
        gradShapes = [...grads.entries()].map(([name, g]) => `${name}:${g.shape.join('x')}`);
      },
      afterStep: (_ctx, step) => {
        calls.push(`afterStep ${step}`);
        // Prune one more weight after step 1: from then on it must not move.
        if (step === 1) {
          const mask = target.mask.dataSync().slice() as Float32Array;
          mask[mask.indexOf(1)] = 0;
          target.setMask(mask);
        }
      },
      afterEpoch: (_ctx, epoch, metrics) => void calls.push(`afterEpoch ${epoch} ${typeof metrics.accuracy}`),
    });
    const snapshot = new Map<string, { w: Float32Array; m: Float32Array }>();
    const takeSnapshot = () => {
      for (const g of model.gates) snapshot.set(g.name, { w: g.weight.dataSync().slice() as Float32Array, m: g.mask.dataSync().slice() as Float32Array });
    };
    let afterStep1: Float32Array | null = null;
    takeSnapshot();
    await trainer.run({
      onProgress: (p) => {
        calls.push(`onProgress ${p.step}`);
        if (p.step === 1) afterStep1 = target.weight.dataSync().slice() as Float32Array;
      },
      onEpoch: (record) => void calls.push(`onEpoch ${record.epoch}`),
    });
    // The job's callbacks come after the pruner's hooks at the same point: events report the masks the hooks left.
    expect(calls).toEqual([
      'beforeEpoch 1',
      ...[1, 2, 3, 4].flatMap((step) => ['afterBackward', `afterStep ${step}`, `onProgress ${step}`]),
      'afterEpoch 1 number',
      'onEpoch 1',
    ]);
    expect(gradShapes).toContain('encoder.layer.0.intermediate.dense:32x64');
    for (const g of model.gates) {
      const before = snapshot.get(g.name)!;
      const now = g.weight.dataSync();
      let moved = 0;
      for (let i = 0; i < now.length; i++) {
        if (before.m[i] === 0) expect(now[i]).toBe(before.w[i]);
        else if (now[i] !== before.w[i]) moved++;
      }
      expect(moved).toBeGreaterThan(0);
    }
    // The weight pruned after step 1 kept its step-1 value through steps 2-4.
    const newlyPruned = snapshot.get(target.name)!.m.indexOf(1);
    expect(target.weight.dataSync()[newlyPruned]).toBe(afterStep1![newlyPruned]);
    dispose();
  });

  it('learns the synthetic task (sanity: the loop optimises)', async () => {
    const { trainer, dispose } = makeTrainer(trainSpec({ epochs: 6, learning_rate: 3e-3 }), { examples: 256, dropout: 0 });
    const records = await trainer.run();
    dispose();
    expect(records[records.length - 1]!.train_loss).toBeLessThan(records[0]!.train_loss);
    expect(records[records.length - 1]!.metrics.accuracy).toBeGreaterThan(0.8);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { AdamW } from './adamw.js';
import { learningRateAt, makeLrSchedule } from './schedule.js';
import { clipByGlobalNorm } from './clip.js';
import { latestCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('AdamW', () => {
  it('matches hand-computed updates, with decoupled decay only where enabled', () => {
    const w = tf.variable(tf.tensor1d([1.0, -2.0]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const opt = new AdamW(
      [
        { name: 'w', variable: w, decay: true },
        { name: 'b', variable: b, decay: false },
      ],
      { weightDecay: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-6 },
    );
    // Hand-computed reference in float64.
    const ref = { w: [1.0, -2.0], b: [0.5], m: { w: [0, 0], b: [0] }, v: { w: [0, 0], b: [0] } };
    const steps = [
      { gw: [0.3, -0.1], gb: [2.0], lr: 0.01 },
      { gw: [-0.2, 0.4], gb: [-1.0], lr: 0.005 },
    ];
    steps.forEach((s, i) => {
      const t = i + 1;
      const gw = tf.tensor1d(s.gw);
      const gb = tf.tensor1d(s.gb);
      opt.apply([gw, gb], s.lr);
      tf.dispose([gw, gb]);
      for (const [name, g, decay] of [['w', s.gw, true], ['b', s.gb, false]] as const) {
        const p = ref[name];
        g.forEach((gj, j) => {
          const m = (ref.m[name][j] = 0.9 * ref.m[name][j]! + 0.1 * gj);
          const v = (ref.v[name][j] = 0.999 * ref.v[name][j]! + 0.001 * gj * gj);
          const mhat = m / (1 - 0.9 ** t);
          const vhat = v / (1 - 0.999 ** t);
          p[j] = p[j]! - s.lr * (mhat / (Math.sqrt(vhat) + 1e-6) + (decay ? 0.1 * p[j]! : 0));
        });
      }
      Array.from(w.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(ref.w[j]!, 6));
      Array.from(b.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(ref.b[j]!, 6));
    });
    opt.dispose();
    tf.dispose([w, b]);
  });

  it('a masked entry does not move at all (no decay, no momentum)', () => {
    const w = tf.variable(tf.tensor2d([[0.7, -0.3]]));
    const mask = tf.variable(tf.tensor2d([[1, 0]]), false);
    const opt = new AdamW([{ name: 'w', variable: w, decay: true, mask }], { weightDecay: 0.5 });
    const before = w.dataSync()[1];
    for (let i = 0; i < 5; i++) {
      const g = tf.tensor2d([[0.1 * (i + 1), 0]]);
      opt.apply([g], 0.1);
      g.dispose();
    }
    expect(w.dataSync()[1]).toBe(before);
    expect(w.dataSync()[0]).not.toBeCloseTo(0.7, 3);
    opt.dispose();
    tf.dispose([w, mask]);
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays linearly towards 0', () => {
    const s = makeLrSchedule(1e-3, 0.1, 100);
    expect(s.warmupSteps).toBe(10);
    expect(learningRateAt(s, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(s, 4)).toBeCloseTo(5e-4, 12);
    expect(learningRateAt(s, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(s, 55)).toBeCloseTo(1e-3 * (45 / 90), 12);
    expect(learningRateAt(s, 99)).toBeCloseTo(1e-3 / 90, 12);
    expect(learningRateAt(makeLrSchedule(2e-3, 0, 10), 0)).toBeCloseTo(2e-3, 12);
  });
});

describe('global-norm clipping', () => {
  it('scales all gradients by maxNorm / ‖g‖ when above, leaves them when below', () => {
    const a = tf.tensor1d([3, 0]);
    const b = tf.tensor2d([[0, 4]]);
    const clipped = clipByGlobalNorm([a, b], 1);
    expect(clipped.norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(Array.from(clipped.grads[0]!.dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(Array.from(clipped.grads[1]!.dataSync())).toEqual([0, expect.closeTo(0.8, 6)]);
    const loose = clipByGlobalNorm([a, b], 10);
    expect(Array.from(loose.grads[1]!.dataSync())).toEqual([0, 4]);
    const off = clipByGlobalNorm([a, b], 0);
    expect(Array.from(off.grads[0]!.dataSync())).toEqual([3, 0]);
    tf.dispose([a, b, clipped.norm, loose.norm, off.norm, ...clipped.grads, ...loose.grads, ...off.grads]);
  });
});

describe('checkpoints', () => {
  it('round-trips JSON with typed-array leaves and keeps the last N', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbp-ckpt-'));
    try {
      const state = {
        weights: { a: Float32Array.from([1.5, -2, 3.25]), b: new Float32Array(0) },
        pruner: { scores: [Int32Array.from([7, -8]), Uint8Array.from([1, 0, 1])], note: 'x', n: Number.POSITIVE_INFINITY },
        position: { epoch: 2, rng: [1, 2, 3, 4] },
      };
      for (const step of [10, 20, 30]) await writeCheckpoint(dir, step, { ...state, step }, 2);
      expect((await readdir(dir)).sort()).toEqual(['step-000000020', 'step-000000030']);
      const latest = await latestCheckpoint(dir);
      expect(latest).toBe(join(dir, 'step-000000030'));
      const back = await readCheckpoint(latest!);
      expect(back.step).toBe(30);
      expect(back.state).toEqual({ ...state, step: 30 });
      expect((back.state as typeof state).pruner.scores[0]).toBeInstanceOf(Int32Array);
      await expect(writeCheckpoint(dir, 40, { bad: new Float64Array(1) })).rejects.toThrow(/state.bad is a Float64Array/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The fused AdamW kernel (wasm) gives the op-by-op update (the reference, hand-checked in
 * optim.test.ts) to float32 rounding, keeps masked entries fixed, and leaks nothing.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { ADAMW_UPDATE } from '../backend/wasm/kernels/adamw_update.js';
import { normal, relativeError } from '../backend/__fixtures__/numerics.js';
import { AdamW } from './adamw.js';

/** Runs 3 AdamW steps (decayed masked weight, decayed weight, undecayed bias) and returns w, m, v of each. */
function run(fused: boolean): Float32Array[] {
  const shapes = [[7, 5], [33], [4]] as const;
  const variable = (t: tf.Tensor, trainable = true) => {
    const v = tf.variable(t, trainable);
    t.dispose();
    return v;
  };
  const vars = shapes.map((s, i) => variable(tf.tensor(normal(s.reduce((a: number, b: number) => a * b, 1), 10 + i), [...s])));
  const maskValues = Float32Array.from(normal(35, 20), (x) => (x > 0 ? 1 : 0));
  const mask = variable(tf.tensor2d(maskValues, [7, 5]), false);
  const opt = new AdamW(
    [
      { name: 'w', variable: vars[0]!, decay: true, mask },
      { name: 'e', variable: vars[1]!, decay: true },
      { name: 'b', variable: vars[2]!, decay: false },
    ],
    { weightDecay: 0.05, fused },
  );
  for (let step = 0; step < 3; step++) {
    const grads = tf.tidy(() => {
      const gs = shapes.map((s, i) => tf.tensor(normal(s.reduce((a: number, b: number) => a * b, 1), 100 * step + i), [...s]));
      gs[0] = tf.mul(gs[0]!, mask); // the trainer masks gate gradients
      return gs;
    });
    opt.apply(grads, 0.01 * (step + 1));
    tf.dispose(grads);
  }
  const state = opt.state();
  const out = [...vars.map((v) => Float32Array.from(v.dataSync())), ...Object.values(state.m), ...Object.values(state.v)];
  out.push(maskValues);
  opt.dispose();
  tf.dispose([...vars, mask]);
  return out;
}

describe('fused AdamW update (wasm)', () => {
  it('is registered on wasm and matches the op-by-op update', async () => {
    await initBackend('wasm');
    expect(tf.getKernel(ADAMW_UPDATE, 'wasm')).toBeDefined();
    const before = tf.memory().numTensors;
    const fused = run(true);
    expect(tf.memory().numTensors).toBe(before);
    const reference = run(false);
    for (let i = 0; i < 9; i++) expect(relativeError(fused[i]!, reference[i]!), `output ${i}`).toBeLessThan(1e-6);
  });

  it('leaves masked weights exactly where they were', async () => {
    await initBackend('wasm');
    const initial = normal(35, 10);
    const [w, , , , , , , , , mask] = run(true);
    mask!.forEach((keep, j) => {
      if (keep === 0) expect(w![j]).toBe(initial[j]);
      else expect(w![j]).not.toBe(initial[j]);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { createTestContext, drivePruner } from '@gbp/core/testing';
import random from './index.js';

const gates = [
  { name: 'encoder.layer.0.attention.self.query', shape: [20, 20] as const },
  { name: 'encoder.layer.0.intermediate.dense', shape: [20, 40] as const },
];
const pruning = { start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 3 };

async function masksAfter(seed: number, options: Record<string, unknown> = {}) {
  const ctx = createTestContext({ gates, epochs: 3, stepsPerEpoch: 4, pruning, seed, name: 'random' });
  const perEpoch: Uint8Array[][] = [];
  await drivePruner(random, options, ctx, { onEpoch: (c) => void perEpoch.push(c.masks()) });
  ctx.dispose();
  return perEpoch;
}

const zeros = (m: Uint8Array) => m.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);

describe('random pruner', () => {
  it('prunes exactly the linear target at each epoch end, monotonically', async () => {
    const perEpoch = await masksAfter(1);
    // 1200 gated weights: 0, 25% and 50% after epochs 1..3.
    expect(perEpoch.map((masks) => masks.reduce((n, m) => n + zeros(m), 0))).toEqual([0, 300, 600]);
    perEpoch[1]!.forEach((m, g) => m.forEach((v, i) => v === 0 && expect(perEpoch[2]![g]![i]).toBe(0)));
  });

  it('draws from ctx.rng: the seed decides which weights go', async () => {
    const a = await masksAfter(1);
    const b = await masksAfter(1);
    const c = await masksAfter(2);
    expect(b).toEqual(a);
    expect(c[2]).not.toEqual(a[2]);
  });

  it('per_layer prunes every gate to the target', async () => {
    const perEpoch = await masksAfter(1, { scope: 'per_layer' });
    expect(perEpoch[2]!.map(zeros)).toEqual([200, 400]);
  });
});

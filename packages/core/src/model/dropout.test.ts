import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { dropout, dropoutMask } from './dropout.js';

describe('dropout', () => {
  it('draws its mask from the Rng stream of the seed', () => {
    const rate = 0.1;
    const mask = dropoutMask(5000, rate, 1234);
    const rng = new Rng(1234);
    const expected = Float32Array.from({ length: 5000 }, () => (rng.nextUint32() < 0.9 * 4294967296 ? 1 / 0.9 : 0));
    expect(mask).toEqual(expected);
    expect(dropoutMask(5000, rate, 1235)).not.toEqual(mask);
  });

  it('keeps about 1 - rate of the units, scaled by 1 / (1 - rate)', () => {
    const mask = dropoutMask(100_000, 0.25, 7);
    const kept = mask.filter((m) => m !== 0);
    expect(kept.length / mask.length).toBeCloseTo(0.75, 2);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.75)]));
  });

  it('multiplies x by the mask, and its gradient is the same mask', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const mask = dropoutMask(6, 0.5, 3);
    const y = tf.tidy(() => dropout(x, 0.5, 3));
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync(), (v, i) => Math.fround(v * mask[i]!)));
    const g = tf.grad((t: tf.Tensor) => dropout(t, 0.5, 3).sum())(x);
    expect(Array.from(g.dataSync())).toEqual(Array.from(mask));
    expect(dropout(x, 0, 3)).toBe(x);
    expect(() => dropoutMask(3, 1, 0)).toThrow(/rate must be in \[0, 1\)/);
    tf.dispose([x, y, g]);
  });
});

/** Helpers for the backend's numeric tests: seeded inputs, running a function on a named backend, comparing. */
import { Rng } from '../../rng.js';
import { tf } from '../../tf.js';
import { initBackend } from '../init.js';

export type TestBackend = 'wasm' | 'cpu';
export const TEST_BACKENDS: readonly TestBackend[] = ['wasm', 'cpu'];

/** Seeded standard-normal values. */
export function normal(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** Seeded integers in [lo, hi). */
export function ints(size: number, lo: number, hi: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: size }, () => lo + rng.int(hi - lo));
}

/** Runs `f` on `backend` and reads every result back (outside tidy: reading inside is slow). */
export async function runOn(backend: TestBackend, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend);
  const outs = tf.tidy(f);
  const list = Array.isArray(outs) ? outs : [outs];
  const values = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return values;
}

/** max |a - b| / max |b|: a norm-wise relative error that stays meaningful where b crosses zero. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  if (Number.isNaN(diff)) return Infinity;
  return scale === 0 ? diff : diff / scale;
}

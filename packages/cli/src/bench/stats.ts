/**
 * Summary statistics of latency samples. Written here (a dozen lines) rather than taken from a
 * statistics package: the CLI needs two order statistics, and their exact definition is part of
 * bench.json's meaning, so it is stated once, here.
 */

/**
 * The q-quantile (0 ≤ q ≤ 1) of `samples`, interpolating linearly between the two closest ranks
 * (numpy's default, R type 7): the median of an even count is the mean of the middle two.
 */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('quantile of no samples');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5);
export const p90 = (samples: readonly number[]): number => quantile(samples, 0.9);

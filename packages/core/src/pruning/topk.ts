/**
 * Masks from scores: prune the lowest-scoring weights so that exactly round(sparsity · size)
 * weights are masked, globally (one threshold over all gates) or per gate.
 *
 * Ties are broken by flat index (gates in the order given, row-major inside a gate): among equal
 * scores the lower index is pruned first. With `previousMasks` the result is monotone: weights
 * already masked stay masked and count towards the target (if more are already masked than the
 * target asks, nothing else is pruned and nothing is revived).
 *
 * Selection is a radix select on the float bits (two 16-bit histogram passes and one marking
 * pass, O(n), no sort, no copy of the scores), so ~100M weights take about a second in JS.
 */

export type TopKScope = 'global' | 'per_gate';

export interface TopKOptions {
  /** 'global' (default): one threshold over all gates; 'per_gate': each gate hits the sparsity. */
  scope?: TopKScope;
  /** Current masks (1 keep, 0 pruned), one per score array: masked weights stay masked. */
  previousMasks?: readonly (ArrayLike<number> | undefined)[];
  /** Names for error messages, one per score array. */
  names?: readonly string[];
}

/** Number of weights to prune for a sparsity over `size` weights. */
export function prunedCount(size: number, sparsity: number): number {
  if (!(sparsity >= 0 && sparsity <= 1)) throw new Error(`sparsity must be in [0, 1] (got ${sparsity})`);
  return Math.min(size, Math.round(sparsity * size));
}

const NEG_ZERO_KEY = 0x7fffffff; // key of -0: mapped to +0's key so -0 and 0 tie
const POS_ZERO_KEY = 0x80000000;

/** Order-preserving map from float32 bits to uint32. */
function sortKey(bits: number): number {
  const key = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return key === NEG_ZERO_KEY ? POS_ZERO_KEY : key;
}

interface Part {
  bits: Uint32Array;
  previous: ArrayLike<number> | undefined;
  name: string;
}

/** Counts weights forced to stay pruned (previous mask 0) and checks scores for NaN. */
function countForced(part: Part): number {
  const { bits, previous } = part;
  let forced = 0;
  for (let i = 0; i < bits.length; i++) {
    if (previous && previous[i] === 0) {
      forced++;
      continue;
    }
    const b = bits[i]!;
    // NaN: exponent all ones and a non-zero fraction.
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) {
      throw new Error(`score is NaN at index ${i} of gate ${part.name}: cannot rank weights`);
    }
  }
  return forced;
}

/**
 * Finds the k-th smallest key (1-based k) among free (not forced) entries of `parts`, and how
 * many free entries are strictly below it.
 */
function selectKey(parts: readonly Part[], k: number): { key: number; below: number } {
  const hist = new Uint32Array(65536);
  for (const { bits, previous } of parts) {
    for (let i = 0; i < bits.length; i++) {
      if (previous && previous[i] === 0) continue;
      hist[sortKey(bits[i]!) >>> 16]!++;
    }
  }
  let below = 0;
  let high = 0;
  for (; high < 65536; high++) {
    if (below + hist[high]! >= k) break;
    below += hist[high]!;
  }
  hist.fill(0);
  for (const { bits, previous } of parts) {
    for (let i = 0; i < bits.length; i++) {
      if (previous && previous[i] === 0) continue;
      const key = sortKey(bits[i]!);
      if (key >>> 16 === high) hist[key & 0xffff]!++;
    }
  }
  let low = 0;
  for (; low < 65536; low++) {
    if (below + hist[low]! >= k) break;
    below += hist[low]!;
  }
  return { key: ((high << 16) | low) >>> 0, below };
}

/** Masks for `parts` pruning `k` free entries (plus every forced one) in (score, index) order. */
function selectMasks(parts: readonly Part[], k: number): Uint8Array[] {
  const masks = parts.map((p) => new Uint8Array(p.bits.length).fill(1));
  const threshold = k > 0 ? selectKey(parts, k) : null;
  let ties = threshold ? k - threshold.below : 0;
  parts.forEach(({ bits, previous }, g) => {
    const mask = masks[g]!;
    for (let i = 0; i < bits.length; i++) {
      if (previous && previous[i] === 0) {
        mask[i] = 0;
        continue;
      }
      if (!threshold) continue;
      const key = sortKey(bits[i]!);
      if (key < threshold.key) mask[i] = 0;
      else if (key === threshold.key && ties > 0) {
        mask[i] = 0;
        ties--;
      }
    }
  });
  return masks;
}

/**
 * 0/1 masks (1 = keep) pruning the lowest scores to the given sparsity. `scores[g]` is gate g's
 * flat score array (row-major, same layout as its weight).
 */
export function topKMasks(scores: readonly Float32Array[], sparsity: number, options: TopKOptions = {}): Uint8Array[] {
  const { scope = 'global', previousMasks, names } = options;
  const parts: Part[] = scores.map((s, g) => {
    const previous = previousMasks?.[g];
    if (previous && previous.length !== s.length) {
      throw new Error(`previous mask of gate ${names?.[g] ?? g} has ${previous.length} entries, scores have ${s.length}`);
    }
    return { bits: new Uint32Array(s.buffer, s.byteOffset, s.length), previous, name: names?.[g] ?? String(g) };
  });
  const groups = scope === 'global' ? [parts] : parts.map((p) => [p]);
  return groups.flatMap((group) => {
    const size = group.reduce((n, p) => n + p.bits.length, 0);
    const forced = group.reduce((n, p) => n + countForced(p), 0);
    return selectMasks(group, Math.max(0, prunedCount(size, sparsity) - forced));
  });
}

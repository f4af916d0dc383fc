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
 *
 * At block or structured granularity (groups.ts) whole groups are masked instead: a group scores
 * the mean of its weights' scores, groups are ranked by (mean, lowest flat index), and taken
 * greedily in that order, skipping any group whose live weights would overshoot the target, so
 * the weight count lands at most one smallest group below round(sparsity · size), never above.
 * A group already fully masked stays masked and counts. A partially masked group (masks that
 * came from another granularity) ranks by the mean over all its members, costs only its live
 * weights when taken, and keeps its masked weights masked when not taken.
 */
import { groupGates, groupMasks, groupStats, type Granularity, type Grouping } from './groups.js';

export type { Granularity } from './groups.js';

export type TopKScope = 'global' | 'per_gate';

export interface TopKOptions {
  /** 'global' (default): one threshold over all gates; 'per_gate': each gate hits the sparsity. */
  scope?: TopKScope;
  /** Current masks (1 keep, 0 pruned), one per score array: masked weights stay masked. */
  previousMasks?: readonly (ArrayLike<number> | undefined)[];
  /** Names for error messages, one per score array; structured granularity reads layers and roles from them. */
  names?: readonly string[];
  /** What is masked together (default: single weights). */
  granularity?: Granularity;
  /** Each gate's [in, out] shape: needed at block and structured granularity. */
  shapes?: readonly (readonly [number, number])[];
}

/** Options of thresholdMasks: as topKMasks's, less the scope (a threshold needs no ranking). */
export type ThresholdOptions = Omit<TopKOptions, 'scope'>;

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
  const { scope = 'global', previousMasks, names, granularity = { kind: 'weight' } } = options;
  checkPrevious(scores, previousMasks, names);
  if (granularity.kind !== 'weight') {
    const grouping = groupingOf(scores, granularity, scope, options);
    return groupedTopK(grouping, scores, sparsity, previousMasks, gateNames(scores, names));
  }
  const parts: Part[] = scores.map((s, g) => {
    const previous = previousMasks?.[g];
    return { bits: new Uint32Array(s.buffer, s.byteOffset, s.length), previous, name: names?.[g] ?? String(g) };
  });
  const groups = scope === 'global' ? [parts] : parts.map((p) => [p]);
  return groups.flatMap((group) => {
    const size = group.reduce((n, p) => n + p.bits.length, 0);
    const forced = group.reduce((n, p) => n + countForced(p), 0);
    return selectMasks(group, Math.max(0, prunedCount(size, sparsity) - forced));
  });
}

function gateNames(scores: readonly ArrayLike<number>[], names: readonly string[] | undefined): string[] {
  return scores.map((_, g) => names?.[g] ?? String(g));
}

function checkPrevious(scores: readonly ArrayLike<number>[], previousMasks: TopKOptions['previousMasks'], names: readonly string[] | undefined): void {
  scores.forEach((s, g) => {
    const previous = previousMasks?.[g];
    if (previous && previous.length !== s.length) {
      throw new Error(`previous mask of gate ${names?.[g] ?? g} has ${previous.length} entries, scores have ${s.length}`);
    }
  });
}

function groupingOf(
  scores: readonly ArrayLike<number>[],
  granularity: Exclude<Granularity, { kind: 'weight' }>,
  scope: TopKScope,
  { names, shapes }: TopKOptions,
): Grouping {
  if (!shapes || shapes.length !== scores.length) {
    throw new Error(`${granularity.kind} granularity needs options.shapes, the [in, out] shape of each of the ${scores.length} score arrays (got ${shapes?.length ?? 'none'})`);
  }
  if (granularity.kind === 'structured' && (!names || names.length !== scores.length)) {
    throw new Error(`structured granularity needs options.names, the gate name of each of the ${scores.length} score arrays (encoder.layer.N.…), to find heads and neurons`);
  }
  const layouts = shapes.map((shape, g) => ({ name: names?.[g] ?? String(g), shape }));
  return groupGates(layouts, scores.map((s) => s.length), granularity, scope);
}

/** Whole-group top-k: greedy in (mean score, index) order per partition, never above the target. */
function groupedTopK(
  grouping: Grouping,
  scores: readonly ArrayLike<number>[],
  sparsity: number,
  previous: TopKOptions['previousMasks'],
  names: readonly string[],
): Uint8Array[] {
  const { size, masked, mean } = groupStats(grouping, scores, previous, names);
  const partSize = new Float64Array(grouping.partitions);
  const need = new Float64Array(grouping.partitions);
  const pruned = new Uint8Array(grouping.count);
  const candidates: number[] = [];
  for (let id = 0; id < grouping.count; id++) {
    const p = grouping.partition[id]!;
    partSize[p]! += size[id]!;
    need[p]! -= masked[id]!;
    if (masked[id] === size[id]) pruned[id] = 1;
    else candidates.push(id);
  }
  for (let p = 0; p < grouping.partitions; p++) need[p]! += prunedCount(partSize[p]!, sparsity);
  const order = Uint32Array.from(candidates).sort((a, b) => mean[a]! - mean[b]! || a - b);
  for (const id of order) {
    const p = grouping.partition[id]!;
    const live = size[id]! - masked[id]!;
    if (live <= need[p]!) {
      pruned[id] = 1;
      need[p]! -= live;
    }
  }
  return groupMasks(grouping, pruned, previous);
}

/**
 * 0/1 masks keeping what scores at least `threshold` (1 = keep): single weights, or at block and
 * structured granularity whole groups whose mean score is >= threshold. Weights masked in
 * `previousMasks` stay masked.
 */
export function thresholdMasks(scores: readonly Float32Array[], threshold: number, options: ThresholdOptions = {}): Uint8Array[] {
  const { previousMasks, names, granularity = { kind: 'weight' } } = options;
  checkPrevious(scores, previousMasks, names);
  if (granularity.kind === 'weight') {
    return scores.map((s, g) => {
      const previous = previousMasks?.[g];
      return Uint8Array.from(s, (v, i) => {
        if (Number.isNaN(v)) throw new Error(`score is NaN at index ${i} of gate ${names?.[g] ?? g}: cannot compare it to the threshold`);
        return v >= threshold && previous?.[i] !== 0 ? 1 : 0;
      });
    });
  }
  const grouping = groupingOf(scores, granularity, 'global', options);
  const { mean } = groupStats(grouping, scores, previousMasks, gateNames(scores, names));
  return groupMasks(grouping, Uint8Array.from(mean, (m) => (m < threshold ? 1 : 0)), previousMasks);
}

/**
 * Groups of weights that pruning removes together: [rows, cols] blocks of each gate's [in, out]
 * matrix, or the attention heads and FFN neurons of structure.ts. Pruners score single weights;
 * here a group's score is the MEAN of its members' scores, so that groups of different sizes
 * (a head of 4·d·dh weights against a neuron of 2·d, a full block against a smaller edge block)
 * compare on the same scale (a sum would always rank the smaller group lower).
 *
 * Entries are never given a group id array (that would be 4 bytes per weight); a gate's group of
 * entry (row, col) is rowPart[row] + colPart[col], which covers blocks (tile row base + tile
 * column) and structured units (a head or neuron per column, or per row).
 */
import { parseGateName, unitAxis, unitCount, unitKind, unitWidth } from '../model/structure.js';
import type { PruningSpec } from '../spec.js';

/** How weights are grouped. `headSize` is d_model / num_heads of the original model. */
export type Granularity =
  | { readonly kind: 'weight' }
  | { readonly kind: 'block'; readonly block: readonly [number, number] }
  | { readonly kind: 'structured'; readonly headSize: number };

export type GroupScope = 'global' | 'per_gate';

/** The granularity a job's spec asks for; heads are d_model / num_heads wide (the original model). */
export function granularityOf(pruning: Pick<PruningSpec, 'granularity' | 'block'>, model: { d_model: number; num_heads: number }): Granularity {
  switch (pruning.granularity ?? 'weight') {
    case 'weight':
      return { kind: 'weight' };
    case 'block':
      return { kind: 'block', block: pruning.block ?? [32, 32] };
    case 'structured':
      return { kind: 'structured', headSize: model.d_model / model.num_heads };
  }
}

/** A gate as grouping sees it: its name (structured reads the layer and role from it) and [in, out] shape. */
export interface GateLayout {
  readonly name: string;
  readonly shape: readonly [number, number];
}

/** Group ids of one gate: entry (r, c) belongs to group rowPart[r] + colPart[c]. */
interface GateGroups {
  rowPart: Int32Array;
  colPart: Int32Array;
}

/** Every group of a set of gates, and the partition (ranking unit of `scope`) each belongs to. */
export interface Grouping {
  readonly gates: readonly GateGroups[];
  readonly count: number;
  /** Partition of each group: all 0 for scope global; the gate (block) or layer (structured) for per_gate. */
  readonly partition: Int32Array;
  readonly partitions: number;
}

function checkShape(layout: GateLayout, length: number): void {
  const [rows, cols] = layout.shape;
  if (rows * cols !== length) {
    throw new Error(`gate ${layout.name} has shape [${rows}, ${cols}] (${rows * cols} weights) but ${length} scores`);
  }
}

function blockGroups(layouts: readonly GateLayout[], block: readonly [number, number], scope: GroupScope): Grouping {
  const [br, bc] = block;
  if (!(Number.isInteger(br) && Number.isInteger(bc) && br >= 1 && bc >= 1)) {
    throw new Error(`block must be two integers >= 1 (got [${block.join(', ')}])`);
  }
  let next = 0;
  const partition: number[] = [];
  const gates = layouts.map((layout, g) => {
    const [rows, cols] = layout.shape;
    const tileCols = Math.ceil(cols / bc);
    const tiles = Math.ceil(rows / br) * tileCols;
    const rowPart = Int32Array.from({ length: rows }, (_, r) => next + Math.floor(r / br) * tileCols);
    const colPart = Int32Array.from({ length: cols }, (_, c) => Math.floor(c / bc));
    for (let t = 0; t < tiles; t++) partition.push(scope === 'global' ? 0 : g);
    next += tiles;
    return { rowPart, colPart };
  });
  return { gates, count: next, partition: Int32Array.from(partition), partitions: scope === 'global' ? 1 : layouts.length };
}

function structuredGroups(layouts: readonly GateLayout[], headSize: number, scope: GroupScope): Grouping {
  if (!(Number.isInteger(headSize) && headSize >= 1)) throw new Error(`structured pruning needs a head size >= 1 (got ${headSize})`);
  // Ids in order of first appearance, so ties break by the lowest flat index of a group.
  const ids = new Map<string, number>();
  const partition: number[] = [];
  const layerIndex = new Map<number, number>();
  const gates = layouts.map((layout) => {
    const parsed = parseGateName(layout.name);
    if (!parsed) {
      throw new Error(
        `structured pruning groups the six matrices of encoder layers (encoder.layer.N.attention.self.query ... output.dense); gate '${layout.name}' is not one of them`,
      );
    }
    const { layer, role } = parsed;
    if (!layerIndex.has(layer)) layerIndex.set(layer, layerIndex.size);
    const units = unitCount(role, layout.shape, headSize);
    const width = unitWidth(role, headSize);
    const kind = unitKind(role);
    const unitIds = Int32Array.from({ length: units }, (_, u) => {
      const key = `${layer}:${kind}:${u}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
        partition.push(scope === 'global' ? 0 : layerIndex.get(layer)!);
      }
      return id;
    });
    const [rows, cols] = layout.shape;
    const byRows = unitAxis(role) === 'rows';
    const rowPart = Int32Array.from({ length: rows }, (_, r) => (byRows ? unitIds[Math.floor(r / width)]! : 0));
    const colPart = Int32Array.from({ length: cols }, (_, c) => (byRows ? 0 : unitIds[Math.floor(c / width)]!));
    return { rowPart, colPart };
  });
  return { gates, count: ids.size, partition: Int32Array.from(partition), partitions: scope === 'global' ? 1 : layerIndex.size };
}

/**
 * The groups of `layouts` at a block or structured granularity. With scope per_gate, block groups
 * rank per gate and structured groups per layer (a layer's heads and neurons together).
 */
export function groupGates(
  layouts: readonly GateLayout[],
  lengths: readonly number[],
  granularity: Exclude<Granularity, { kind: 'weight' }>,
  scope: GroupScope,
): Grouping {
  layouts.forEach((l, g) => checkShape(l, lengths[g]!));
  return granularity.kind === 'block' ? blockGroups(layouts, granularity.block, scope) : structuredGroups(layouts, granularity.headSize, scope);
}

/** Per group: members, members already masked, and the mean score over all members. */
export interface GroupStats {
  size: Float64Array;
  masked: Float64Array;
  mean: Float64Array;
}

/**
 * One pass over every score: group sizes, masked members (previous mask 0) and mean scores.
 * A NaN score, or a group mixing +Infinity and -Infinity (no mean), is an error naming the gate.
 */
export function groupStats(
  grouping: Grouping,
  scores: readonly ArrayLike<number>[],
  previous: readonly (ArrayLike<number> | undefined)[] | undefined,
  names: readonly string[],
): GroupStats {
  const size = new Float64Array(grouping.count);
  const masked = new Float64Array(grouping.count);
  const sum = new Float64Array(grouping.count);
  grouping.gates.forEach(({ rowPart, colPart }, g) => {
    const s = scores[g]!;
    const prev = previous?.[g];
    const cols = colPart.length;
    for (let r = 0; r < rowPart.length; r++) {
      const base = rowPart[r]!;
      const offset = r * cols;
      for (let c = 0; c < cols; c++) {
        const i = offset + c;
        const id = base + colPart[c]!;
        const v = s[i]!;
        if (Number.isNaN(v)) throw new Error(`score is NaN at index ${i} of gate ${names[g]}: cannot rank weights`);
        size[id]!++;
        sum[id]! += v;
        if (prev && prev[i] === 0) masked[id]!++;
      }
    }
  });
  const mean = new Float64Array(grouping.count);
  for (let id = 0; id < grouping.count; id++) {
    mean[id] = size[id]! > 0 ? sum[id]! / size[id]! : 0;
    if (Number.isNaN(mean[id])) throw new Error(`a group's scores mix +Infinity and -Infinity (group ${id}): its mean score is undefined`);
  }
  return { size, masked, mean };
}

/** Masks from a per-group decision: an entry is 0 when its group is pruned or it was masked before (monotone). */
export function groupMasks(
  grouping: Grouping,
  pruned: Uint8Array,
  previous: readonly (ArrayLike<number> | undefined)[] | undefined,
): Uint8Array[] {
  return grouping.gates.map(({ rowPart, colPart }, g) => {
    const cols = colPart.length;
    const mask = new Uint8Array(rowPart.length * cols);
    const prev = previous?.[g];
    for (let r = 0; r < rowPart.length; r++) {
      const base = rowPart[r]!;
      const offset = r * cols;
      for (let c = 0; c < cols; c++) {
        const i = offset + c;
        mask[i] = pruned[base + colPart[c]!] || (prev && prev[i] === 0) ? 0 : 1;
      }
    }
    return mask;
  });
}

/**
 * How far below the target weight count whole-group top-k may land: per partition the greedy fill
 * stops less than one group short, so at most the sum over partitions of the largest group.
 */
export function undershootBound(grouping: Grouping): number {
  const size = new Float64Array(grouping.count);
  grouping.gates.forEach(({ rowPart, colPart }) => {
    for (const base of rowPart) for (const c of colPart) size[base + c]!++;
  });
  const largest = new Float64Array(grouping.partitions);
  size.forEach((n, id) => {
    const p = grouping.partition[id]!;
    largest[p] = Math.max(largest[p]!, n);
  });
  return largest.reduce((a, b) => a + b, 0);
}

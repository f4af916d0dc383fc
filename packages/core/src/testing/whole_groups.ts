/**
 * Checks that masks remove whole groups: every [rows, cols] block, or every attention head and FFN
 * neuron (model/structure.ts), is all masked or all kept. Written from structure.ts's unitOfEntry,
 * independently of the grouping that topKMasks uses, so the two check each other.
 */
import { parseGateName, unitKind, unitOfEntry } from '../model/structure.js';
import type { Granularity } from '../pruning/groups.js';

export interface MaskedLayout {
  readonly name: string;
  readonly shape: readonly [number, number];
  readonly mask: ArrayLike<number>;
}

/** The key of the group holding entry `index` of `gate`, or undefined at weight granularity. */
function groupKey(gate: MaskedLayout, g: number, index: number, granularity: Granularity): string | undefined {
  const cols = gate.shape[1];
  if (granularity.kind === 'block') {
    const [br, bc] = granularity.block;
    return `block (${Math.floor(Math.floor(index / cols) / br)}, ${Math.floor((index % cols) / bc)}) of ${gate.name}#${g}`;
  }
  if (granularity.kind === 'structured') {
    const parsed = parseGateName(gate.name);
    if (!parsed) throw new Error(`gate ${gate.name} is not an encoder-layer matrix`);
    const kind = unitKind(parsed.role);
    return `${kind} ${unitOfEntry(parsed.role, gate.shape, granularity.headSize, index)} of layer ${parsed.layer}`;
  }
  return undefined;
}

/** Descriptions of the groups that are partly masked (empty when every group is whole). */
export function partlyMaskedGroups(gates: readonly MaskedLayout[], granularity: Granularity): string[] {
  const seen = new Map<string, { kept: number; masked: number }>();
  gates.forEach((gate, g) => {
    for (let i = 0; i < gate.mask.length; i++) {
      const key = groupKey(gate, g, i, granularity);
      if (key === undefined) return;
      const entry = seen.get(key) ?? { kept: 0, masked: 0 };
      if (gate.mask[i] === 0) entry.masked++;
      else entry.kept++;
      seen.set(key, entry);
    }
  });
  return [...seen].filter(([, n]) => n.kept > 0 && n.masked > 0).map(([key, n]) => `${key}: ${n.masked} masked, ${n.kept} kept`);
}

/** Size in weights of the largest group (the bound on how far whole-group top-k lands below its target, per partition). */
export function largestGroup(gates: readonly MaskedLayout[], granularity: Granularity): number {
  const sizes = new Map<string, number>();
  gates.forEach((gate, g) => {
    for (let i = 0; i < gate.mask.length; i++) {
      const key = groupKey(gate, g, i, granularity) ?? `${g}:${i}`;
      sizes.set(key, (sizes.get(key) ?? 0) + 1);
    }
  });
  return Math.max(0, ...sizes.values());
}

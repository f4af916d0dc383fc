/**
 * Where attention heads and FFN neurons sit in the gated matrices: the one description that
 * structured pruning (grouping scores), the sparsity report (heads and neurons kept) and compaction
 * (what can be cut out) share.
 *
 * Weights are [in, out], row-major. With head size dh (d_model / original num_heads):
 * - head h of layer i = columns [h·dh, (h+1)·dh) of query, key and value, plus rows
 *   [h·dh, (h+1)·dh) of attention.output.dense;
 * - FFN neuron j of layer i = column j of intermediate.dense plus row j of output.dense.
 * A unit contributes exactly nothing to the layer's output when its rows of the output-side matrix
 * (attention.output.dense for a head, output.dense for a neuron) are all masked, whatever its
 * input-side columns hold: that is the rule for "removed".
 */

/** The six gated matrices of an encoder layer. */
export type GateRole = 'query' | 'key' | 'value' | 'attention_output' | 'intermediate' | 'output';

const ROLE_SUFFIX: Readonly<Record<string, GateRole>> = {
  'attention.self.query': 'query',
  'attention.self.key': 'key',
  'attention.self.value': 'value',
  'attention.output.dense': 'attention_output',
  'intermediate.dense': 'intermediate',
  'output.dense': 'output',
};

const GATE_NAME = /^encoder\.layer\.(\d+)\.(.+)$/;

/** The layer and role of a gate named like 'encoder.layer.3.attention.self.query'; undefined otherwise. */
export function parseGateName(name: string): { layer: number; role: GateRole } | undefined {
  const match = GATE_NAME.exec(name);
  const role = match ? ROLE_SUFFIX[match[2]!] : undefined;
  return match && role ? { layer: Number(match[1]), role } : undefined;
}

/** Heads are units of the attention matrices, neurons of the FFN matrices. */
export function unitKind(role: GateRole): 'head' | 'neuron' {
  return role === 'intermediate' || role === 'output' ? 'neuron' : 'head';
}

/** Whether a unit owns columns (input side: query/key/value/intermediate) or rows (output side). */
export function unitAxis(role: GateRole): 'columns' | 'rows' {
  return role === 'attention_output' || role === 'output' ? 'rows' : 'columns';
}

/** Columns (or rows) per unit: the head size for attention matrices, 1 for the FFN. */
export function unitWidth(role: GateRole, headSize: number): number {
  return unitKind(role) === 'head' ? headSize : 1;
}

/** Number of units along a gate's unit axis ([in, out] shape). */
export function unitCount(role: GateRole, shape: readonly [number, number], headSize: number): number {
  const extent = unitAxis(role) === 'rows' ? shape[0] : shape[1];
  const width = unitWidth(role, headSize);
  if (extent % width !== 0) {
    throw new Error(`a ${role} matrix of shape [${shape.join(', ')}] does not split into heads of size ${headSize}`);
  }
  return extent / width;
}

/** The unit (head or neuron index) of the row-major entry `index` of a gate of this role and shape. */
export function unitOfEntry(role: GateRole, shape: readonly [number, number], headSize: number, index: number): number {
  const cols = shape[1];
  const along = unitAxis(role) === 'rows' ? Math.floor(index / cols) : index % cols;
  return Math.floor(along / unitWidth(role, headSize));
}

/** Heads and FFN neurons of one layer: how many there are and which are kept (not removed). */
export interface LayerUnits {
  layer: number;
  heads: number;
  heads_kept: number;
  neurons: number;
  neurons_kept: number;
  /** Per head / neuron: true when kept. */
  keptHeads: boolean[];
  keptNeurons: boolean[];
}

/** A gate's name, [in, out] shape and 0/1 mask (row-major), as the structure functions read it. */
export interface MaskedGate {
  readonly name: string;
  readonly shape: readonly [number, number];
  readonly mask: ArrayLike<number>;
}

/** True when rows [from, to) of a row-major [rows, cols] mask are all 0. */
function rowsAllMasked(mask: ArrayLike<number>, cols: number, from: number, to: number): boolean {
  for (let i = from * cols; i < to * cols; i++) if (mask[i] !== 0) return false;
  return true;
}

/**
 * Per layer, the heads and neurons that still contribute (their output-side rows are not all
 * masked). Layers are those named by the output-side gates (attention.output.dense, output.dense);
 * gates of other names are ignored.
 */
export function keptUnits(gates: readonly MaskedGate[], headSize: number): LayerUnits[] {
  const layers = new Map<number, LayerUnits>();
  const layerOf = (i: number): LayerUnits => {
    let entry = layers.get(i);
    if (!entry) {
      entry = { layer: i, heads: 0, heads_kept: 0, neurons: 0, neurons_kept: 0, keptHeads: [], keptNeurons: [] };
      layers.set(i, entry);
    }
    return entry;
  };
  for (const gate of gates) {
    const parsed = parseGateName(gate.name);
    if (!parsed || unitAxis(parsed.role) !== 'rows') continue;
    const width = unitWidth(parsed.role, headSize);
    const kept: boolean[] = [];
    for (let u = 0; u < unitCount(parsed.role, gate.shape, headSize); u++) {
      kept.push(!rowsAllMasked(gate.mask, gate.shape[1], u * width, (u + 1) * width));
    }
    const entry = layerOf(parsed.layer);
    if (unitKind(parsed.role) === 'head') entry.keptHeads = kept;
    else entry.keptNeurons = kept;
  }
  const count = (xs: boolean[]) => xs.filter(Boolean).length;
  return [...layers.values()]
    .sort((a, b) => a.layer - b.layer)
    .map((l) => ({ ...l, heads: l.keptHeads.length, heads_kept: count(l.keptHeads), neurons: l.keptNeurons.length, neurons_kept: count(l.keptNeurons) }));
}

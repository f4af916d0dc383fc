/**
 * A compacted gbp model's per-layer widths in the shapes a BertConfig can express. BertConfig has
 * one intermediate_size, and removes heads with pruned_heads ({layer: [head, ...]}), which
 * transformers applies at load so the weights hold only the kept heads. So:
 * - FFN widths that differ per layer are padded to the widest with zero rows and columns: a
 *   padded neuron computes gelu(0) = 0 and has zero outgoing weights, so the output is exact;
 * - a layer with no heads keeps one head of zero weights: its scores are 0, its values 0, and its
 *   output weights 0, so the layer adds only the output bias, as the removed attention did.
 *   Why not prune all heads: transformers' SDPA attention (BERT's default in recent versions)
 *   reshapes with view(batch, -1, heads, head_size), which PyTorch refuses for 0 heads (-1 is
 *   ambiguous in an empty tensor).
 */
import { headSize, layerDff, layerHeads, parameterSpecs, type ModelConfig } from './config.js';
import type { NamedTensor } from './safetensors.js';

export interface BertWidths {
  /** The config with widths BertConfig can express: one dff (no dff_per_layer), heads_per_layer only for pruned heads, at least 1 a layer. */
  config: ModelConfig;
  /** Every parameter of parameterSpecs(config), gbp names and layout; padding is zeros. */
  weights: Map<string, NamedTensor>;
  /** What was padded, for the user (empty when nothing was). */
  notes: string[];
  /** Parameters added by the padding. */
  extraParams: number;
}

const zeros = (shape: readonly number[]): NamedTensor => ({ shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

/** A row-major [rows, cols] matrix widened to [rows, wider] with zero columns on the right. */
function padColumns(t: NamedTensor | undefined, rows: number, wider: number): NamedTensor {
  const out = zeros([rows, wider]);
  if (t === undefined) return out;
  const cols = t.shape[1]!;
  for (let r = 0; r < rows; r++) out.data.set(t.data.subarray(r * cols, (r + 1) * cols), r * wider);
  return out;
}

/** A row-major matrix or a vector lengthened to `shape` with zero rows (values) after its own. */
function padRows(t: NamedTensor | undefined, shape: readonly number[]): NamedTensor {
  const out = zeros(shape);
  if (t !== undefined) out.data.set(t.data);
  return out;
}

const thousands = (n: number) => n.toLocaleString('en-US');

/** `config` and `weights` (every parameter of parameterSpecs(config)) padded as the module comment says. */
export function toBertWidths(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>): BertWidths {
  const layers = Array.from({ length: config.num_layers }, (_, i) => i);
  const dffs = layers.map((i) => layerDff(config, i));
  const heads = layers.map((i) => layerHeads(config, i));
  // intermediate_size must be at least 1 for BertConfig readers (gbp's importer included).
  const dff = Math.max(1, ...dffs);
  const keptHeads = heads.map((h) => Math.max(1, h));
  const padded: ModelConfig = {
    size: config.size,
    num_layers: config.num_layers,
    d_model: config.d_model,
    num_heads: config.num_heads,
    dff,
    vocab_size: config.vocab_size,
    max_len: config.max_len,
    dropout_rate: config.dropout_rate,
    type_vocab_size: config.type_vocab_size,
    num_labels: config.num_labels,
    ...(keptHeads.some((h) => h !== config.num_heads) ? { heads_per_layer: keptHeads } : {}),
    ...(config.layer_norm_eps !== undefined ? { layer_norm_eps: config.layer_norm_eps } : {}),
  };

  const out = new Map<string, NamedTensor>();
  const d = config.d_model;
  const hs = headSize(config);
  for (const spec of parameterSpecs(padded)) {
    const match = /^encoder\.layer\.(\d+)\.(.+)$/.exec(spec.name);
    const have = weights.get(spec.name);
    if (match === null) {
      out.set(spec.name, have!);
      continue;
    }
    const layer = Number(match[1]);
    const part = match[2]!;
    if (part === 'intermediate.dense.weight') out.set(spec.name, padColumns(have, d, dff));
    else if (part === 'intermediate.dense.bias' || part === 'output.dense.weight') out.set(spec.name, padRows(have, spec.shape));
    else if (have !== undefined) out.set(spec.name, have);
    else if (heads[layer] === 0) out.set(spec.name, zeros(spec.shape)); // the zero head of a layer without heads
    else throw new Error(`internal: no weights for '${spec.name}'`);
  }

  const notes: string[] = [];
  const ffnExtra = dffs.reduce((total, f) => total + (dff - f) * (2 * d + 1), 0);
  if (dffs.some((f) => f !== dff)) {
    notes.push(`FFN widths ${dffs.join(',')} padded with zeros to ${dff} (BertConfig has one intermediate_size; exact): ${thousands(ffnExtra)} extra parameters`);
  }
  const headless = layers.filter((i) => heads[i] === 0);
  const headExtra = headless.length * (4 * d * hs + 3 * hs);
  if (headless.length > 0) {
    notes.push(`layer${headless.length > 1 ? 's' : ''} ${headless.join(',')} without attention heads exported with 1 head of zero weights each (exact; the SDPA attention of transformers cannot run a 0-head layer): ${thousands(headExtra)} extra parameters`);
  }
  return { config: padded, weights: out, notes, extraParams: ffnExtra + headExtra };
}

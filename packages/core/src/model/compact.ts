/**
 * Compaction: the masked model as a smaller dense one. Heads and FFN neurons that structure.ts
 * calls removed (their output-side rows all masked) are cut out; the kept ones are sliced out of
 * W ⊙ M, so zeros the mask leaves inside kept units stay zeros. The compacted model computes the
 * same function as the masked one (up to float rounding): a removed unit contributed exactly 0.
 */
import { tf } from '../tf.js';
import { headSize, layerDff, layerHeads, type ModelConfig } from './config.js';
import type { GatedBert, ModelInput } from './encoder.js';
import { keptUnits, parseGateName, unitKind, unitAxis, type LayerUnits } from './structure.js';
import { costFields, type CompactionReport } from './compaction-report.js';
import type { NamedTensor } from './safetensors.js';
import type { InferenceModel } from './inference.js';

/** What compact() measures; the logit check is added by whoever has evaluation data. */
export type CompactionCounts = Omit<CompactionReport, 'max_abs_logit_diff' | 'logit_diff_examples'>;

export interface CompactedModel {
  /** The model's config with heads_per_layer / dff_per_layer of what was kept. */
  config: ModelConfig;
  /** Every parameter of parameterSpecs(config), Float32, by name. */
  weights: Map<string, NamedTensor>;
  counts: CompactionCounts;
}

const indices = (kept: readonly boolean[], width: number): number[] => kept.flatMap((k, u) => (k ? Array.from({ length: width }, (_, j) => u * width + j) : []));

/** Columns `cols` of a row-major [rows, n] matrix. */
function takeColumns(data: Float32Array, rows: number, n: number, cols: readonly number[]): Float32Array {
  const out = new Float32Array(rows * cols.length);
  for (let r = 0; r < rows; r++) {
    const from = r * n;
    const to = r * cols.length;
    for (let j = 0; j < cols.length; j++) out[to + j] = data[from + cols[j]!]!;
  }
  return out;
}

/** Rows `rows` of a row-major [*, n] matrix. */
function takeRows(data: Float32Array, n: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * n);
  rows.forEach((r, i) => out.set(data.subarray(r * n, (r + 1) * n), i * n));
  return out;
}

/** Per layer, the kept heads and neurons (a layer the model has no gates for keeps none). */
function unitsPerLayer(model: GatedBert, masks: ReadonlyMap<string, Float32Array>): LayerUnits[] {
  const found = keptUnits(
    model.gates.map((g) => ({ name: g.name, shape: g.shape, mask: masks.get(g.name)! })),
    headSize(model.config),
  );
  return Array.from({ length: model.config.num_layers }, (_, i) => {
    const entry = found.find((l) => l.layer === i);
    const keptHeads = entry && layerHeads(model.config, i) > 0 ? entry.keptHeads : [];
    const keptNeurons = entry && layerDff(model.config, i) > 0 ? entry.keptNeurons : [];
    const count = (xs: boolean[]) => xs.filter(Boolean).length;
    return { layer: i, heads: keptHeads.length, heads_kept: count(keptHeads), neurons: keptNeurons.length, neurons_kept: count(keptNeurons), keptHeads, keptNeurons };
  });
}

/** The masked `model` as a dense model without its removed heads and neurons, and what that saves. */
export function compact(model: GatedBert): CompactedModel {
  const dh = headSize(model.config);
  const masks = new Map(model.gates.map((g) => [g.name, g.mask.dataSync() as Float32Array]));
  const layers = unitsPerLayer(model, masks);
  const config: ModelConfig = {
    ...model.config,
    heads_per_layer: layers.map((l) => l.heads_kept),
    dff_per_layer: layers.map((l) => l.neurons_kept),
  };

  const weights = new Map<string, NamedTensor>();
  let keptGated = 0;
  let maskedKept = 0;
  for (const spec of model.specs) {
    const values = model.param(spec.name).dataSync() as Float32Array;
    const gateName = spec.name.replace(/\.(weight|bias)$/, '');
    const parsed = parseGateName(gateName);
    if (!parsed) {
      weights.set(spec.name, { shape: spec.shape, data: Float32Array.from(values) });
      continue;
    }
    const units = layers[parsed.layer]!;
    const head = unitKind(parsed.role) === 'head';
    const keep = indices(head ? units.keptHeads : units.keptNeurons, head ? dh : 1);
    if (keep.length === 0 && !(unitAxis(parsed.role) === 'rows' && spec.name.endsWith('.bias'))) continue; // cut with its whole block
    if (spec.name.endsWith('.bias')) {
      // An output-side bias has d entries, not one per unit: it stays whole.
      weights.set(spec.name, { shape: unitAxis(parsed.role) === 'rows' ? spec.shape : [keep.length], data: unitAxis(parsed.role) === 'rows' ? Float32Array.from(values) : Float32Array.from(keep, (j) => values[j]!) });
      continue;
    }
    const [n, m] = spec.shape as [number, number];
    const mask = masks.get(gateName)!;
    const effective = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) effective[i] = values[i]! * mask[i]!;
    const columns = unitAxis(parsed.role) === 'columns';
    const data = columns ? takeColumns(effective, n, m, keep) : takeRows(effective, m, keep);
    const keptMask = columns ? takeColumns(mask, n, m, keep) : takeRows(mask, m, keep);
    keptGated += keptMask.length;
    for (const v of keptMask) if (v === 0) maskedKept++;
    weights.set(spec.name, { shape: columns ? [n, keep.length] : [keep.length, m], data });
  }

  return {
    config,
    weights,
    counts: {
      ...costFields(model.config, config),
      heads_kept: layers.map((l) => l.heads_kept),
      heads: layers.map((_, i) => layerHeads(model.config, i)),
      neurons_kept: layers.map((l) => l.neurons_kept),
      neurons: layers.map((_, i) => layerDff(model.config, i)),
      structures_removed: layers.some((l, i) => l.heads_kept < layerHeads(model.config, i) || l.neurons_kept < layerDff(model.config, i)),
      unstructured_sparsity_left: keptGated === 0 ? 0 : maskedKept / keptGated,
    },
  };
}

/** max |masked model logits − compacted model logits| over `batches`, both in eval mode (no dropout). */
export function maxAbsLogitDiff(masked: GatedBert, compacted: InferenceModel, batches: Iterable<ModelInput>): number {
  let max = 0;
  for (const batch of batches) {
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(masked.logits(batch, { training: false }), compacted.logits(batch)))));
    max = Math.max(max, diff.dataSync()[0]!);
    diff.dispose();
  }
  return max;
}

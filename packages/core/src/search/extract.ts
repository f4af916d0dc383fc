/**
 * The search's winner as a job's `model/` folder, the same format as a compacted job's (config with
 * heads_per_layer/dff_per_layer, weights, vocab.txt, compaction.json), so gbp infer, bench and export
 * take it; its logits are checked against the sub-network's forward on the supernet first, as
 * writeJobModel checks a compacted model.
 */
import { join } from 'node:path';
import { tf } from '../tf.js';
import type { LogLevel } from '../events.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { forward, layerDff, layerHeads, type GatedBert } from '../model/index.js';
import { InferenceModel } from '../model/inference.js';
import { writeModelFolder } from '../model/folder.js';
import { costFields, type CompactionReport } from '../model/compaction-report.js';
import { parseGateName } from '../model/structure.js';
import { LOGIT_CHECK_EXAMPLES } from '../job/model-folder.js';
import { cutOf, subnetLookup, subnetWeights } from './subnet.js';
import { archConfig, type SubnetArch } from './space.js';

/**
 * Each gate's mask with everything outside sub-network `arch` zeroed (the masks the supernet would
 * have if it were the sub-network), and how many gated weights the sub-network keeps and how many
 * of those were already masked.
 */
export function subnetMasks(model: GatedBert, arch: SubnetArch): { masks: Map<string, Float32Array>; kept: number; maskedKept: number } {
  const sub = archConfig(model.config, arch);
  const masks = new Map<string, Float32Array>();
  let kept = 0;
  let maskedKept = 0;
  for (const gate of model.gates) {
    const mask = gate.mask.dataSync() as Float32Array;
    const out = new Float32Array(mask.length);
    const layer = parseGateName(gate.name)?.layer;
    // A layer past the sub-network's depth is cut whole; cutOf only knows the kept layers.
    if (layer === undefined || layer < arch.layers) {
      const cols = gate.shape[1];
      const [keepRows, keepCols] = cutOf(model.config, sub, `${gate.name}.weight`, gate.shape) as [number, number];
      for (let i = 0; i < keepRows; i++) {
        for (let j = 0; j < keepCols; j++) {
          const v = mask[i * cols + j]!;
          out[i * cols + j] = v;
          kept++;
          if (v === 0) maskedKept++;
        }
      }
    }
    masks.set(gate.name, out);
  }
  return { masks, kept, maskedKept };
}

const LOGIT_CHECK_BATCH = 32;

export interface SubnetModelInput {
  readonly model: GatedBert;
  readonly arch: SubnetArch;
  readonly outputDir: string;
  readonly task: string;
  readonly vocab: string;
  readonly lowercase: boolean;
  /** Evaluation examples; the first LOGIT_CHECK_EXAMPLES are used for the logit check. */
  readonly examples: readonly EncodedExample[];
  readonly padId: number;
  readonly log: (level: LogLevel, message: string) => void;
}

/** max |sub-network forward on the supernet − compacted model| over `examples`, both without dropout. */
function maxSubnetLogitDiff(model: GatedBert, arch: SubnetArch, compacted: InferenceModel, examples: readonly EncodedExample[], padId: number): number {
  const { config, lookup } = subnetLookup(model, arch);
  let max = 0;
  for (const batch of makeBatches(examples, LOGIT_CHECK_BATCH, { padId, groupByLength: true })) {
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(forward(config, lookup, batch, { training: false }), compacted.logits(batch)))));
    max = Math.max(max, diff.dataSync()[0]!);
    diff.dispose();
  }
  return max;
}

/** Writes sub-network `arch` of the supernet as `<outputDir>/model/`, after its logit check; returns the folder and its report. */
export async function writeSubnetModel(input: SubnetModelInput): Promise<{ dir: string; report: CompactionReport }> {
  const { model, arch } = input;
  const { config, weights } = subnetWeights(model, arch);
  const compacted = InferenceModel.fromWeights(config, weights, input.task);
  const examples = input.examples.slice(0, LOGIT_CHECK_EXAMPLES);
  let diff: number;
  try {
    diff = maxSubnetLogitDiff(model, arch, compacted, examples, input.padId);
  } finally {
    compacted.dispose();
  }
  const { kept, maskedKept } = subnetMasks(model, arch);
  const full = model.config;
  const layers = Array.from({ length: full.num_layers }, (_, i) => i);
  const report: CompactionReport = {
    ...costFields(full, config),
    heads_kept: layers.map((i) => (i < arch.layers ? arch.heads[i]! : 0)),
    heads: layers.map((i) => layerHeads(full, i)),
    neurons_kept: layers.map((i) => (i < arch.layers ? arch.ffn[i]! : 0)),
    neurons: layers.map((i) => layerDff(full, i)),
    structures_removed: layers.some((i) => i >= arch.layers || arch.heads[i]! < layerHeads(full, i) || arch.ffn[i]! < layerDff(full, i)),
    unstructured_sparsity_left: kept === 0 ? 0 : maskedKept / kept,
    max_abs_logit_diff: diff,
    logit_diff_examples: examples.length,
  };
  const dir = join(input.outputDir, 'model');
  await writeModelFolder(dir, { config, task: input.task, weights, vocab: input.vocab, lowercase: input.lowercase, compaction: report });
  input.log(
    'info',
    `model: the chosen sub-network, params ${(report.params_before / 1e6).toFixed(2)}M → ${(report.params_after / 1e6).toFixed(2)}M, ` +
      `${arch.layers}/${full.num_layers} layers, max |logit diff| ${diff.toExponential(1)} against its forward on the supernet on ${examples.length} examples → ${dir}`,
  );
  return { dir, report };
}

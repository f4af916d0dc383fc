/**
 * compaction.json: what compaction removed and what it costs to run the model before and after.
 * FLOPs per token (forward, a multiply-add = 2 FLOPs) at sequence length T = max_len: per layer
 * 2·(weights of its dense matrices) + 4·T·(heads·head size) (attention scores and context), plus
 * 2·(pooler + classifier weights)/T (they run once per sequence, on [CLS]).
 */
import { headSize, layerDff, layerHeads, modelInfo, type ModelConfig } from './config.js';

export interface CompactionReport {
  params_before: number;
  params_after: number;
  gated_params_before: number;
  gated_params_after: number;
  flops_per_token_before: number;
  flops_per_token_after: number;
  /** The T of the FLOPs counts. */
  max_len: number;
  /** Per layer: heads kept, and heads there were. */
  heads_kept: number[];
  heads: number[];
  neurons_kept: number[];
  neurons: number[];
  /** True when at least one head or neuron was cut out. */
  structures_removed: boolean;
  /** Masked fraction of the gated weights that compaction kept (zeros left inside kept heads/neurons). */
  unstructured_sparsity_left: number;
  /** max |masked model logits − compacted model logits| over `logit_diff_examples` evaluation examples. */
  max_abs_logit_diff: number;
  logit_diff_examples: number;
}

/** Forward FLOPs per token of `config` at sequence length T (default max_len); see the module comment. */
export function flopsPerToken(config: ModelConfig, T = config.max_len): number {
  const d = config.d_model;
  const dh = headSize(config);
  let flops = 0;
  for (let i = 0; i < config.num_layers; i++) {
    const a = layerHeads(config, i) * dh;
    const f = layerDff(config, i);
    flops += 2 * (4 * d * a + 2 * d * f) + 4 * T * a;
  }
  return flops + (2 * (d * d + d * config.num_labels)) / T;
}

/** The parameter and FLOPs fields of a report: `before` is the uncompacted config, `after` the compacted one. */
export function costFields(before: ModelConfig, after: ModelConfig): Pick<CompactionReport, 'params_before' | 'params_after' | 'gated_params_before' | 'gated_params_after' | 'flops_per_token_before' | 'flops_per_token_after' | 'max_len'> {
  const b = modelInfo(before);
  const a = modelInfo(after);
  return {
    params_before: b.num_params,
    params_after: a.num_params,
    gated_params_before: b.num_gated_params,
    gated_params_after: a.num_gated_params,
    flops_per_token_before: flopsPerToken(before),
    flops_per_token_after: flopsPerToken(after),
    max_len: before.max_len,
  };
}

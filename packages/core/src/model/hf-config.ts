/**
 * A Hugging Face BERT config.json as a gbp ModelConfig. gbp's encoder is BERT's post-LayerNorm
 * encoder with absolute positions and erf GELU, so only those checkpoints are accepted; anything
 * else is refused by field name, with the file, before any weight is read.
 */
import { readFile } from 'node:fs/promises';
import { validateLayerWidths, type ModelConfig } from './config.js';
import { bertLikeTypeOf, modelNameOf } from './hf-model-type.js';

/** The most positions a BERT checkpoint may have (BERT's own limit; gbp's presets use 128). */
export const MAX_POSITIONS = 512;

/** A config.json read as a gbp ModelConfig, with what the checkpoint says about its labels. */
export interface HfModelConfig {
  config: ModelConfig;
  /** Labels of the checkpoint's own classifier (num_labels or id2label), when it says. */
  checkpointLabels?: number;
}

export interface HfConfigOptions {
  /** Outputs of the task head; default the checkpoint's own label count, else 2. */
  numLabels?: number;
  /** Told what the import did that the user should know (a model type taken from the model's name). */
  log?: (message: string) => void;
}

/** Reads and checks `file` (a BERT config.json). */
export async function readHfConfig(file: string, options: HfConfigOptions = {}): Promise<HfModelConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read the model's config.json (${(error as Error).message})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseHfConfig(json, file, options);
}

/** `json` (the parsed config.json of `file`) as a gbp ModelConfig; refuses what gbp cannot run. */
export function parseHfConfig(json: unknown, file: string, options: HfConfigOptions = {}): HfModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object (a BERT config.json)`);
  const c = json as Record<string, unknown>;
  const refuse = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  const positiveInt = (field: string, max = Number.MAX_SAFE_INTEGER): number => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      refuse(`${field} must be an integer from 1 to ${max === Number.MAX_SAFE_INTEGER ? '...' : max}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };

  checkModelType(c, file, refuse, options.log);
  // hidden_act 'gelu' is BERT's erf GELU (what gbp computes); 'gelu_new' and others differ.
  if (c.hidden_act !== 'gelu') refuse(`hidden_act ${JSON.stringify(c.hidden_act)} is not supported (gbp's encoder uses "gelu", the erf GELU)`);
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    refuse(`position_embedding_type ${JSON.stringify(c.position_embedding_type)} is not supported (gbp's encoder uses "absolute" positions)`);
  }
  for (const field of ['is_decoder', 'add_cross_attention']) {
    if (c[field] === true) refuse(`${field}: true is not supported (gbp's encoder is a BERT encoder without decoder or cross-attention)`);
  }

  const d = positiveInt('hidden_size');
  const numHeads = positiveInt('num_attention_heads');
  if (d % numHeads !== 0) refuse(`hidden_size (${d}) must be divisible by num_attention_heads (${numHeads})`);
  const numLayers = positiveInt('num_hidden_layers');
  const eps = c.layer_norm_eps ?? 1e-12; // BertConfig's default
  if (typeof eps !== 'number' || !(eps > 0)) refuse(`layer_norm_eps must be a positive number, got ${JSON.stringify(c.layer_norm_eps)}`);
  const dropout = c.hidden_dropout_prob ?? 0.1; // BertConfig's default
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) refuse(`hidden_dropout_prob must be a number in [0, 1), got ${JSON.stringify(c.hidden_dropout_prob)}`);

  const checkpointLabels = labelCount(c, refuse);
  const numLabels = options.numLabels ?? checkpointLabels ?? 2;
  if (!Number.isInteger(numLabels) || numLabels < 1) throw new Error(`model: num_labels must be a positive integer, got ${numLabels}`);

  const config: ModelConfig = {
    size: 'imported',
    num_layers: numLayers,
    d_model: d,
    num_heads: numHeads,
    dff: positiveInt('intermediate_size'),
    vocab_size: positiveInt('vocab_size'),
    max_len: positiveInt('max_position_embeddings', MAX_POSITIONS),
    // gbp has one dropout rate; BERT's attention_probs_dropout_prob is equal to it in every released checkpoint.
    dropout_rate: dropout as number,
    type_vocab_size: positiveInt('type_vocab_size'),
    num_labels: numLabels,
    layer_norm_eps: eps as number,
    ...prunedHeads(c.pruned_heads, numLayers, numHeads, refuse),
  };
  validateLayerWidths(config, file);
  return { config, ...(checkpointLabels !== undefined ? { checkpointLabels } : {}) };
}

/** The BertConfig fields gbp reads that BERT's config.json has always written (model_type came later). */
const BERT_FIELDS = ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'hidden_act', 'max_position_embeddings', 'type_vocab_size', 'vocab_size'];

/**
 * Refuses a model_type other than "bert". A missing one is taken as "bert" where transformers'
 * AutoConfig would take it so (from the model's name, hf-model-type.ts) and the config has BERT's
 * fields; that is logged. Otherwise it is refused, saying what gbp needs.
 */
function checkModelType(c: Record<string, unknown>, file: string, refuse: (what: string) => never, log?: (message: string) => void): void {
  if (c.model_type !== undefined) {
    if (c.model_type !== 'bert') refuse(`model_type ${JSON.stringify(c.model_type)} is not supported (gbp imports model_type "bert" only)`);
    return;
  }
  const name = modelNameOf(file);
  const type = bertLikeTypeOf(name);
  const needs = 'gbp imports BERT checkpoints only: if this is one, add "model_type": "bert" to the config';
  if (type === undefined) refuse(`model_type is missing, and the model's name "${name}" does not contain "bert" (transformers then takes the type from the name, as gbp does); ${needs}`);
  if (type !== 'bert') refuse(`model_type is missing, and the model's name "${name}" says "${type}" (transformers then takes the type from the name), not "bert"; ${needs}`);
  const missing = BERT_FIELDS.filter((field) => c[field] === undefined);
  if (missing.length > 0) refuse(`model_type is missing, and though the model's name "${name}" says "bert", the config lacks BERT's ${missing.join(', ')}; ${needs}`);
  log?.(`${file}: no model_type; taken as "bert" from the model's name "${name}", as transformers' AutoConfig does`);
}

/** The checkpoint's label count: num_labels, else the size of id2label (what BertConfig does). */
function labelCount(c: Record<string, unknown>, refuse: (what: string) => never): number | undefined {
  if (c.num_labels !== undefined) {
    if (typeof c.num_labels !== 'number' || !Number.isInteger(c.num_labels) || c.num_labels < 1) refuse(`num_labels must be a positive integer, got ${JSON.stringify(c.num_labels)}`);
    return c.num_labels as number;
  }
  if (c.id2label !== undefined) {
    if (typeof c.id2label !== 'object' || c.id2label === null || Array.isArray(c.id2label)) refuse(`id2label must be an object of labels by id, got ${JSON.stringify(c.id2label)}`);
    return Object.keys(c.id2label as object).length;
  }
  return undefined;
}

/**
 * BertConfig's pruned_heads ({"layer": [head, ...]}, what PreTrainedModel.prune_heads records) as
 * heads kept per layer; the weights then hold only the kept heads, as a compacted gbp model does.
 */
function prunedHeads(raw: unknown, numLayers: number, numHeads: number, refuse: (what: string) => never): { heads_per_layer?: number[] } {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) refuse(`pruned_heads must be an object of head lists by layer, got ${JSON.stringify(raw)}`);
  const heads = Array.from({ length: numLayers }, () => numHeads);
  for (const [key, list] of Object.entries(raw as Record<string, unknown>)) {
    const layer = Number(key);
    if (!/^\d+$/.test(key) || layer >= numLayers) refuse(`pruned_heads: layer ${JSON.stringify(key)} is not a layer from 0 to ${numLayers - 1}`);
    if (!Array.isArray(list) || !list.every((h) => Number.isInteger(h) && h >= 0 && h < numHeads)) {
      refuse(`pruned_heads[${JSON.stringify(key)}] must list heads from 0 to ${numHeads - 1}, got ${JSON.stringify(list)}`);
    }
    heads[layer] = numHeads - new Set(list as number[]).size;
  }
  return heads.some((h) => h !== numHeads) ? { heads_per_layer: heads } : {};
}

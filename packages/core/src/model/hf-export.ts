/**
 * Export to a Hugging Face folder that `transformers` loads as BertForSequenceClassification:
 * config.json (BertConfig), model.safetensors (PyTorch names and [out, in] layout, F32 or F16),
 * vocab.txt (or tokenizer.json) and tokenizer_config.json. The inverse of hf-import.ts: importing
 * the export gives the same model. Per-layer widths a BertConfig cannot express are padded
 * exactly (bert-widths.ts) and said so in the returned notes. Written atomically as a whole.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { writeFolderAtomic } from '../fs-atomic.js';
import { LAYER_NORM_EPS } from './layer_norm.js';
import { layerHeads, parameterSpecs, type ModelConfig } from './config.js';
import { toBertWidths } from './bert-widths.js';
import { padTokenId, tokenizerFiles } from './hf-export-tokenizer.js';
import { HF_FILES, hfShape, isLinear, transpose2d } from './hf-import.js';
import { encodeSafetensors, type NamedTensor, type SafetensorsDtype } from './safetensors.js';
import { checkWeights } from './weights.js';

export const HF_DTYPES = ['float32', 'float16'] as const;
export type HfDtype = (typeof HF_DTYPES)[number];
const SAFETENSORS_DTYPE: Record<HfDtype, SafetensorsDtype> = { float32: 'F32', float16: 'F16' };

/** What an export needs of a model: loadModel's LoadedModel fits. */
export interface HfExportSource {
  config: ModelConfig;
  /** Every parameter of parameterSpecs(config), gbp names, [in, out]. */
  weights: ReadonlyMap<string, NamedTensor>;
  /** vocab.txt or tokenizer.json to ship with the weights; none: the export has no tokenizer (noted). */
  tokenizerPath?: string;
  /** Whether the tokenizer lowercases (tokenizer_config.json's do_lower_case). */
  lowercase: boolean;
  /** The folder the model was read from: the export may not replace it or a folder holding it. */
  dir?: string;
}

export interface HfExportOptions {
  dtype?: HfDtype;
  /** Replace a non-empty `dir` (as a whole, atomically); default false: refuse. */
  force?: boolean;
}

export interface HfExportResult {
  dir: string;
  /** The files written, by name. */
  files: string[];
  /** What the export did that the user should know (padding, a missing tokenizer). */
  notes: string[];
  /** Parameters in model.safetensors, and how many of them the padding added. */
  params: number;
  extraParams: number;
}

/** A Hugging Face checkpoint in memory: config.json's object and the tensors by PyTorch name. */
export interface HfCheckpoint {
  config: Record<string, unknown>;
  tensors: Map<string, NamedTensor>;
  notes: string[];
  extraParams: number;
}

/** BertForSequenceClassification's name of gbp parameter `name`: the encoder under `bert.`, the classifier at the top. */
export const hfName = (name: string): string => (name.startsWith('classifier.') ? name : `bert.${name}`);

/**
 * Refuses `dir` as an export target before any work: an existing file, a non-empty folder unless
 * `force`, or (force or not) the source folder or one holding it. `hint` ends the non-empty message
 * (how the caller's user asks to replace it).
 */
export function checkExportTarget(dir: string, options: { force?: boolean; sourceDir?: string; hint?: string } = {}): void {
  const target = resolve(dir);
  if (options.sourceDir !== undefined) {
    const path = relative(target, resolve(options.sourceDir));
    if (path === '' || (path.split(sep)[0] !== '..' && !isAbsolute(path))) {
      throw new Error(`${dir}: is (or holds) the model being exported, ${options.sourceDir}; choose another output folder`);
    }
  }
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new Error(`${dir}: exists and is not a folder; choose another output folder`);
  const entries = readdirSync(target);
  if (entries.length > 0 && options.force !== true) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ` and ${entries.length - 3} more` : '');
    throw new Error(`${dir}: folder is not empty (${shown}); refusing to overwrite it${options.hint ? `; ${options.hint}` : ''}`);
  }
}

/** The config.json and tensors of `source` as a BertForSequenceClassification checkpoint (nothing written). */
export function toHfCheckpoint(source: Pick<HfExportSource, 'config' | 'weights' | 'tokenizerPath'>): HfCheckpoint {
  checkWeights(source.config, source.weights, 'export');
  const { config, weights, notes, extraParams } = toBertWidths(source.config, source.weights);
  const tensors = new Map<string, NamedTensor>();
  for (const spec of parameterSpecs(config)) {
    const t = weights.get(spec.name)!;
    const data = isLinear(spec) ? transpose2d(t.data, spec.shape[0]!, spec.shape[1]!) : t.data;
    tensors.set(hfName(spec.name), { shape: hfShape(spec), data });
  }
  return { config: bertConfig(config, padTokenId(source.tokenizerPath)), tensors, notes, extraParams };
}

/** BertConfig's architecture and sizes of `config`: the head of every config.json gbp writes for BERT tools (hf, onnx). */
export function bertShapeFields(config: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    hidden_size: config.d_model,
    num_hidden_layers: config.num_layers,
    num_attention_heads: config.num_heads,
    intermediate_size: config.dff,
  };
}

/** BertConfig fields of `config` (already in BertConfig-expressible widths). */
function bertConfig(config: ModelConfig, padId: number): Record<string, unknown> {
  const labels = Array.from({ length: config.num_labels }, (_, i) => `LABEL_${i}`);
  const pruned: Record<string, number[]> = {};
  for (let i = 0; i < config.num_layers; i++) {
    const kept = layerHeads(config, i);
    // Which heads does not matter (the weights hold the kept ones in order), only how many.
    if (kept < config.num_heads) pruned[String(i)] = Array.from({ length: config.num_heads - kept }, (_, j) => kept + j);
  }
  return {
    ...bertShapeFields(config),
    hidden_act: 'gelu',
    // gbp has one dropout rate for both.
    hidden_dropout_prob: config.dropout_rate,
    attention_probs_dropout_prob: config.dropout_rate,
    max_position_embeddings: config.max_len,
    type_vocab_size: config.type_vocab_size,
    vocab_size: config.vocab_size,
    layer_norm_eps: config.layer_norm_eps ?? LAYER_NORM_EPS,
    initializer_range: 0.02,
    pad_token_id: padId,
    position_embedding_type: 'absolute',
    num_labels: config.num_labels,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    problem_type: config.num_labels === 1 ? 'regression' : 'single_label_classification',
    ...(Object.keys(pruned).length > 0 ? { pruned_heads: pruned } : {}),
  };
}

/** Writes `source` as a Hugging Face BERT folder `dir`; refuses a non-empty `dir` unless `force`. */
export async function exportHfFolder(dir: string, source: HfExportSource, options: HfExportOptions = {}): Promise<HfExportResult> {
  checkExportTarget(dir, { ...(options.force !== undefined ? { force: options.force } : {}), ...(source.dir !== undefined ? { sourceDir: source.dir } : {}) });
  const dtype = options.dtype ?? 'float32';
  const checkpoint = toHfCheckpoint(source);
  const files = new Map<string, string | Uint8Array>();
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  files.set(HF_FILES.config, json({ ...checkpoint.config, torch_dtype: dtype }));
  // transformers refuses a safetensors file whose metadata lacks format "pt".
  files.set(HF_FILES.weights, encodeSafetensors(checkpoint.tensors, { format: 'pt' }, { dtype: SAFETENSORS_DTYPE[dtype] }));
  const notes = [...checkpoint.notes];
  if (source.tokenizerPath !== undefined) {
    for (const [name, data] of tokenizerFiles(source.tokenizerPath, source.lowercase, source.config.max_len)) files.set(name, data);
  } else {
    notes.push('the model has no vocab.txt or tokenizer.json: the export has no tokenizer (add the one it was trained with)');
  }
  await writeFolderAtomic(dir, files);
  const params = [...checkpoint.tensors.values()].reduce((n, t) => n + t.data.length, 0);
  return { dir, files: [...files.keys()], notes, params, extraParams: checkpoint.extraParams };
}

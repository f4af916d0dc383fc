/**
 * The model folder: what a job leaves for inference and benchmarking, readable without gbp's
 * training state. config.json (the architecture, per-layer widths, the task), model.safetensors
 * (every parameter by its gbp name, F32, dense weights [in, out]), vocab.txt and compaction.json.
 * Written atomically as a whole: a temporary sibling folder renamed into place.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFolderAtomic } from '../fs-atomic.js';
import { IMPORTED_SIZE, MODEL_PRESETS, parameterSpecs, validateLayerWidths, layerDff, layerHeads, type ModelConfig } from './config.js';
import { encodeSafetensors, readSafetensorsFile, type NamedTensor } from './safetensors.js';
import { checkWeights, refuseExtraTensors } from './weights.js';
import type { CompactionReport } from './compaction-report.js';

export const MODEL_FORMAT = 'gbp-model';
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_FILES = { config: 'config.json', weights: 'model.safetensors', vocab: 'vocab.txt', compaction: 'compaction.json' } as const;
/** The safetensors header metadata that says the dense weights are gbp's [in, out]. */
export const WEIGHTS_METADATA = { format: 'gbp', layout: 'in_out' } as const;

/**
 * config.json of a model folder: the ModelConfig with its per-layer widths always written out
 * (num_heads and dff stay the original ones: head size = d_model / num_heads), and the task.
 * layer_norm_eps is written only when the config sets it (e.g. an imported checkpoint's).
 */
export type ModelFolderConfig = { format: typeof MODEL_FORMAT; format_version: typeof MODEL_FORMAT_VERSION } & Omit<ModelConfig, 'heads_per_layer' | 'dff_per_layer'> & {
  heads_per_layer: number[];
  dff_per_layer: number[];
  task: string;
  /** Whether the tokenizer lowercases its input (absent in folders written before it was recorded: true). */
  lowercase?: boolean;
};

export interface ModelFolderContents {
  config: ModelConfig;
  task: string;
  /** Every parameter of `parameterSpecs(config)`, by name. */
  weights: ReadonlyMap<string, NamedTensor>;
  /** vocab.txt's text (one token a line); omitted: no vocab.txt. */
  vocab?: string;
  /** Whether vocab.txt is used lowercasing (BERT uncased); default true. */
  lowercase?: boolean;
  compaction?: CompactionReport;
}

export function folderConfig(config: ModelConfig, task: string, lowercase?: boolean): ModelFolderConfig {
  const layers = Array.from({ length: config.num_layers }, (_, i) => i);
  return {
    format: MODEL_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    size: config.size,
    num_layers: config.num_layers,
    d_model: config.d_model,
    num_heads: config.num_heads,
    dff: config.dff,
    vocab_size: config.vocab_size,
    max_len: config.max_len,
    type_vocab_size: config.type_vocab_size,
    num_labels: config.num_labels,
    dropout_rate: config.dropout_rate,
    heads_per_layer: layers.map((i) => layerHeads(config, i)),
    dff_per_layer: layers.map((i) => layerDff(config, i)),
    ...(config.layer_norm_eps !== undefined ? { layer_norm_eps: config.layer_norm_eps } : {}),
    task,
    ...(lowercase !== undefined ? { lowercase } : {}),
  };
}

/** Refuses weights that are not exactly the config's parameters (names, shapes); `where` names the source. */
function checkExactWeights(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor & { dtype?: string }>, where: string): void {
  checkWeights(config, weights, where);
  refuseExtraTensors(config, weights, where);
}

/**
 * Writes the model folder `dir` as a whole: into a temporary sibling, then renamed over `dir`, so
 * a reader sees the old folder or the new one, never a mix. The weights must be exactly the
 * config's parameters.
 */
export async function writeModelFolder(dir: string, contents: ModelFolderContents): Promise<void> {
  validateLayerWidths(contents.config, `model folder ${dir}`);
  checkExactWeights(contents.config, contents.weights, `model folder ${dir}`);
  const ordered = new Map(parameterSpecs(contents.config).map((s) => [s.name, contents.weights.get(s.name)!]));
  const files = new Map<string, string | Uint8Array>([
    [MODEL_FILES.config, `${JSON.stringify(folderConfig(contents.config, contents.task, contents.lowercase), null, 2)}\n`],
    [MODEL_FILES.weights, encodeSafetensors(ordered, { ...WEIGHTS_METADATA })],
  ]);
  if (contents.vocab !== undefined) files.set(MODEL_FILES.vocab, contents.vocab);
  if (contents.compaction !== undefined) files.set(MODEL_FILES.compaction, `${JSON.stringify(contents.compaction, null, 2)}\n`);
  await writeFolderAtomic(dir, files);
}

/** True when `dir` holds a config.json whose format is 'gbp-model'. */
export function isModelFolder(dir: string): boolean {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, MODEL_FILES.config), 'utf8')) as { format?: unknown };
    return parsed.format === MODEL_FORMAT;
  } catch {
    return false;
  }
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: missing (${what})` : `${file}: cannot read: ${(error as Error).message}`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

const POSITIVE_FIELDS = ['num_layers', 'd_model', 'num_heads', 'dff', 'vocab_size', 'max_len', 'type_vocab_size', 'num_labels'] as const;

/** The ModelConfig and task of a parsed config.json; every field checked, errors name `file` and the field. */
export function parseFolderConfig(raw: unknown, file: string): { config: ModelConfig; task: string; lowercase?: boolean } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  if (c.format !== MODEL_FORMAT) throw new Error(`${file}: format is ${JSON.stringify(c.format)}, expected "${MODEL_FORMAT}" (not a gbp model folder)`);
  if (c.format_version !== MODEL_FORMAT_VERSION) {
    throw new Error(`${file}: format_version is ${JSON.stringify(c.format_version)}; this gbp reads version ${MODEL_FORMAT_VERSION}`);
  }
  const sizes = [...Object.keys(MODEL_PRESETS), IMPORTED_SIZE];
  if (typeof c.size !== 'string' || !sizes.includes(c.size)) {
    throw new Error(`${file}: size must be one of ${sizes.join(', ')}, got ${JSON.stringify(c.size)}`);
  }
  if (c.layer_norm_eps !== undefined && (typeof c.layer_norm_eps !== 'number' || !(c.layer_norm_eps > 0))) {
    throw new Error(`${file}: layer_norm_eps must be a positive number, got ${JSON.stringify(c.layer_norm_eps)}`);
  }
  for (const field of POSITIVE_FIELDS) {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${file}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (typeof c.dropout_rate !== 'number' || c.dropout_rate < 0 || c.dropout_rate >= 1) {
    throw new Error(`${file}: dropout_rate must be a number in [0, 1), got ${JSON.stringify(c.dropout_rate)}`);
  }
  if (typeof c.task !== 'string' || c.task === '') throw new Error(`${file}: task must be a task name, got ${JSON.stringify(c.task)}`);
  if (c.lowercase !== undefined && typeof c.lowercase !== 'boolean') throw new Error(`${file}: lowercase must be true or false, got ${JSON.stringify(c.lowercase)}`);
  for (const field of ['heads_per_layer', 'dff_per_layer'] as const) {
    if (!Array.isArray(c[field])) throw new Error(`${file}: ${field} must be an array of numbers (one per layer), got ${JSON.stringify(c[field])}`);
  }
  const config: ModelConfig = {
    size: c.size as ModelConfig['size'],
    num_layers: c.num_layers as number,
    d_model: c.d_model as number,
    num_heads: c.num_heads as number,
    dff: c.dff as number,
    vocab_size: c.vocab_size as number,
    max_len: c.max_len as number,
    dropout_rate: c.dropout_rate,
    type_vocab_size: c.type_vocab_size as number,
    num_labels: c.num_labels as number,
    heads_per_layer: c.heads_per_layer as number[],
    dff_per_layer: c.dff_per_layer as number[],
    ...(c.layer_norm_eps !== undefined ? { layer_norm_eps: c.layer_norm_eps as number } : {}),
  };
  validateLayerWidths(config, file);
  return { config, task: c.task, ...(c.lowercase !== undefined ? { lowercase: c.lowercase as boolean } : {}) };
}

/** Reads and checks a model folder; errors name the file and what is wrong with it. */
export async function readModelFolder(dir: string): Promise<ModelFolderContents> {
  const configFile = join(dir, MODEL_FILES.config);
  const { config, task, lowercase } = parseFolderConfig(parseJson(await readText(configFile, 'a gbp model folder has config.json'), configFile), configFile);
  const weightsFile = join(dir, MODEL_FILES.weights);
  const decoded = await readSafetensorsFile(weightsFile, "the model's weights");
  if (decoded.metadata.layout !== undefined && decoded.metadata.layout !== WEIGHTS_METADATA.layout) {
    throw new Error(`${weightsFile}: __metadata__.layout is ${JSON.stringify(decoded.metadata.layout)}, expected "${WEIGHTS_METADATA.layout}" (dense weights [in, out])`);
  }
  checkExactWeights(config, decoded.tensors, weightsFile);
  const vocabFile = join(dir, MODEL_FILES.vocab);
  const vocab = existsSync(vocabFile) ? await readFile(vocabFile, 'utf8') : undefined;
  const compaction = readCompactionReport(dir);
  return { config, task, weights: decoded.tensors, ...(lowercase !== undefined ? { lowercase } : {}), ...(vocab !== undefined ? { vocab } : {}), ...(compaction ? { compaction } : {}) };
}

const REPORT_NUMBERS = ['params_before', 'params_after', 'gated_params_before', 'gated_params_after', 'flops_per_token_before', 'flops_per_token_after', 'max_len', 'unstructured_sparsity_left', 'max_abs_logit_diff', 'logit_diff_examples'] as const;
const REPORT_LISTS = ['heads_kept', 'heads', 'neurons_kept', 'neurons'] as const;

/** compaction.json of a model folder; undefined when there is none. A damaged one is an error naming the file and field. */
export function readCompactionReport(dir: string): CompactionReport | undefined {
  const file = join(dir, MODEL_FILES.compaction);
  if (!existsSync(file)) return undefined;
  const raw = parseJson(readFileSync(file, 'utf8'), file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected a compaction report (an object with params_before, params_after, ...)`);
  const report = raw as Record<string, unknown>;
  const bad = (field: string, what: string) => new Error(`${file}: "${field}" should be ${what}, got ${JSON.stringify(report[field])}`);
  for (const field of REPORT_NUMBERS) if (typeof report[field] !== 'number' || !Number.isFinite(report[field])) throw bad(field, 'a finite number');
  for (const field of REPORT_LISTS) {
    const list = report[field];
    if (!Array.isArray(list) || !list.every((n) => Number.isInteger(n) && n >= 0)) throw bad(field, 'a list of counts per layer');
  }
  if (typeof report.structures_removed !== 'boolean') throw bad('structures_removed', 'true or false');
  return raw as CompactionReport;
}

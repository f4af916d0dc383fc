/**
 * The exported model: one model.json (what `gbp export --format tfjs` writes and TextClassifier
 * reads) holding the model config, the labels, the tokenizer and a TF.js weightsManifest, whose
 * shards are the weights as tf.io writes them (float16 through the entry's `quantization`, so
 * tf.io.decodeWeights reads them back as float32).
 */
import type { TokenizerSpec } from '../tokenizer/bert-tokenizer.js';

export const RUNTIME_FORMAT = 'gbp-tfjs';
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'model.json';

/** The encoder's shape; per-layer widths for a compacted model (0 heads / a 0-wide FFN allowed). */
export interface RuntimeModelConfig {
  num_layers: number;
  d_model: number;
  /** The original head count: the head size is d_model / num_heads whatever a layer keeps. */
  num_heads: number;
  dff: number;
  vocab_size: number;
  max_len: number;
  type_vocab_size: number;
  num_labels: number;
  heads_per_layer?: number[];
  dff_per_layer?: number[];
  layer_norm_eps: number;
}

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightEntry[];
}

export interface ModelManifest {
  format: typeof RUNTIME_FORMAT;
  version: number;
  /** The GLUE task the model was trained on, when known. */
  task?: string;
  /** One name per output of the classifier (for a regression model, what the value is). */
  labels: string[];
  config: RuntimeModelConfig;
  tokenizer: TokenizerSpec;
  weightsManifest: WeightsGroup[];
}

export const layerHeads = (c: RuntimeModelConfig, i: number): number => c.heads_per_layer?.[i] ?? c.num_heads;
export const layerDff = (c: RuntimeModelConfig, i: number): number => c.dff_per_layer?.[i] ?? c.dff;

/**
 * Every weight the forward pass reads, by gbp name, with its shape (dense weights [in, out]).
 * A layer with 0 heads keeps only attention.output.dense.bias, a 0-wide FFN only output.dense.bias.
 */
export function expectedWeights(c: RuntimeModelConfig): Map<string, number[]> {
  const d = c.d_model;
  const shapes = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [c.vocab_size, d]],
    ['embeddings.position_embeddings.weight', [c.max_len, d]],
    ['embeddings.token_type_embeddings.weight', [c.type_vocab_size, d]],
    ['embeddings.LayerNorm.weight', [d]],
    ['embeddings.LayerNorm.bias', [d]],
  ]);
  const dense = (prefix: string, n: number, m: number) => {
    shapes.set(`${prefix}.weight`, [n, m]);
    shapes.set(`${prefix}.bias`, [m]);
  };
  const layerNorm = (prefix: string) => {
    shapes.set(`${prefix}.weight`, [d]);
    shapes.set(`${prefix}.bias`, [d]);
  };
  for (let i = 0; i < c.num_layers; i++) {
    const p = `encoder.layer.${i}`;
    const a = layerHeads(c, i) * (d / c.num_heads);
    const f = layerDff(c, i);
    if (a > 0) {
      for (const role of ['query', 'key', 'value']) dense(`${p}.attention.self.${role}`, d, a);
      dense(`${p}.attention.output.dense`, a, d);
    } else shapes.set(`${p}.attention.output.dense.bias`, [d]);
    layerNorm(`${p}.attention.output.LayerNorm`);
    if (f > 0) {
      dense(`${p}.intermediate.dense`, d, f);
      dense(`${p}.output.dense`, f, d);
    } else shapes.set(`${p}.output.dense.bias`, [d]);
    layerNorm(`${p}.output.LayerNorm`);
  }
  dense('pooler.dense', d, d);
  dense('classifier', d, c.num_labels);
  return shapes;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/**
 * Checks a parsed model.json before anything is loaded: every field, every per-layer width, and that
 * the manifest lists exactly the weights the config needs with their shapes. `where` (the file or
 * URL) starts every message.
 */
export function parseManifest(json: unknown, where: string): ModelManifest {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (!isObject(json)) fail('expected a JSON object (a model.json written by gbp export --format tfjs)');
  const m = json as Record<string, unknown>;
  if (m.format !== RUNTIME_FORMAT) fail(`format is ${JSON.stringify(m.format)}, expected "${RUNTIME_FORMAT}" (a model.json written by gbp export --format tfjs)`);
  if (m.version !== FORMAT_VERSION) fail(`version ${JSON.stringify(m.version)} is not supported (this runtime reads version ${FORMAT_VERSION})`);
  if (!isObject(m.config)) fail('config: expected an object');
  const c = m.config as Record<string, unknown>;
  for (const [field, min] of [['num_layers', 0], ['d_model', 1], ['num_heads', 1], ['dff', 0], ['vocab_size', 1], ['max_len', 1], ['type_vocab_size', 1], ['num_labels', 1]] as const) {
    if (!isCount(c[field], min)) fail(`config.${field}: expected an integer >= ${min}, got ${JSON.stringify(c[field])}`);
  }
  const config = c as unknown as RuntimeModelConfig;
  if (config.d_model % config.num_heads !== 0) fail(`config: d_model ${config.d_model} is not divisible by num_heads ${config.num_heads}`);
  if (typeof c.layer_norm_eps !== 'number' || !(c.layer_norm_eps > 0)) fail(`config.layer_norm_eps: expected a positive number, got ${JSON.stringify(c.layer_norm_eps)}`);
  for (const [field, max] of [['heads_per_layer', config.num_heads], ['dff_per_layer', config.dff]] as const) {
    const widths = c[field];
    if (widths === undefined) continue;
    if (!Array.isArray(widths) || widths.length !== config.num_layers) fail(`config.${field}: expected one number per layer (${config.num_layers}), got ${JSON.stringify(widths)}`);
    (widths as unknown[]).forEach((w, i) => {
      if (!isCount(w, 0) || w > max) fail(`config.${field}[${i}]: expected an integer from 0 to ${max}, got ${JSON.stringify(w)}`);
    });
  }
  if (!Array.isArray(m.labels) || m.labels.length !== config.num_labels || !m.labels.every((l) => typeof l === 'string')) {
    fail(`labels: expected ${config.num_labels} label names (config.num_labels), got ${JSON.stringify(m.labels)}`);
  }
  if (m.task !== undefined && typeof m.task !== 'string') fail(`task: expected a string, got ${JSON.stringify(m.task)}`);
  const t = m.tokenizer;
  if (!isObject(t) || !Array.isArray(t.vocab) || !t.vocab.every((v) => typeof v === 'string') || typeof t.lowercase !== 'boolean') {
    fail('tokenizer: expected { vocab: string[], lowercase: boolean } (the model\'s vocab.txt)');
  }
  const vocabSize = (t as { vocab: string[] }).vocab.length;
  if (vocabSize > config.vocab_size) fail(`tokenizer: ${vocabSize} tokens, more than the model's ${config.vocab_size} word embeddings (config.vocab_size)`);
  checkWeightsManifest(m.weightsManifest, expectedWeights(config), fail);
  return m as unknown as ModelManifest;
}

function checkWeightsManifest(groups: unknown, expected: Map<string, number[]>, fail: (what: string) => never): void {
  if (!Array.isArray(groups)) fail('weightsManifest: expected an array of { paths, weights } groups');
  const seen = new Set<string>();
  (groups as unknown[]).forEach((g, gi) => {
    if (!isObject(g) || !Array.isArray(g.paths) || !g.paths.every((p) => typeof p === 'string') || !Array.isArray(g.weights)) {
      fail(`weightsManifest[${gi}]: expected { paths: string[], weights: [...] }`);
    }
    // shards live beside model.json: a path that leaves its folder is refused (a model.json may come from anywhere)
    for (const path of (g as { paths: string[] }).paths) {
      if (path === '' || path.startsWith('/') || path.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.split('/').includes('..')) {
        fail(`weightsManifest[${gi}].paths: ${JSON.stringify(path)} is not a file name beside model.json`);
      }
    }
    for (const w of (g as { weights: unknown[] }).weights) {
      const entry = w as Partial<WeightEntry>;
      const name = String(entry?.name);
      const shape = expected.get(name);
      if (shape === undefined) fail(`weightsManifest: weight '${name}' is not part of a model of this config`);
      if (!Array.isArray(entry.shape) || entry.shape.join(',') !== shape!.join(',')) fail(`weightsManifest: weight '${name}' has shape ${JSON.stringify(entry.shape)}, the config needs [${shape!.join(', ')}]`);
      if (entry.dtype !== 'float32') fail(`weightsManifest: weight '${name}' has dtype ${JSON.stringify(entry.dtype)}, expected "float32"`);
      const q = entry.quantization;
      if (q !== undefined && q.dtype !== 'float16') fail(`weightsManifest: weight '${name}' has quantization ${JSON.stringify(q)}; this runtime reads float16 or none`);
      seen.add(name);
    }
  });
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) fail(`weightsManifest: missing ${missing.length} weight(s) the config needs: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
}

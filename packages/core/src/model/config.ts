/**
 * Model configuration: the size presets of the design table, overrides, and the parameter list the
 * encoder builds. `parameterSpecs()` is the one description of what exists; the builder creates
 * exactly these variables and `modelInfo()` counts exactly these shapes, so they cannot drift.
 */
import type { ModelSize, ModelSpec } from '../spec.js';

/** The size of a model whose shape comes from an imported checkpoint's config, not a preset. */
export const IMPORTED_SIZE = 'imported';

export interface ModelConfig {
  /** The preset the shape came from, or IMPORTED_SIZE (a Hugging Face checkpoint's config.json). */
  readonly size: ModelSize | typeof IMPORTED_SIZE;
  readonly num_layers: number;
  readonly d_model: number;
  readonly num_heads: number;
  readonly dff: number;
  readonly vocab_size: number;
  readonly max_len: number;
  readonly dropout_rate: number;
  /** Token-type (segment) vocabulary: 2, as in BERT. */
  readonly type_vocab_size: number;
  /** Outputs of the task head: classes, or 1 for regression (stsb). */
  readonly num_labels: number;
  /**
   * Attention heads kept per layer (a compacted model); default num_heads in every layer. The head
   * size stays d_model / num_heads. A layer with 0 heads keeps only attention.output.dense.bias.
   */
  readonly heads_per_layer?: readonly number[];
  /** FFN width per layer (a compacted model); default dff. A 0-wide FFN keeps only output.dense.bias. */
  readonly dff_per_layer?: readonly number[];
  /** LayerNorm ε; default LAYER_NORM_EPS (1e-12, BERT's). An imported checkpoint's layer_norm_eps. */
  readonly layer_norm_eps?: number;
}

/** Head size: d_model / the original num_heads, whatever a layer keeps. */
export const headSize = (config: ModelConfig): number => config.d_model / config.num_heads;

/** Attention heads of layer `layer` (num_heads unless heads_per_layer says otherwise). */
export const layerHeads = (config: ModelConfig, layer: number): number => config.heads_per_layer?.[layer] ?? config.num_heads;

/** FFN width of layer `layer` (dff unless dff_per_layer says otherwise). */
export const layerDff = (config: ModelConfig, layer: number): number => config.dff_per_layer?.[layer] ?? config.dff;

/**
 * Refuses per-layer widths that do not fit the config: one entry per layer, integers in
 * [0, num_heads] / [0, dff]. `where` prefixes the message (a file, 'model').
 */
export function validateLayerWidths(config: ModelConfig, where = 'model'): void {
  const check = (field: 'heads_per_layer' | 'dff_per_layer', max: number) => {
    const values = config[field];
    if (values === undefined) return;
    if (!Array.isArray(values) || values.length !== config.num_layers) {
      throw new Error(`${where}: ${field} must list one number per layer (num_layers = ${config.num_layers}), got ${JSON.stringify(values)}`);
    }
    values.forEach((v: unknown, i: number) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
        throw new Error(`${where}: ${field}[${i}] must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
      }
    });
  };
  if (!Number.isInteger(config.num_heads) || config.num_heads < 1 || config.d_model % config.num_heads !== 0) {
    throw new Error(`${where}: d_model (${config.d_model}) must be divisible by num_heads (${config.num_heads})`);
  }
  check('heads_per_layer', config.num_heads);
  check('dff_per_layer', config.dff);
}

type PresetFields = Omit<ModelConfig, 'size' | 'num_labels'>;

const common = { vocab_size: 30522, max_len: 128, dropout_rate: 0.1, type_vocab_size: 2 } as const;

export const MODEL_PRESETS: Readonly<Record<ModelSize, Readonly<PresetFields>>> = {
  tiny: { num_layers: 2, d_model: 256, num_heads: 4, dff: 512, ...common },
  small: { num_layers: 6, d_model: 512, num_heads: 8, dff: 1024, ...common },
  base: { num_layers: 12, d_model: 768, num_heads: 12, dff: 3072, ...common },
  large: { num_layers: 24, d_model: 1024, num_heads: 16, dff: 4096, ...common },
};

/** The preset of `spec.size` with every field the spec sets overriding it. */
export function resolveModelConfig(spec: ModelSpec, numLabels = 2): ModelConfig {
  if (spec.from !== undefined) {
    throw new Error(`model.from ${spec.from}: the shape comes from that model's config, not a preset (read it with readModelConfig)`);
  }
  const size = spec.size;
  const preset = size === undefined ? undefined : MODEL_PRESETS[size];
  if (size === undefined || preset === undefined) {
    throw new Error(`model.size: ${size === undefined ? 'missing' : `unknown size '${String(size)}'`} (expected one of ${Object.keys(MODEL_PRESETS).join(', ')}, or model.from)`);
  }
  const config: ModelConfig = {
    size,
    num_layers: spec.num_layers ?? preset.num_layers,
    d_model: spec.d_model ?? preset.d_model,
    num_heads: spec.num_heads ?? preset.num_heads,
    dff: spec.dff ?? preset.dff,
    vocab_size: spec.vocab_size ?? preset.vocab_size,
    max_len: spec.max_len ?? preset.max_len,
    dropout_rate: spec.dropout_rate ?? preset.dropout_rate,
    type_vocab_size: preset.type_vocab_size,
    num_labels: numLabels,
  };
  if (config.d_model % config.num_heads !== 0) {
    throw new Error(`model: d_model (${config.d_model}) must be divisible by num_heads (${config.num_heads})`);
  }
  if (!Number.isInteger(numLabels) || numLabels < 1) throw new Error(`model: num_labels must be a positive integer, got ${numLabels}`);
  return config;
}

/** How a parameter is initialised and whether weight decay applies to it. */
export type ParamKind = 'embedding' | 'weight' | 'bias' | 'ln_gamma' | 'ln_beta';

export interface ParamSpec {
  /** HF BERT-like name, e.g. 'encoder.layer.0.attention.self.query.weight'. Dense weights are [in, out]. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: ParamKind;
  /** Set for the weight of a gated matrix: the gate's name (the name without '.weight'). */
  readonly gate?: string;
}

/**
 * The gated matrices of one encoder layer: [gate suffix, in, out], with the layer's own head count
 * and FFN width. A layer with 0 heads has no attention matrices, a 0-wide FFN no FFN matrices.
 */
export function layerGates(config: ModelConfig, layer: number): [string, number, number][] {
  const d = config.d_model;
  const p = `encoder.layer.${layer}`;
  const a = layerHeads(config, layer) * headSize(config);
  const f = layerDff(config, layer);
  const attention: [string, number, number][] = [
    [`${p}.attention.self.query`, d, a],
    [`${p}.attention.self.key`, d, a],
    [`${p}.attention.self.value`, d, a],
    [`${p}.attention.output.dense`, a, d],
  ];
  const ffn: [string, number, number][] = [
    [`${p}.intermediate.dense`, d, f],
    [`${p}.output.dense`, f, d],
  ];
  return [...(a > 0 ? attention : []), ...(f > 0 ? ffn : [])];
}

/** Every trainable parameter of the model, in a fixed order (the checkpoint and gradient order). */
export function parameterSpecs(config: ModelConfig): ParamSpec[] {
  const d = config.d_model;
  const specs: ParamSpec[] = [];
  const layerNorm = (prefix: string) => {
    specs.push({ name: `${prefix}.weight`, shape: [d], kind: 'ln_gamma' });
    specs.push({ name: `${prefix}.bias`, shape: [d], kind: 'ln_beta' });
  };
  const dense = (prefix: string, n: number, m: number, gated: boolean) => {
    specs.push({ name: `${prefix}.weight`, shape: [n, m], kind: 'weight', ...(gated ? { gate: prefix } : {}) });
    specs.push({ name: `${prefix}.bias`, shape: [m], kind: 'bias' });
  };
  specs.push({ name: 'embeddings.word_embeddings.weight', shape: [config.vocab_size, d], kind: 'embedding' });
  specs.push({ name: 'embeddings.position_embeddings.weight', shape: [config.max_len, d], kind: 'embedding' });
  specs.push({ name: 'embeddings.token_type_embeddings.weight', shape: [config.type_vocab_size, d], kind: 'embedding' });
  layerNorm('embeddings.LayerNorm');
  validateLayerWidths(config);
  for (let i = 0; i < config.num_layers; i++) {
    const p = `encoder.layer.${i}`;
    const a = layerHeads(config, i) * headSize(config);
    const f = layerDff(config, i);
    // A removed block keeps its output bias: the residual still adds it (h = LN(h + b)).
    if (a > 0) for (const role of ['self.query', 'self.key', 'self.value']) dense(`${p}.attention.${role}`, d, a, true);
    if (a > 0) dense(`${p}.attention.output.dense`, a, d, true);
    else specs.push({ name: `${p}.attention.output.dense.bias`, shape: [d], kind: 'bias' });
    layerNorm(`${p}.attention.output.LayerNorm`);
    if (f > 0) dense(`${p}.intermediate.dense`, d, f, true);
    if (f > 0) dense(`${p}.output.dense`, f, d, true);
    else specs.push({ name: `${p}.output.dense.bias`, shape: [d], kind: 'bias' });
    layerNorm(`${p}.output.LayerNorm`);
  }
  dense('pooler.dense', d, d, false);
  dense('classifier', d, config.num_labels, false);
  return specs;
}

export interface ModelInfo {
  model_size: string;
  /** Parameters built (trainable variables; masks not counted), in millions. */
  estimated_params_millions: number;
  num_params: number;
  num_gated_params: number;
  num_layers: number;
  d_model: number;
  num_heads: number;
  dff: number;
  vocab_size: number;
  max_len: number;
  dropout_rate: number;
  num_labels: number;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Facts about the model `config` (or a spec) describes, counting exactly what the encoder builds. */
export function modelInfo(config: ModelSpec | ModelConfig, numLabels = 2): ModelInfo {
  const resolved = 'type_vocab_size' in config ? (config as ModelConfig) : resolveModelConfig(config, numLabels);
  const specs = parameterSpecs(resolved);
  const numParams = specs.reduce((total, s) => total + sizeOf(s.shape), 0);
  const gated = specs.filter((s) => s.gate !== undefined).reduce((total, s) => total + sizeOf(s.shape), 0);
  return {
    model_size: resolved.size,
    estimated_params_millions: Math.round(numParams / 1e4) / 100,
    num_params: numParams,
    num_gated_params: gated,
    num_layers: resolved.num_layers,
    d_model: resolved.d_model,
    num_heads: resolved.num_heads,
    dff: resolved.dff,
    vocab_size: resolved.vocab_size,
    max_len: resolved.max_len,
    dropout_rate: resolved.dropout_rate,
    num_labels: resolved.num_labels,
  };
}

/**
 * Model configuration: the size presets of the design table, overrides, and the parameter list the
 * encoder builds. `parameterSpecs()` is the one description of what exists; the builder creates
 * exactly these variables and `modelInfo()` counts exactly these shapes, so they cannot drift.
 */
import type { ModelSize, ModelSpec } from '../spec.js';

export interface ModelConfig {
  readonly size: ModelSize;
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
  const preset = MODEL_PRESETS[spec.size];
  if (preset === undefined) {
    throw new Error(`model.size: unknown size '${String(spec.size)}' (expected one of ${Object.keys(MODEL_PRESETS).join(', ')})`);
  }
  const config: ModelConfig = {
    size: spec.size,
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

/** The gated matrices of one encoder layer: [gate suffix, in, out]. */
export function layerGates(config: ModelConfig, layer: number): [string, number, number][] {
  const d = config.d_model;
  const p = `encoder.layer.${layer}`;
  return [
    [`${p}.attention.self.query`, d, d],
    [`${p}.attention.self.key`, d, d],
    [`${p}.attention.self.value`, d, d],
    [`${p}.attention.output.dense`, d, d],
    [`${p}.intermediate.dense`, d, config.dff],
    [`${p}.output.dense`, config.dff, d],
  ];
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
  for (let i = 0; i < config.num_layers; i++) {
    const [q, k, v, o, inter, out] = layerGates(config, i) as [string, number, number][];
    for (const [name, n, m] of [q!, k!, v!, o!]) dense(name, n, m, true);
    layerNorm(`encoder.layer.${i}.attention.output.LayerNorm`);
    dense(inter![0], inter![1], inter![2], true);
    dense(out![0], out![1], out![2], true);
    layerNorm(`encoder.layer.${i}.output.LayerNorm`);
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

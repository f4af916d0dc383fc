/**
 * Writes a model as the runtime's format, in memory: model.json and its weight shards (the caller
 * writes them, e.g. atomically as one folder). Pure, so it runs wherever the model is.
 */
import { Float16Array } from '@petamoriken/float16';
import type { TokenizerSpec } from '../tokenizer/bert-tokenizer.js';
import { expectedWeights, FORMAT_VERSION, MANIFEST_FILE, RUNTIME_FORMAT, type ModelManifest, type RuntimeModelConfig, type WeightEntry } from './manifest.js';

export const EXPORT_DTYPES = ['float32', 'float16'] as const;
export type ExportDtype = (typeof EXPORT_DTYPES)[number];

/** tf.io's converter writes shards of at most 4 MiB: small enough for browser caches and CDNs. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export interface ExportableModel {
  config: RuntimeModelConfig;
  /** Every weight of expectedWeights(config), by gbp name, [in, out], row-major. */
  weights: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
  labels: string[];
  task?: string;
  tokenizer: TokenizerSpec;
}

export interface EncodedExport {
  manifest: ModelManifest;
  /** File name → contents: model.json first, then the shards in order. */
  files: Map<string, string | Uint8Array>;
}

const FLOAT16_MAX = 65504;

function weightBytes(name: string, data: Float32Array, dtype: ExportDtype): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < data.length; i++) {
    if (Math.abs(data[i]!) > FLOAT16_MAX && Number.isFinite(data[i]!)) {
      throw new Error(`weight '${name}' holds ${data[i]} at index ${i}, outside float16's range (largest ${FLOAT16_MAX}); export it as float32`);
    }
  }
  const half = Float16Array.from(data);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

/** The model.json and shards of `model`; checks every weight's presence and shape before encoding any. */
export function encodeExport(model: ExportableModel, dtype: ExportDtype = 'float32'): EncodedExport {
  const expected = expectedWeights(model.config);
  for (const [name, shape] of expected) {
    const w = model.weights.get(name);
    if (w === undefined) throw new Error(`export: the model has no weight '${name}' (its config needs one of shape [${shape.join(', ')}])`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (w.shape.join(',') !== shape.join(',') || w.data.length !== size) {
      throw new Error(`export: weight '${name}' has shape [${w.shape.join(', ')}] (${w.data.length} values), its config needs [${shape.join(', ')}]`);
    }
  }
  if (model.labels.length !== model.config.num_labels) throw new Error(`export: ${model.labels.length} label names for ${model.config.num_labels} outputs`);
  const entries: WeightEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const [name, shape] of expected) {
    parts.push(weightBytes(name, model.weights.get(name)!.data, dtype));
    entries.push({ name, shape: [...shape], dtype: 'float32', ...(dtype === 'float16' ? { quantization: { dtype: 'float16' as const } } : {}) });
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.byteLength;
  }
  const count = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const manifest: ModelManifest = {
    format: RUNTIME_FORMAT,
    version: FORMAT_VERSION,
    ...(model.task !== undefined ? { task: model.task } : {}),
    labels: [...model.labels],
    config: model.config,
    tokenizer: model.tokenizer,
    weightsManifest: [{ paths, weights: entries }],
  };
  const files = new Map<string, string | Uint8Array>([[MANIFEST_FILE, `${JSON.stringify(manifest)}\n`]]);
  paths.forEach((path, i) => files.set(path, all.subarray(i * SHARD_BYTES, Math.min(total, (i + 1) * SHARD_BYTES))));
  return { manifest, files };
}

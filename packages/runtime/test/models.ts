/** Models for the runtime's tests: the reference fixture and a compacted model, as core sees them and as exports. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, Rng, type ModelConfig, type NamedTensor } from '@gbp/core';
import { REFERENCE_MODEL_DIR } from '@gbp/core/testing';
import { Float16Array } from '@petamoriken/float16';
import { encodeExport, type ExportDtype, type ExportableModel } from '../src/format/encode.js';
import { expectedWeights, type RuntimeModelConfig } from '../src/format/manifest.js';
import type { TokenizerSpec } from '../src/tokenizer/bert-tokenizer.js';
import { testTempDir } from './helpers.js';

/** A model as core holds it (to run core's InferenceModel) and as the runtime exports it. */
export interface TestModel {
  config: ModelConfig;
  weights: Map<string, NamedTensor>;
  exportable: ExportableModel;
}

export function runtimeConfig(c: ModelConfig): RuntimeModelConfig {
  return {
    num_layers: c.num_layers,
    d_model: c.d_model,
    num_heads: c.num_heads,
    dff: c.dff,
    vocab_size: c.vocab_size,
    max_len: c.max_len,
    type_vocab_size: c.type_vocab_size,
    num_labels: c.num_labels,
    ...(c.heads_per_layer ? { heads_per_layer: [...c.heads_per_layer] } : {}),
    ...(c.dff_per_layer ? { dff_per_layer: [...c.dff_per_layer] } : {}),
    layer_norm_eps: c.layer_norm_eps ?? 1e-12,
  };
}

/** bert-ref-micro read by core's loadModel, with its vocab.txt. */
export async function referenceModel(): Promise<TestModel> {
  const loaded = await loadModel(REFERENCE_MODEL_DIR);
  const { parseVocabTxt } = await import('../src/tokenizer/bert-tokenizer.js');
  const { readFileSync } = await import('node:fs');
  const tokenizer: TokenizerSpec = { vocab: parseVocabTxt(readFileSync(loaded.tokenizerPath!, 'utf8')), lowercase: loaded.lowercase };
  return {
    config: loaded.config,
    weights: loaded.weights,
    exportable: { config: runtimeConfig(loaded.config), weights: loaded.weights, labels: ['negative', 'positive'], tokenizer },
  };
}

/** Tokens a-z, their ## forms and 200 words: enough for random texts to give varied lengths. */
export const COMPACT_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'abcdefghijklmnopqrstuvwxyz'.split(''), ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `##${c}`), ',', '.', '!'];

/**
 * A compacted 3-layer model (d 32, 4 heads of 8): layer 0 keeps 2 heads and no FFN, layer 1 no head
 * and 24 neurons, layer 2 everything. Seeded random weights large enough that every block matters.
 */
export function compactedModel(seed = 7, numLabels = 3, vocabSize = COMPACT_VOCAB.length): TestModel {
  const config: ModelConfig = {
    size: 'imported',
    num_layers: 3,
    d_model: 32,
    num_heads: 4,
    dff: 64,
    vocab_size: vocabSize,
    max_len: 40,
    dropout_rate: 0,
    type_vocab_size: 2,
    num_labels: numLabels,
    heads_per_layer: [2, 0, 4],
    dff_per_layer: [0, 24, 64],
    layer_norm_eps: 1e-6,
  };
  const rng = new Rng(seed);
  const weights = new Map<string, NamedTensor>();
  for (const [name, shape] of expectedWeights(runtimeConfig(config))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const isGamma = name.endsWith('LayerNorm.weight');
    const std = shape.length === 2 ? 0.3 : 0.1;
    weights.set(name, { shape, data: Float32Array.from({ length: size }, () => (isGamma ? 1 : 0) + std * rng.normal()) });
  }
  return {
    config,
    weights,
    exportable: { config: runtimeConfig(config), weights, labels: ['a', 'b', 'c'].slice(0, numLabels), task: 'test', tokenizer: { vocab: COMPACT_VOCAB, lowercase: true } },
  };
}

/** Random texts over COMPACT_VOCAB's letters: 1 to 30 words. */
export function randomTexts(n: number, seed = 3): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(30) }, () => Array.from({ length: 1 + rng.int(6) }, () => String.fromCharCode(97 + rng.int(26))).join('')).join(' '));
}

/** The model's weights rounded to float16 and back (what a float16 export holds). */
export function roundedToFloat16(weights: ReadonlyMap<string, NamedTensor>): Map<string, NamedTensor> {
  return new Map([...weights].map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(Float16Array.from(t.data)) }]));
}

/** Writes the export of `model` into a fresh temp folder and returns it. */
export function writeExport(model: ExportableModel, dtype: ExportDtype = 'float32'): string {
  const dir = testTempDir('export-');
  for (const [name, data] of encodeExport(model, dtype).files) writeFileSync(join(dir, name), data);
  return dir;
}

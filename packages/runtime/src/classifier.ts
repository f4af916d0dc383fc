/**
 * TextClassifier: an exported gbp model ready to classify texts. Loads model.json and its shards,
 * checks them, tokenizes with the model's own vocabulary and runs the forward pass in batches,
 * each padded to its longest input.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseManifest, type ModelManifest } from './format/manifest.js';
import { openModelFiles, type ModelSource } from './format/source.js';
import { selectBackend, type BackendChoice, type BackendOptions } from './model/backend.js';
import { forwardLogits, type EmbeddingTables } from './model/forward.js';
import { padBatch } from './model/batch.js';
import { BertTokenizer, type Encoding, type TextInput } from './tokenizer/bert-tokenizer.js';

export interface Prediction {
  /** The classifier's raw outputs, one per label. */
  logits: number[];
  /** The most likely label (a regression model's single output name). */
  label: string;
  /** Softmax probability of `label`; absent for a regression model (one output). */
  score?: number;
}

/** How to load: the backend (wasm by default) and where its .wasm files are. */
export type LoadOptions = BackendOptions;

export interface ClassifyOptions {
  /** Inputs per forward pass; default 32. */
  batchSize?: number;
  /** Tokens per input at most ([CLS] and [SEP] included); default and ceiling: the model's max_len. */
  maxLen?: number;
}

export class TextClassifier {
  private disposed = false;

  private constructor(
    readonly manifest: ModelManifest,
    readonly tokenizer: BertTokenizer,
    /** Which backend runs the model, and why. */
    readonly backend: BackendChoice,
    private readonly weights: tf.NamedTensorMap,
    private readonly tables: EmbeddingTables,
  ) {}

  /** Loads an export: a folder or model.json path (Node) or URL. Every check runs before the weights are read. */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<TextClassifier> {
    const files = await openModelFiles(source);
    let json: unknown;
    try {
      json = JSON.parse(await files.manifestText());
    } catch (error) {
      if (error instanceof SyntaxError) throw new Error(`${files.where}: not valid JSON (${error.message})`, { cause: error });
      throw error;
    }
    const manifest = parseManifest(json, files.where);
    const tokenizer = new BertTokenizer(manifest.tokenizer, files.where);
    const backend = await selectBackend(options);
    const weights: tf.NamedTensorMap = {};
    for (const group of manifest.weightsManifest) {
      const shards = await Promise.all(group.paths.map((path) => files.bytes(path)));
      const need = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 2 : 4), 0);
      const have = shards.reduce((n, s) => n + s.byteLength, 0);
      if (have !== need) throw new Error(`${files.where}: the shards ${group.paths.join(', ')} hold ${have} bytes, the manifest's weights need ${need}`);
      Object.assign(weights, tf.io.decodeWeights(shards, group.weights));
    }
    // The two embedding tables are only read row by row: kept as arrays, not tensors.
    const table = (name: string) => {
      const data = weights[name]!.dataSync() as Float32Array;
      weights[name]!.dispose();
      delete weights[name];
      return data;
    };
    const tables = { word: table('embeddings.word_embeddings.weight'), type: table('embeddings.token_type_embeddings.weight') };
    return new TextClassifier(manifest, tokenizer, backend, weights, tables);
  }

  get labels(): readonly string[] {
    return this.manifest.labels;
  }

  /** Token ids of each input, as the model sees them. */
  encode(inputs: readonly TextInput[], maxLen = this.manifest.config.max_len): Encoding[] {
    if (maxLen > this.manifest.config.max_len) throw new Error(`maxLen ${maxLen} exceeds the model's max_len ${this.manifest.config.max_len}`);
    return inputs.map((input) => this.tokenizer.encode(input, maxLen));
  }

  /** Logits of encoded inputs, [inputs.length][num_labels], in batches padded to their longest input. */
  async logits(encoded: readonly Encoding[], batchSize = 32): Promise<Float32Array[]> {
    if (this.disposed) throw new Error('TextClassifier: used after dispose()');
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const n = this.manifest.config.num_labels;
    const out: Float32Array[] = [];
    for (let start = 0; start < encoded.length; start += batchSize) {
      const batch = padBatch(encoded.slice(start, start + batchSize), this.tokenizer.padId);
      const logits = tf.tidy(() => forwardLogits(this.manifest.config, (name) => this.weight(name), this.tables, batch));
      const values = (await logits.data()) as Float32Array;
      logits.dispose();
      for (let i = 0; i < batch.batchSize; i++) out.push(values.slice(i * n, (i + 1) * n));
    }
    return out;
  }

  /** A prediction per input: a text, or a pair of texts. */
  async classify(inputs: readonly TextInput[], options: ClassifyOptions = {}): Promise<Prediction[]> {
    const all = await this.logits(this.encode(inputs, options.maxLen), options.batchSize);
    return all.map((row) => predict(Array.from(row), this.manifest.labels));
  }

  /** Frees the weights (the backend stays, for other models). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.weights));
  }

  private weight(name: string): tf.Tensor {
    const t = this.weights[name];
    if (t === undefined) throw new Error(`TextClassifier: no weight '${name}'`);
    return t;
  }
}

function predict(logits: number[], labels: readonly string[]): Prediction {
  if (logits.length === 1) return { logits, label: labels[0]! };
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  const max = logits[best]!;
  const sum = logits.reduce((s, x) => s + Math.exp(x - max), 0);
  return { logits, label: labels[best]!, score: 1 / sum };
}

/**
 * InferenceModel: a model for prediction only, from a model folder or random weights. Plain weight
 * tensors (no masks, no W ⊙ M), so the wasm backend's packed-weight cache, keyed by tensor id, hits
 * on every call after the first; the same `forward` as training, with dropout off.
 */
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { parameterSpecs, validateLayerWidths, type ModelConfig } from './config.js';
import { forward, forwardOutputs, initialValue, type ForwardOutputs, type ModelInput } from './encoder.js';
import { readModelFolder } from './folder.js';
import type { NamedTensor } from './safetensors.js';
import { checkWeights } from './weights.js';
import { sliceInput } from '../data/batching.js';
import { shardRows } from '../parallel/micro-batches.js';
import { ReplicaPool, type ReplicaBackend } from '../parallel/replica-pool.js';
import { resolveThreads, type ThreadsChoice } from '../parallel/threads.js';
import { valuesToCopy } from '../parallel/host-arrays.js';
import { alongside } from '../parallel/alongside.js';

/** `predict`'s result: logits [rows, num_labels] and, when asked, the pooled output [rows, d_model], row-major. */
export interface PredictResult {
  logits: Float32Array;
  pooled?: Float32Array;
}

export class InferenceModel {
  readonly numParams: number;
  /** Bytes of the weights as float32. */
  readonly weightBytes: number;

  private constructor(
    readonly config: ModelConfig,
    private readonly tensors: ReadonlyMap<string, tf.Tensor>,
    /** The GLUE task the model was trained on, when known (a model folder's). */
    readonly task?: string,
  ) {
    let n = 0;
    for (const t of tensors.values()) n += t.size;
    this.numParams = n;
    this.weightBytes = 4 * n;
  }

  /** Loads a model folder (config.json, model.safetensors); errors name the file and what is wrong. */
  static async fromFolder(dir: string): Promise<InferenceModel> {
    const contents = await readModelFolder(dir);
    return InferenceModel.fromWeights(contents.config, contents.weights, contents.task);
  }

  /** A model of `config` holding `weights` (every parameter of parameterSpecs(config), by name). */
  static fromWeights(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, task?: string): InferenceModel {
    validateLayerWidths(config);
    checkWeights(config, weights, 'InferenceModel');
    const tensors = new Map<string, tf.Tensor>();
    for (const spec of parameterSpecs(config)) tensors.set(spec.name, tf.tensor(weights.get(spec.name)!.data, [...spec.shape], 'float32'));
    return new InferenceModel(config, tensors, task);
  }

  /** `config` with random weights (BERT's init, seeded): for benchmarks of a size. */
  static random(config: ModelConfig, seed = 0): InferenceModel {
    validateLayerWidths(config);
    const rng = Rng.derive(seed, 'init');
    const tensors = new Map<string, tf.Tensor>();
    for (const spec of parameterSpecs(config)) tensors.set(spec.name, tf.tidy(() => initialValue(spec, 'random', rng)));
    return new InferenceModel(config, tensors);
  }

  /** Logits [B, num_labels]; no masks, dropout off. The caller disposes the result. */
  logits(input: ModelInput): tf.Tensor2D {
    return tf.tidy(() => forward(this.config, (name) => this.param(name), input, { training: false }));
  }

  /** Hidden states [B*T, d], pooled output and logits; dropout off. The caller disposes them. */
  outputs(input: ModelInput): ForwardOutputs {
    return tf.tidy(() => forwardOutputs(this.config, (name) => this.param(name), input, { training: false }));
  }

  private pool: ReplicaPool | undefined;

  /** Threads `predict` uses: this one and its replicas. */
  get threads(): number {
    return 1 + (this.pool?.size ?? 0);
  }

  /**
   * Makes later `predict` calls split a batch's rows among `requested` threads (default: GBP_THREADS,
   * else every core), each replica holding a copy of the weights; `label` names `requested` in the reason. Only on the wasm and cpu backends;
   * elsewhere it stays at one thread, and the returned reason says why.
   */
  async useThreads(requested?: number, label = 'threads'): Promise<ThreadsChoice> {
    await this.pool?.close();
    this.pool = undefined;
    const choice = resolveThreads(requested, tf.getBackend(), process.env, label);
    if (choice.threads > 1) {
      const pool = await ReplicaPool.start({ config: this.config, backend: tf.getBackend() as ReplicaBackend, count: choice.threads - 1 });
      const specs = parameterSpecs(this.config);
      pool.publish((i) => valuesToCopy(this.param(specs[i]!.name)));
      this.pool = pool;
    }
    return choice;
  }

  /** Logits (and the pooled output) of `input`, its rows split among the threads (see useThreads). */
  async predict(input: ModelInput, options: { pooled?: boolean } = {}): Promise<PredictResult> {
    const shards = shardRows(input.batchSize, this.threads);
    const pool = this.pool;
    if (shards.length === 1 || pool === undefined) return this.predictHere(input, options);
    const others = shards.slice(1).map(([start, end], r) => pool.logits(r, sliceInput(input, start, end), options));
    const parts = await alongside(() => this.predictHere(sliceInput(input, shards[0]![0], shards[0]![1]), options), others);
    const join = (pick: (p: PredictResult) => Float32Array) => {
      const out = new Float32Array(parts.reduce((n, p) => n + pick(p).length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(pick(p), at);
        at += pick(p).length;
      }
      return out;
    };
    return { logits: join((p) => p.logits), ...(options.pooled && { pooled: join((p) => p.pooled!) }) };
  }

  /** Read back asynchronously: GPU backends (webgpu) cannot read synchronously on Node. */
  private async predictHere(input: ModelInput, options: { pooled?: boolean }): Promise<PredictResult> {
    const outputs = this.outputs(input);
    try {
      const logits = (await outputs.logits.data()) as Float32Array;
      return { logits, ...(options.pooled && { pooled: (await outputs.pooled.data()) as Float32Array }) };
    } finally {
      tf.dispose([outputs.hidden, outputs.pooled, outputs.logits]);
    }
  }

  private param(name: string): tf.Tensor {
    const t = this.tensors.get(name);
    if (t === undefined) throw new Error(`InferenceModel has no parameter '${name}'`);
    return t;
  }

  /** Frees the weights and stops the replicas (their threads end without waiting). */
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    void this.pool?.close();
    this.pool = undefined;
  }
}

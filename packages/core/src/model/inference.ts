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

  private param(name: string): tf.Tensor {
    const t = this.tensors.get(name);
    if (t === undefined) throw new Error(`InferenceModel has no parameter '${name}'`);
    return t;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
  }
}

/**
 * The gated BERT-style encoder: variables with HF-like names, and a functional forward pass on
 * tfjs-core ops. The forward takes its parameters through a lookup so the trainer can substitute
 * the effective weights W ⊙ M (and differentiate with respect to them) without copying variables.
 *
 * Shapes are kept 2-D ([B*T, d] x [d, k]) for every dense layer so matMul runs without transpose
 * flags; attention transposes K once explicitly instead of asking matMul for transposeB.
 */
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { headSize, layerDff, layerHeads, parameterSpecs, type ModelConfig, type ParamSpec } from './config.js';
import { GatedDense } from './gated_dense.js';
import { dropout } from './dropout.js';
import { LAYER_NORM_EPS, layerNorm } from './layer_norm.js';
import { gelu } from './gelu.js';
import type { NamedTensor } from './safetensors.js';
import { checkWeights } from './weights.js';
import { distillLossSum, lossSum, type DistillTarget } from './loss.js';

/** Token ids and masks of one batch, row-major [batchSize, seqLen]. */
export interface ModelInput {
  inputIds: Int32Array;
  typeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Float32Array;
  batchSize: number;
  seqLen: number;
}

/** Returns the tensor to use for a parameter (the variable, or the effective weight of a gate). */
export type ParamLookup = (name: string) => tf.Tensor;

export interface ForwardOptions {
  training: boolean;
  /** A fresh seed per dropout call; required when training with dropout_rate > 0. */
  dropoutSeed?: () => number;
}

const INIT_STD = 0.02;

export type InitMode = 'random' | 'zeros';

export class GatedBert {
  readonly specs: readonly ParamSpec[];
  /** Every trainable variable by name, in `specs` order. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly gates: readonly GatedDense[];
  private readonly gateByWeight: ReadonlyMap<string, GatedDense>;

  /** Builds the variables; `seed` drives a seeded truncated-normal init (std 0.02, BERT's). */
  constructor(
    readonly config: ModelConfig,
    options: { seed: number; init?: InitMode },
  ) {
    this.specs = parameterSpecs(config);
    const rng = Rng.derive(options.seed, 'init');
    const params = new Map<string, tf.Variable>();
    for (const spec of this.specs) {
      const initial = tf.tidy(() => initialValue(spec, options.init ?? 'random', rng));
      params.set(spec.name, tf.variable(initial, true));
      initial.dispose();
    }
    this.params = params;
    const gates: GatedDense[] = [];
    const byWeight = new Map<string, GatedDense>();
    for (const spec of this.specs) {
      if (spec.gate === undefined) continue;
      const gate = new GatedDense(spec.gate, params.get(spec.name)!, params.get(`${spec.gate}.bias`)!);
      gates.push(gate);
      byWeight.set(spec.name, gate);
    }
    this.gates = gates;
    this.gateByWeight = byWeight;
  }

  /** The gate whose weight is the parameter `paramName`, if any. */
  gateOf(paramName: string): GatedDense | undefined {
    return this.gateByWeight.get(paramName);
  }

  /** Logits [B, num_labels] using the variables and masks as they are (no gradient plumbing). */
  logits(input: ModelInput, options: ForwardOptions): tf.Tensor2D {
    return tf.tidy(() => {
      const effective = new Map<string, tf.Tensor>();
      for (const gate of this.gates) effective.set(`${gate.name}.weight`, gate.effective());
      return forward(this.config, (name) => effective.get(name) ?? this.param(name), input, options);
    });
  }

  /**
   * Sets every parameter from `weights` (by gbp name, gbp's [in, out] layout): how a pretrained
   * model (an imported checkpoint) starts training. Checks all names and shapes before assigning
   * any, so a refused set leaves the model as it was; `source` names the weights in errors.
   */
  setWeights(weights: ReadonlyMap<string, NamedTensor>, source: string): void {
    checkWeights(this.config, weights, source);
    for (const spec of this.specs) {
      const t = tf.tensor(weights.get(spec.name)!.data, [...spec.shape], 'float32');
      this.param(spec.name).assign(t);
      t.dispose();
    }
  }

  param(name: string): tf.Variable {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`model has no parameter '${name}'`);
    return v;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const g of this.gates) g.mask.dispose();
  }
}

/** A parameter's initial value (BERT's: truncated normal std 0.02 for matrices, LN 1/0, biases 0). */
export function initialValue(spec: ParamSpec, mode: InitMode, rng: Rng): tf.Tensor {
  const shape = [...spec.shape];
  switch (spec.kind) {
    case 'ln_gamma':
      return tf.ones(shape);
    case 'bias':
    case 'ln_beta':
      return tf.zeros(shape);
    default:
      // 'zeros' builds big models cheaply (the parameter-count tests); training uses 'random'.
      return mode === 'zeros' ? tf.zeros(shape) : tf.truncatedNormal(shape, 0, INIT_STD, 'float32', rng.seed());
  }
}

export { gelu };

function dense(x: tf.Tensor2D, p: ParamLookup, prefix: string): tf.Tensor2D {
  return tf.add(tf.matMul(x, p(`${prefix}.weight`) as tf.Tensor2D), p(`${prefix}.bias`)) as tf.Tensor2D;
}

/**
 * Forward pass to logits [B, num_labels]. Call inside tf.tidy (or a gradient function).
 * Padding: keys at padded positions get -1e9 before the softmax, so they receive exactly zero
 * attention; the classification reads the [CLS] position only.
 */
export function forward(config: ModelConfig, p: ParamLookup, input: ModelInput, options: ForwardOptions): tf.Tensor2D {
  return forwardOutputs(config, p, input, options).logits;
}

/** Every output of the forward pass. A type, not an interface, so tf.tidy can return it. */
export type ForwardOutputs = {
  /** The last encoder layer's output [B*T, d] (rows are tokens; padded positions included). */
  hidden: tf.Tensor2D;
  /** tanh(pooler.dense([CLS])) [B, d], after dropout when training. */
  pooled: tf.Tensor2D;
  logits: tf.Tensor2D;
};

/** `forward` returning the hidden states and pooled output as well. Call inside tf.tidy. */
export function forwardOutputs(config: ModelConfig, p: ParamLookup, input: ModelInput, options: ForwardOptions): ForwardOutputs {
  const { batchSize: B, seqLen: T } = input;
  const d = config.d_model;
  const dh = headSize(config);
  if (T > config.max_len) throw new Error(`sequence length ${T} exceeds model.max_len ${config.max_len}`);
  if (input.inputIds.length !== B * T) throw new Error(`inputIds has ${input.inputIds.length} values, expected ${B}x${T}`);

  const rate = options.training ? config.dropout_rate : 0;
  const drop = (x: tf.Tensor): tf.Tensor => {
    if (rate <= 0) return x;
    if (options.dropoutSeed === undefined) throw new Error('forward: training with dropout needs a dropoutSeed source');
    return dropout(x, rate, options.dropoutSeed());
  };
  // A removed block (0 heads, 0-wide FFN) still adds its output bias, as the masked layer does.
  const biasOnly = (name: string): tf.Tensor => drop(rate > 0 ? tf.broadcastTo(p(name), [B * T, d]) : p(name));
  const eps = config.layer_norm_eps ?? LAYER_NORM_EPS;

  // Embeddings: word + position + token type, LayerNorm, dropout. Rows are tokens: [B*T, d].
  const ids = tf.tensor1d(input.inputIds, 'int32');
  const types = tf.tensor1d(input.typeIds, 'int32');
  const word = tf.gather(p('embeddings.word_embeddings.weight'), ids);
  const typeEmb = tf.gather(p('embeddings.token_type_embeddings.weight'), types);
  const pos = tf.slice(p('embeddings.position_embeddings.weight'), [0, 0], [T, d]);
  const summed = tf.add(tf.reshape(tf.add(word, typeEmb), [B, T, d]), pos);
  let h = tf.reshape(
    drop(layerNorm(summed, p('embeddings.LayerNorm.weight'), p('embeddings.LayerNorm.bias'), eps)),
    [B * T, d],
  ) as tf.Tensor2D;

  // Additive key mask [B, 1, 1, T]: 0 for real tokens, -1e9 for padding.
  const maskAdd = tf.reshape(tf.mul(tf.sub(1, tf.tensor1d(input.attentionMask, 'float32')), -1e9), [B, 1, 1, T]);
  const scale = 1 / Math.sqrt(dh);

  for (let i = 0; i < config.num_layers; i++) {
    const prefix = `encoder.layer.${i}`;
    const H = layerHeads(config, i);
    let attnOut: tf.Tensor;
    if (H > 0) {
      const q = tf.reshape(tf.transpose(tf.reshape(tf.mul(dense(h, p, `${prefix}.attention.self.query`), scale), [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
      const kT = tf.reshape(tf.transpose(tf.reshape(dense(h, p, `${prefix}.attention.self.key`), [B, T, H, dh]), [0, 2, 3, 1]), [B * H, dh, T]);
      const v = tf.reshape(tf.transpose(tf.reshape(dense(h, p, `${prefix}.attention.self.value`), [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
      const scores = tf.add(tf.reshape(tf.matMul(q, kT), [B, H, T, T]), maskAdd);
      const probs = tf.reshape(drop(tf.softmax(scores, -1)), [B * H, T, T]);
      const context = tf.reshape(tf.transpose(tf.reshape(tf.matMul(probs, v), [B, H, T, dh]), [0, 2, 1, 3]), [B * T, H * dh]) as tf.Tensor2D;
      attnOut = drop(dense(context, p, `${prefix}.attention.output.dense`));
    } else {
      attnOut = biasOnly(`${prefix}.attention.output.dense.bias`);
    }
    h = layerNorm(tf.add(attnOut, h), p(`${prefix}.attention.output.LayerNorm.weight`), p(`${prefix}.attention.output.LayerNorm.bias`), eps) as tf.Tensor2D;

    const ffnOut =
      layerDff(config, i) > 0
        ? drop(dense(gelu(dense(h, p, `${prefix}.intermediate.dense`)) as tf.Tensor2D, p, `${prefix}.output.dense`))
        : biasOnly(`${prefix}.output.dense.bias`);
    h = layerNorm(tf.add(ffnOut, h), p(`${prefix}.output.LayerNorm.weight`), p(`${prefix}.output.LayerNorm.bias`), eps) as tf.Tensor2D;
  }

  // Pooler over [CLS] (position 0), then the task head.
  const cls = tf.reshape(tf.slice(tf.reshape(h, [B, T, d]), [0, 0, 0], [B, 1, d]), [B, d]) as tf.Tensor2D;
  const pooled = drop(tf.tanh(dense(cls, p, 'pooler.dense'))) as tf.Tensor2D;
  return { hidden: h, pooled, logits: dense(pooled, p, 'classifier') };
}

/**
 * Loss (sum over the rows / `divisor`) and its gradients with respect to every parameter, in
 * `model.specs` order. For a gated weight the gradient is ∂L/∂(W⊙M): the forward runs on the
 * effective weight, formed here once, so the gradient is dense (masked entries included).
 * With `distill` (the teacher's logits for these rows) the loss is the distillation loss.
 * The caller owns (and disposes) the returned tensors.
 */
export function lossAndGradients(
  model: GatedBert,
  input: ModelInput & { labels: Float32Array },
  options: ForwardOptions & { divisor: number; distill?: DistillTarget },
): { value: tf.Scalar; grads: tf.Tensor[] } {
  return tf.tidy(() => {
    const inputs = model.specs.map((s) => (s.gate !== undefined ? model.gateOf(s.name)!.effective() : model.param(s.name)));
    return lossAndGradientsAt(model.config, model.specs, inputs, input, options);
  });
}

/**
 * `lossAndGradients` at given parameter values (`values[i]` for `specs[i]`; for a gated weight, its
 * effective weight): what a replica on another thread computes from the weights it was sent.
 */
export function lossAndGradientsAt(
  config: ModelConfig,
  specs: readonly ParamSpec[],
  values: readonly tf.Tensor[],
  input: ModelInput & { labels: Float32Array },
  options: ForwardOptions & { divisor: number; distill?: DistillTarget },
): { value: tf.Scalar; grads: tf.Tensor[] } {
  const index = new Map(specs.map((s, i) => [s.name, i]));
  return tf.tidy(() => {
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const logits = forward(config, (name) => xs[index.get(name)!]!, input, options);
      const n = config.num_labels;
      const sum = options.distill ? distillLossSum(logits, input.labels, n, options.distill) : lossSum(logits, input.labels, n);
      return tf.div(sum, options.divisor);
    };
    return tf.valueAndGrads(f)([...values]);
  });
}

/**
 * How many seeds one training forward pass draws from `dropoutSeed` (one per dropout site; none
 * without dropout). Threads draw a micro-batch's seeds ahead, in the order one thread would.
 */
export function dropoutDrawsPerForward(config: ModelConfig): number {
  if (config.dropout_rate <= 0) return 0;
  let draws = 2; // embeddings, pooler
  for (let i = 0; i < config.num_layers; i++) draws += layerHeads(config, i) > 0 ? 3 : 2; // probs (with heads), attention output, FFN output
  return draws;
}

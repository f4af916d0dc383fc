/**
 * AdamW (Loshchilov & Hutter): Adam with bias correction plus decoupled weight decay, applied as
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   w ← w − lr·( m̂ / (√v̂ + ε) + λ·w )        (λ only where `decay` is set)
 * For a gated weight the whole update is multiplied by the mask, so a pruned weight does not move at
 * all (no decay, no momentum); its gradient is already zero there (dW = dEff ⊙ M).
 */
import { tf } from '../tf.js';
import { ADAMW_UPDATE, type AdamWUpdateAttrs } from '../backend/wasm/kernels/adamw_update.js';

export interface AdamWOptions {
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /**
   * Use the backend's fused one-pass update kernel where it has one (wasm): same formula, computed
   * in float64 per element. Default true; false forces the op-by-op path (the reference).
   */
  fused?: boolean;
}

export interface AdamWParam {
  name: string;
  variable: tf.Variable;
  /** Apply weight decay (not for biases and LayerNorm). */
  decay: boolean;
  /** 0/1 mask of a gated weight: the update is multiplied by it. */
  mask?: tf.Variable;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly fused: boolean;
  /** Updates applied so far (the bias-correction exponent). */
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: readonly AdamWParam[],
    options: AdamWOptions,
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-6;
    this.weightDecay = options.weightDecay;
    this.fused = options.fused ?? true;
    for (const p of params) {
      this.m.set(p.name, zerosVariable(p.variable));
      this.v.set(p.name, zerosVariable(p.variable));
    }
  }

  /** One update; `grads[i]` belongs to `params[i]`. */
  apply(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.params.length) throw new Error(`AdamW: ${grads.length} gradients for ${this.params.length} parameters`);
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    if (this.fused && tf.getKernel(ADAMW_UPDATE, tf.getBackend()) != null) {
      this.params.forEach((p, i) => {
        const [m, v] = [this.m.get(p.name)!, this.v.get(p.name)!];
        const attrs: AdamWUpdateAttrs = { lr, beta1: b1, beta2: b2, epsilon: eps, c1, c2, weightDecay: p.decay ? this.weightDecay : 0 };
        const inputs = { w: p.variable, g: grads[i]!, m, v, ...(p.mask ? { mask: p.mask } : {}) };
        const [w2, m2, v2] = tf.engine().runKernel(ADAMW_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        p.variable.assign(w2!);
        m.assign(m2!);
        v.assign(v2!);
        tf.dispose([w2!, m2!, v2!]);
      });
      return;
    }
    this.params.forEach((p, i) => {
      tf.tidy(() => {
        const g = grads[i]!;
        const m = this.m.get(p.name)!;
        const v = this.v.get(p.name)!;
        const mNext = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const vNext = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        let update = tf.div(tf.div(mNext, c1), tf.add(tf.sqrt(tf.div(vNext, c2)), eps));
        if (p.decay && this.weightDecay > 0) update = tf.add(update, tf.mul(p.variable, this.weightDecay));
        update = tf.mul(update, lr);
        if (p.mask !== undefined) update = tf.mul(update, p.mask);
        m.assign(mNext);
        v.assign(vNext);
        p.variable.assign(tf.sub(p.variable, update));
      });
    });
  }

  /** The moments as typed arrays, for checkpoints. */
  state(): { t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> } {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const p of this.params) {
      m[p.name] = this.m.get(p.name)!.dataSync() as Float32Array;
      v[p.name] = this.v.get(p.name)!.dataSync() as Float32Array;
    }
    return { t: this.t, m, v };
  }

  restore(state: { t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }): void {
    this.t = state.t;
    for (const p of this.params) {
      assignFrom(this.m.get(p.name)!, state.m[p.name], `optimizer m of ${p.name}`);
      assignFrom(this.v.get(p.name)!, state.v[p.name], `optimizer v of ${p.name}`);
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

function zerosVariable(like: tf.Tensor): tf.Variable {
  const zeros = tf.zerosLike(like);
  const variable = tf.variable(zeros, false);
  zeros.dispose();
  return variable;
}

/** Assigns `values` to `variable`, checking the size. */
export function assignFrom(variable: tf.Variable, values: ArrayLike<number> | undefined, what: string): void {
  if (values === undefined) throw new Error(`checkpoint lacks ${what}`);
  if (values.length !== variable.size) throw new Error(`checkpoint: ${what} has ${values.length} values, expected ${variable.size} ([${variable.shape.join(', ')}])`);
  const t = tf.tensor(values as Float32Array, variable.shape, 'float32');
  variable.assign(t);
  t.dispose();
}

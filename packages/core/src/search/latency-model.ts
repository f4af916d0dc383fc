/**
 * A latency model of sub-networks: latency = w · features, the features being the forward pass's
 * FLOP components at one batch and sequence length (dense projections of attention and FFN, the
 * attention scores and context, the heads and layers, whose kernel dispatches cost time of their
 * own) plus a constant. Fitted by least squares on measured samples; its error is reported on
 * samples held out of the fit. Chosen over AutoTinyBERT's small MLP because latency on a CPU
 * backend is close to linear in these terms and a linear fit needs tens of samples, not thousands
 * (the held-out error says whether it predicts well enough). On 70 measured sub-networks of tiny
 * (38 fitted, 13 held out, averaged over random splits) it predicted within 3.5 % mean / 10 % max,
 * a per-layer lookup table (a coefficient per head count and FFN width) 4.1 % / 11 %, and a 5-32-1
 * MLP 6.0 % / 17 %.
 */
import { arch as osArch, cpus, platform } from 'node:os';
import { headSize, type ModelConfig } from '../model/config.js';
import type { Rng } from '../rng.js';
import { archKey, type SubnetArch } from './space.js';

export const LATENCY_FEATURES = ['constant', 'layers', 'heads', 'attention_dense_gflop', 'attention_scores_gflop', 'ffn_gflop'] as const;

/** The features of `arch` on `config` for a batch of `batch` x `seq` tokens, in LATENCY_FEATURES order. */
export function latencyFeatures(config: ModelConfig, arch: SubnetArch, batch: number, seq: number): number[] {
  const d = config.d_model;
  const dh = headSize(config);
  const tokens = batch * seq;
  let heads = 0;
  let dense = 0;
  let scores = 0;
  let ffn = 0;
  for (let i = 0; i < arch.layers; i++) {
    const a = arch.heads[i]! * dh;
    heads += arch.heads[i]!;
    dense += 2 * tokens * 4 * d * a; // Q, K, V and output projections
    scores += 2 * 2 * batch * seq * seq * a; // Q·Kᵀ and P·V
    ffn += 2 * tokens * 2 * d * arch.ffn[i]!;
  }
  return [1, arch.layers, heads, dense / 1e9, scores / 1e9, ffn / 1e9];
}

/** One measured sub-network. */
export interface LatencySample {
  readonly arch: SubnetArch;
  readonly ms: number;
}

export interface LatencyFit {
  readonly samples: number;
  readonly held_out: number;
  /** Mean and largest |predicted − measured| / measured on the held-out samples. */
  readonly mean_abs_error: number;
  readonly max_abs_error: number;
  /** Every measured sub-network: its measured and predicted ms, and whether it was held out of the fit. */
  readonly measurements?: readonly { readonly arch: string; readonly measured_ms: number; readonly predicted_ms: number; readonly held_out: boolean }[];
}

/** What `search/latency_model.json` holds. */
export interface LatencyModel {
  readonly kind: 'linear-flops';
  readonly features: readonly string[];
  readonly coefficients: readonly number[];
  readonly batch: number;
  readonly seq: number;
  readonly backend: string;
  /** Threads of the measured forward passes. */
  readonly threads: number;
  /** Where it was measured: a cached model is used only on the same machine and backend. */
  readonly machine: string;
  /** The full model's measured latency (ms): what a `speedup` budget divides. */
  readonly reference_ms: number;
  readonly fit: LatencyFit;
}

/** This machine as a latency model's key: CPU model, logical cores, platform, Node. */
export function machineFingerprint(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu} x${cpus().length}, ${platform()}-${osArch()}, node ${process.versions.node}`;
}

export interface FitOptions {
  readonly batch: number;
  readonly seq: number;
  readonly backend: string;
  /** Threads the samples were measured on. */
  readonly threads: number;
  /** The full model's measured latency (ms). */
  readonly referenceMs: number;
  /** Fraction of the samples held out of the fit to measure its error (default 0.25, at least one). */
  readonly heldOut?: number;
  readonly rng: Rng;
}

/**
 * Fits the coefficients on all but a random held-out part of `samples` and reports the held-out
 * error. Refuses too few samples for the features (it says how many it needs).
 */
export function fitLatencyModel(config: ModelConfig, samples: readonly LatencySample[], options: FitOptions): LatencyModel {
  const k = LATENCY_FEATURES.length;
  const heldOutCount = Math.max(1, Math.round(samples.length * (options.heldOut ?? 0.25)));
  // Four samples a coefficient: with fewer, timing noise decides the fit (9 samples of tiny: 71 % held-out error; 36: 6 %).
  const needed = 4 * k;
  if (samples.length - heldOutCount < needed) {
    throw new Error(`latency model: ${samples.length} measured sub-networks; fitting ${k} coefficients with ${heldOutCount} held out needs at least ${needed + heldOutCount}`);
  }
  const order = samples.map((_, i) => i);
  options.rng.shuffle(order);
  const held = order.slice(0, heldOutCount).map((i) => samples[i]!);
  const train = order.slice(heldOutCount).map((i) => samples[i]!);
  const coefficients = leastSquares(
    train.map((s) => latencyFeatures(config, s.arch, options.batch, options.seq)),
    train.map((s) => s.ms),
  );
  const model: Omit<LatencyModel, 'fit'> = {
    kind: 'linear-flops',
    features: [...LATENCY_FEATURES],
    coefficients,
    batch: options.batch,
    seq: options.seq,
    backend: options.backend,
    threads: options.threads,
    machine: machineFingerprint(),
    reference_ms: options.referenceMs,
  };
  const predict = (arch: SubnetArch) => predictLatency({ ...model, fit: emptyFit }, config, arch);
  const errors = held.map((s) => Math.abs(predict(s.arch) - s.ms) / s.ms);
  const heldOut = new Set(order.slice(0, heldOutCount));
  return {
    ...model,
    fit: {
      samples: train.length,
      held_out: held.length,
      mean_abs_error: errors.reduce((a, b) => a + b, 0) / errors.length,
      max_abs_error: Math.max(...errors),
      measurements: samples.map((s, i) => ({ arch: archKey(s.arch), measured_ms: s.ms, predicted_ms: predict(s.arch), held_out: heldOut.has(i) })),
    },
  };
}

const emptyFit: LatencyFit = { samples: 0, held_out: 0, mean_abs_error: Number.NaN, max_abs_error: Number.NaN };

/** Predicted milliseconds of `arch` at the model's batch and sequence length. */
export function predictLatency(model: LatencyModel, config: ModelConfig, arch: SubnetArch): number {
  const x = latencyFeatures(config, arch, model.batch, model.seq);
  if (x.length !== model.coefficients.length) throw new Error(`latency model: ${model.coefficients.length} coefficients for ${x.length} features (${archKey(arch)})`);
  return x.reduce((sum, xi, i) => sum + xi * model.coefficients[i]!, 0);
}

/**
 * argmin ‖Xw − y‖² by the normal equations with a tiny ridge (features are on different scales and
 * may be collinear: layers and heads when every layer keeps the same heads), solved by Gaussian
 * elimination with partial pivoting. Features are scaled to unit RMS first.
 */
function leastSquares(rows: readonly number[][], y: readonly number[]): number[] {
  const k = rows[0]!.length;
  const scale = Array.from({ length: k }, (_, j) => Math.sqrt(rows.reduce((s, r) => s + r[j]! ** 2, 0) / rows.length) || 1);
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  rows.forEach((r, n) => {
    for (let i = 0; i < k; i++) {
      const xi = r[i]! / scale[i]!;
      for (let j = 0; j < k; j++) a[i]![j]! += xi * (r[j]! / scale[j]!);
      a[i]![k]! += xi * y[n]!;
    }
  });
  const ridge = 1e-9 * Math.max(...a.map((row, i) => row[i]!));
  for (let i = 0; i < k; i++) a[i]![i]! += ridge;
  for (let c = 0; c < k; c++) {
    let pivot = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    for (let r = 0; r < k; r++) {
      if (r === c || a[c]![c] === 0) continue;
      const f = a[r]![c]! / a[c]![c]!;
      for (let j = c; j <= k; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row, i) => (row[i] === 0 ? 0 : row[k]! / row[i]! / scale[i]!));
}

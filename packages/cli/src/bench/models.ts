/**
 * The models a bench measures, from core: a size preset with random weights, or a model folder;
 * on gbp's TF.js forward pass or, exported in memory, on onnxruntime-node.
 */
import { InferenceModel, loadModel, resolveModelConfig, type ModelConfig, type NamedTensor } from '@gbp/core';
import { GatedBert } from '@gbp/core/internal';
import type { BenchModel } from './measure.js';
import { onnxBenchModel, onnxBytes } from './onnx-model.js';
import type { RuntimeVariant } from './runtimes.js';
import type { TargetSource } from './targets.js';

/** Seed of a preset's random weights: the same model every run. */
export const PRESET_SEED = 0;

/**
 * A preset's weights as plain arrays: GatedBert draws them with the same seeded init, in the same
 * order, as InferenceModel.random, so both runtimes measure the same model.
 */
function presetWeights(config: ModelConfig): Map<string, NamedTensor> {
  const model = new GatedBert(config, { seed: PRESET_SEED });
  try {
    return new Map(model.specs.map((spec) => [spec.name, { shape: [...spec.shape], data: model.param(spec.name).dataSync() as Float32Array }]));
  } finally {
    model.dispose();
  }
}

/**
 * `model` predicting on `threads` threads (its batch's rows split among replicas): refused where the
 * backend has threads of its own, rather than measuring one thread under a label that says more.
 */
async function threadedModel(model: InferenceModel, threads: number): Promise<BenchModel> {
  try {
    const choice = await model.useThreads(threads);
    if (choice.threads !== threads) throw new Error(`tfjs with ${threads} threads: ${choice.reason}; --threads applies to tfjs on wasm and cpu (and to onnx)`);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return {
    config: model.config,
    numParams: model.numParams,
    weightBytes: model.weightBytes,
    logits: async (input) => {
      const { logits } = await model.predict(input);
      return { data: () => logits, dispose: () => undefined };
    },
    dispose: () => model.dispose(),
  };
}

/** The config and ONNX bytes of a target; one per target, shared by its onnx variants. */
export interface OnnxSource {
  readonly config: ModelConfig;
  readonly bytes: Uint8Array;
  readonly params: number;
}

export async function onnxSource(source: TargetSource): Promise<OnnxSource> {
  const { config, weights } =
    source.kind === 'preset' ? { config: resolveModelConfig({ size: source.preset }), weights: undefined } : await loadModel(source.path);
  const all = weights ?? presetWeights(config);
  const params = [...all.values()].reduce((n, t) => n + t.data.length, 0);
  return { config, bytes: onnxBytes(config, all), params };
}

/** `source` on `variant`'s runtime; `onnx` reads the target's ONNX bytes from `onnxOf` (cached by the caller). */
export async function loadOnVariant(source: TargetSource, variant: RuntimeVariant, onnxOf: (source: TargetSource) => Promise<OnnxSource>): Promise<BenchModel> {
  if (variant.runtime === 'tfjs') {
    const model = source.kind === 'preset' ? InferenceModel.random(resolveModelConfig({ size: source.preset }), PRESET_SEED) : await InferenceModel.fromFolder(source.path);
    return variant.threads === 1 ? model : threadedModel(model, variant.threads);
  }
  const { config, bytes, params } = await onnxOf(source);
  return onnxBenchModel(config, bytes, params, variant.threads, `the ONNX export of ${source.label}`);
}

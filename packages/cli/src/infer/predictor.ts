/**
 * What runs `gbp infer`'s forward passes: gbp's own (tfjs: InferenceModel on the TF.js backend, its
 * batch's rows split among replica threads on wasm/cpu) or onnxruntime-node on the model exported in
 * memory to the graph `gbp export --format onnx` writes (onnx: native kernels, intra-op threads).
 */
import { InferenceModel, resolveThreads, type LoadedModel, type ModelInput, type PredictResult } from '@gbp/core';
import { onnxBytes } from '../bench/onnx-model.js';
import { createOrtSession, ortFeeds } from '../export/onnx/ort.js';

import type { InferRuntime } from './runtimes.js';

export interface Predictor {
  readonly config: { readonly num_labels: number; readonly d_model: number; readonly max_len: number };
  /** How it runs, for the command's first line: `wasm, 2 threads (--threads)`. */
  readonly description: string;
  predict(input: ModelInput, options: { pooled?: boolean }): Promise<PredictResult>;
  dispose(): void;
}

/** `loaded` on `runtime` with `threads` (default: GBP_THREADS, else every core); `backend` is the TF.js backend in use. */
export async function createPredictor(loaded: LoadedModel, runtime: InferRuntime, threads: number | undefined, backend: string): Promise<Predictor> {
  const { config } = loaded;
  if (runtime === 'tfjs') {
    const model = InferenceModel.fromWeights(config, loaded.weights, loaded.task);
    try {
      const choice = await model.useThreads(threads, '--threads');
      return { config, description: `${backend}, ${choice.reason}`, predict: (input, options) => model.predict(input, options), dispose: () => model.dispose() };
    } catch (error) {
      model.dispose();
      throw error;
    }
  }
  // onnxruntime runs its own threads whatever the TF.js backend: resolve the count as for cpu.
  const choice = resolveThreads(threads, 'cpu', process.env, '--threads');
  const session = await createOrtSession(onnxBytes(config, loaded.weights), `the ONNX export of ${loaded.dir}`, { threads: choice.threads });
  return {
    config,
    description: `onnxruntime-node, ${choice.reason.replace(/^(\d+ threads?)/, '$1 intra-op')}`,
    async predict(input, options) {
      const out = await session.run(await ortFeeds(input));
      return { logits: out.logits!.data as Float32Array, ...(options.pooled && { pooled: out.pooler_output!.data as Float32Array }) };
    },
    dispose: () => void session.release().catch(() => undefined),
  };
}

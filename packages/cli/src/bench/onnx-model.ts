/**
 * A bench target on onnxruntime-node: the model's weights exported in memory to the same ONNX graph
 * `gbp export --format onnx` writes, run by an ORT session (float32, CPU).
 */
import type { ModelConfig, ModelInput, NamedTensor } from '@gbp/core';
import { bertOnnxModel } from '../export/onnx/bert-graph.js';
import { createOrtSession, ortFeeds } from '../export/onnx/ort.js';
import { encodeModel } from '../export/onnx/proto.js';
import type { BenchModel, BenchResult } from './measure.js';

/** The ONNX bytes of a model (what model.onnx of an export holds). */
export const onnxBytes = (config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>): Uint8Array => encodeModel(bertOnnxModel(config, weights, 'bench'));

/** A BenchModel running `bytes` on ORT with `threads` intra-op threads; `what` names the model in errors. */
export async function onnxBenchModel(config: ModelConfig, bytes: Uint8Array, params: number, threads: number, what: string): Promise<BenchModel> {
  const session = await createOrtSession(bytes, what, { threads });
  return {
    config,
    numParams: params,
    weightBytes: 4 * params,
    async logits(input: ModelInput): Promise<BenchResult> {
      const out = await session.run(await ortFeeds(input));
      const logits = out.logits!;
      // ORT's CPU outputs are already in host memory: reading them back costs nothing more.
      return { data: () => logits.data, dispose: () => logits.dispose() };
    },
    // Releasing only frees native memory; a failure there must not fail the bench that already measured.
    dispose: () => void session.release().catch(() => undefined),
  };
}

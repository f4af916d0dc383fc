/**
 * onnxruntime-node for gbp: loaded on first use (so commands that never run ONNX never load its
 * native binary), a session from a model's bytes, and gbp's ModelInput as ORT's int64 feeds.
 * Failures say which step failed with ORT's own message.
 */
import type { ModelInput } from '@gbp/core';
import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

let ort: Promise<OrtModule> | undefined;

/** onnxruntime-node, or an error saying its native binary did not load (its install script is skipped; the CPU binaries ship in the package). */
export function loadOrt(): Promise<OrtModule> {
  ort ??= import('onnxruntime-node').catch((error: unknown) => {
    ort = undefined;
    throw new Error(`onnxruntime-node could not be loaded (its native binary for ${process.platform}-${process.arch} ships in the package): ${(error as Error).message}`, { cause: error });
  });
  return ort;
}

export interface OrtSessionOptions {
  /** ORT's intraOpNumThreads: threads inside one op; 0 is ORT's default (one per physical core). */
  readonly threads?: number;
}

/** A session of the model `bytes`; `what` names the model in an error (ORT refusing it says why). */
export async function createOrtSession(bytes: Uint8Array, what: string, options: OrtSessionOptions = {}): Promise<OrtSession> {
  const { InferenceSession } = await loadOrt();
  try {
    return await InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads !== undefined && { intraOpNumThreads: options.threads }),
      // One session per benchmarked target: inter-op threads would only contend with them.
      interOpNumThreads: 1,
      // Idle intra-op threads sleep instead of spinning: a spinning pool takes the cores from gbp's
      // own threads (tfjs x2 measured 60 ms alone, 76 ms interleaved with spinning onnx x2 sessions).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    throw new Error(`onnxruntime-node refused ${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** The graph's inputs for `input`: input_ids, attention_mask, token_type_ids as int64 [batch, sequence]. */
export async function ortFeeds(input: ModelInput): Promise<Record<string, Ort.Tensor>> {
  const { Tensor } = await loadOrt();
  const dims = [input.batchSize, input.seqLen];
  const int64 = (values: ArrayLike<number>) => new Tensor('int64', BigInt64Array.from(Array.from(values, BigInt)), dims);
  return { input_ids: int64(input.inputIds), attention_mask: int64(input.attentionMask), token_type_ids: int64(input.typeIds) };
}

/** Synthetic batches for timing: token ids from a fixed seed, every position a real token (no padding). */
import { Rng, type ModelInput } from '@gbp/core';
import type { Shape } from './shapes.js';

export const INPUT_SEED = 1234;

/**
 * A batch of `shape` with ids uniform in [0, vocabSize), segment 0 and an all-ones attention mask:
 * padding would let a backend skip nothing, but it would make the work depend on the data drawn.
 */
export function syntheticInput(shape: Shape, vocabSize: number, seed = INPUT_SEED): ModelInput {
  const rng = Rng.derive(seed, `bench ${shape.batch}x${shape.seq}`);
  const n = shape.batch * shape.seq;
  const inputIds = new Int32Array(n);
  for (let i = 0; i < n; i++) inputIds[i] = rng.int(vocabSize);
  return { inputIds, typeIds: new Int32Array(n), attentionMask: new Float32Array(n).fill(1), batchSize: shape.batch, seqLen: shape.seq };
}

/** Padding a batch of encoded inputs to its longest one (per batch, not to max_len: short batches stay cheap). */
import type { Encoding } from '../tokenizer/bert-tokenizer.js';
import type { BatchInput } from './forward.js';

export function padBatch(items: readonly Encoding[], padId: number): BatchInput {
  const B = items.length;
  const T = Math.max(...items.map((e) => e.ids.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const typeIds = new Int32Array(B * T);
  const attentionMask = new Float32Array(B * T);
  items.forEach((e, i) => {
    inputIds.set(e.ids, i * T);
    typeIds.set(e.typeIds, i * T);
    attentionMask.fill(1, i * T, i * T + e.ids.length);
  });
  return { inputIds, typeIds, attentionMask, batchSize: B, seqLen: T };
}

/**
 * Batches padded to their own longest sequence. With length grouping, examples of similar length
 * share a batch so little compute goes to padding, while shuffling keeps epochs random: shuffle,
 * sort by length within chunks of ~50 batches, cut into batches, shuffle the batch order.
 */
import type { Rng } from '../rng.js';

/** A tokenised example: ids and segment ids from GbpTokenizer, and its label (class id or score). */
export type EncodedExample = { ids: Int32Array; typeIds: Int32Array; label: number };

export type Batch = {
  /** [batchSize, seqLen] row-major, padded with padId. */
  inputIds: Int32Array;
  /** [batchSize, seqLen], 0 on padding. */
  typeIds: Int32Array;
  /** [batchSize, seqLen]: 1 on real tokens, 0 on padding. */
  attentionMask: Float32Array;
  labels: Float32Array;
  batchSize: number;
  seqLen: number;
  /** Real (non-padding) tokens in the batch. */
  tokens: number;
  /** Position of each row's example in the input array (to line predictions up with examples). */
  indices: Int32Array;
};

export interface MakeBatchesOptions {
  /** Shuffle with this stream (it advances); without it the order is the input order. */
  rng?: Rng;
  /** Group similar lengths into the same batch (default true). */
  groupByLength?: boolean;
  padId: number;
}

/** Batches per sorting chunk: large enough to group lengths well, small enough to stay random. */
export const LENGTH_GROUP_CHUNK_BATCHES = 50;

/**
 * Cuts examples into batches of `batchSize` (the last one may be smaller), each padded to its own
 * longest sequence. Deterministic for a given rng state; every example appears exactly once.
 */
export function makeBatches(examples: readonly EncodedExample[], batchSize: number, opts: MakeBatchesOptions): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`makeBatches: batchSize must be a positive integer, got ${batchSize}`);
  const order = Array.from({ length: examples.length }, (_, i) => i);
  opts.rng?.shuffle(order);
  if (opts.groupByLength ?? true) {
    const chunk = batchSize * LENGTH_GROUP_CHUNK_BATCHES;
    for (let start = 0; start < order.length; start += chunk) {
      // stable sort: equal lengths keep their (shuffled) order
      const sorted = order.slice(start, start + chunk).sort((a, b) => examples[a]!.ids.length - examples[b]!.ids.length);
      order.splice(start, sorted.length, ...sorted);
    }
  }
  const groups: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) groups.push(order.slice(start, start + batchSize));
  opts.rng?.shuffle(groups);
  return groups.map((group) => padBatch(examples, group, opts.padId));
}

function padBatch(examples: readonly EncodedExample[], group: readonly number[], padId: number): Batch {
  let seqLen = 0;
  for (const i of group) seqLen = Math.max(seqLen, examples[i]!.ids.length);
  const batchSize = group.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(padId);
  const typeIds = new Int32Array(batchSize * seqLen);
  const attentionMask = new Float32Array(batchSize * seqLen);
  const labels = new Float32Array(batchSize);
  let tokens = 0;
  group.forEach((index, row) => {
    const example = examples[index]!;
    const offset = row * seqLen;
    inputIds.set(example.ids, offset);
    typeIds.set(example.typeIds, offset);
    attentionMask.fill(1, offset, offset + example.ids.length);
    labels[row] = example.label;
    tokens += example.ids.length;
  });
  return { inputIds, typeIds, attentionMask, labels, batchSize, seqLen, tokens, indices: Int32Array.from(group) };
}

/** Token ids and masks of a batch's rows, row-major (what the forward pass reads). */
export type BatchInput = Pick<Batch, 'inputIds' | 'typeIds' | 'attentionMask' | 'batchSize' | 'seqLen'>;

/** Rows [start, end) of `input`, trimmed to the longest real sequence among them (at least one column). */
export function sliceInput(input: BatchInput, start: number, end: number): BatchInput {
  const T = input.seqLen;
  let len = 1;
  for (let r = start; r < end; r++) {
    for (let c = T - 1; c >= len; c--) {
      if (input.attentionMask[r * T + c] !== 0) {
        len = c + 1;
        break;
      }
    }
  }
  const rows = end - start;
  const take = <A extends Int32Array | Float32Array>(src: A, make: (n: number) => A): A => {
    const out = make(rows * len);
    for (let r = 0; r < rows; r++) out.set(src.subarray((start + r) * T, (start + r) * T + len), r * len);
    return out;
  };
  return {
    inputIds: take(input.inputIds, (n) => new Int32Array(n)),
    typeIds: take(input.typeIds, (n) => new Int32Array(n)),
    attentionMask: take(input.attentionMask, (n) => new Float32Array(n)),
    batchSize: rows,
    seqLen: len,
  };
}

/** Rows [start, end) of a batch (a micro-batch or a thread's shard), trimmed like sliceInput. */
export function sliceBatch(batch: Batch, start: number, end: number): Batch {
  const input = sliceInput(batch, start, end);
  let tokens = 0;
  for (let i = 0; i < input.attentionMask.length; i++) tokens += input.attentionMask[i]!;
  return { ...input, labels: batch.labels.slice(start, end), indices: batch.indices.slice(start, end), tokens };
}

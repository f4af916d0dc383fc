import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { LENGTH_GROUP_CHUNK_BATCHES, makeBatches, type Batch, type EncodedExample } from './batching.js';

/** Example i has length lengths[i], ids 100*i + position, type ids 1 on its second half, label i. */
function examples(lengths: readonly number[]): EncodedExample[] {
  return lengths.map((length, i) => ({
    ids: Int32Array.from({ length }, (_, p) => 100 * i + p + 1),
    typeIds: Int32Array.from({ length }, (_, p) => (p >= length / 2 ? 1 : 0)),
    label: i,
  }));
}

const randomLengths = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 2 + rng.int(126));
};

const indices = (batches: Batch[]) => batches.flatMap((b) => Array.from(b.indices));
const paddedArea = (batches: Batch[]) => batches.reduce((sum, b) => sum + b.batchSize * b.seqLen, 0);

describe('makeBatches', () => {
  it('pads each batch to its own longest sequence (hand-checked)', () => {
    const batches = makeBatches(examples([2, 3, 1]), 2, { groupByLength: false, padId: 0 });
    expect(batches).toHaveLength(2);
    const [first, last] = batches as [Batch, Batch];
    expect(first).toMatchObject({ batchSize: 2, seqLen: 3, tokens: 5 });
    expect(Array.from(first.inputIds)).toEqual([1, 2, 0, 101, 102, 103]);
    expect(Array.from(first.typeIds)).toEqual([0, 1, 0, 0, 0, 1]);
    expect(Array.from(first.attentionMask)).toEqual([1, 1, 0, 1, 1, 1]);
    expect(Array.from(first.labels)).toEqual([0, 1]);
    expect(Array.from(first.indices)).toEqual([0, 1]);
    expect(last).toMatchObject({ batchSize: 1, seqLen: 1, tokens: 1 });
    expect(Array.from(last.inputIds)).toEqual([201]);
  });

  it('pads with padId', () => {
    const [batch] = makeBatches(examples([1, 3]), 2, { groupByLength: false, padId: 7 });
    expect(Array.from(batch!.inputIds)).toEqual([1, 7, 7, 101, 102, 103]);
  });

  it('uses every example exactly once, with its own label', () => {
    const input = examples(randomLengths(1003, 1));
    const batches = makeBatches(input, 32, { rng: new Rng(5), padId: 0 });
    expect(indices(batches).sort((a, b) => a - b)).toEqual(input.map((_, i) => i));
    expect(batches.map((b) => b.batchSize).filter((s) => s !== 32)).toEqual([1003 % 32]);
    for (const batch of batches) {
      batch.indices.forEach((index, row) => {
        expect(batch.labels[row]).toBe(index);
        expect(batch.inputIds[row * batch.seqLen]).toBe(100 * index + 1);
      });
      expect(batch.tokens).toBe(Array.from(batch.indices).reduce((s, i) => s + input[i]!.ids.length, 0));
    }
  });

  it('is deterministic for an rng state, and differs between seeds and epochs', () => {
    const input = examples(randomLengths(500, 2));
    const a = makeBatches(input, 16, { rng: new Rng(42), padId: 0 });
    expect(makeBatches(input, 16, { rng: new Rng(42), padId: 0 })).toEqual(a);
    expect(indices(makeBatches(input, 16, { rng: new Rng(43), padId: 0 }))).not.toEqual(indices(a));
    const rng = new Rng(42);
    const epoch1 = indices(makeBatches(input, 16, { rng, padId: 0 }));
    const epoch2 = indices(makeBatches(input, 16, { rng, padId: 0 }));
    expect(epoch1).toEqual(indices(a));
    expect(epoch2).not.toEqual(epoch1);
  });

  it('groups by length: far less padding than random batches', () => {
    const input = examples(randomLengths(4000, 3));
    const realTokens = input.reduce((s, e) => s + e.ids.length, 0);
    const grouped = makeBatches(input, 32, { rng: new Rng(1), padId: 0 });
    const random = makeBatches(input, 32, { rng: new Rng(1), groupByLength: false, padId: 0 });
    expect(paddedArea(grouped) / realTokens).toBeLessThan(1.1);
    expect(paddedArea(random) / realTokens).toBeGreaterThan(1.5);
  });

  it('sorts within chunks of ~50 batches and shuffles the batch order', () => {
    const batchSize = 2;
    const chunk = batchSize * LENGTH_GROUP_CHUNK_BATCHES;
    const input = examples(randomLengths(250, 4));
    // without an rng: input order, sorted within each chunk
    const ordered = makeBatches(input, batchSize, { padId: 0 });
    const lengths = indices(ordered).map((i) => input[i]!.ids.length);
    for (let start = 0; start < lengths.length; start += chunk) {
      const part = lengths.slice(start, start + chunk);
      expect(part).toEqual([...part].sort((x, y) => x - y));
      expect(indices(ordered).slice(start, start + chunk).sort((x, y) => x - y)).toEqual(
        Array.from({ length: part.length }, (_, k) => start + k),
      );
    }
    // with an rng: batch lengths are not in sorted runs any more
    const shuffled = makeBatches(input, batchSize, { rng: new Rng(9), padId: 0 }).map((b) => b.seqLen);
    const ascents = shuffled.slice(1).filter((len, k) => len >= shuffled[k]!).length;
    expect(ascents).toBeLessThan(shuffled.length * 0.75);
  });

  it('rejects a bad batch size and handles no examples', () => {
    expect(() => makeBatches([], 0, { padId: 0 })).toThrow(/positive integer, got 0/);
    expect(makeBatches([], 8, { padId: 0 })).toEqual([]);
  });
});

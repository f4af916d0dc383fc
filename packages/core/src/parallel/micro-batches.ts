/**
 * How one optimizer step's batch is cut for threads: contiguous shards of rows (one per thread),
 * each cut into micro-batches that fit memory, each carrying the dropout seeds one thread would have
 * drawn for it, in order. With one thread this is exactly the single-threaded step.
 */
import type { Batch } from '../data/index.js';
import type { DistillTarget } from '../model/loss.js';

/** One forward/backward pass: its rows, the dropout seeds its forward draws, and the teacher's logits when distilling. */
export interface MicroBatch {
  readonly batch: Batch;
  readonly seeds: readonly number[];
  readonly distill?: DistillTarget;
}

/** Row ranges [start, end) of `rows` split into at most `parts` contiguous shards, sizes differing by at most one. */
export function shardRows(rows: number, parts: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, rows));
  const shards: [number, number][] = [];
  for (let s = 0; s < n; s++) shards.push([Math.floor((s * rows) / n), Math.floor(((s + 1) * rows) / n)]);
  return shards;
}

/** A seed source over seeds drawn ahead; `finish` checks the forward drew every one (the count is the model's). */
export function seedList(seeds: readonly number[]): { next: () => number; finish: () => void } {
  let used = 0;
  return {
    next: () => {
      if (used >= seeds.length) throw new Error(`internal: the forward pass drew more than the ${seeds.length} dropout seeds drawn for it`);
      return seeds[used++]!;
    },
    finish: () => {
      if (used !== seeds.length) throw new Error(`internal: the forward pass drew ${used} dropout seeds, ${seeds.length} were drawn for it`);
    },
  };
}

/**
 * Batched prediction for `gbp infer`: rows are tokenised and cut into batches a chunk at a time,
 * sorted by length inside the chunk (little padding), and each chunk's predictions come back in
 * input order, so output can stream while memory stays bounded.
 */
import { makeBatches, type GbpTokenizer } from '@gbp/core';
import type { InferRow } from './input-rows.js';
import type { Predictor } from './predictor.js';

/** One row's outputs: logits [num_labels] and, when asked, the pooled [CLS] output [d_model]. */
export interface Prediction {
  logits: number[];
  pooled?: number[];
}

export interface PredictOptions {
  batchSize: number;
  /** Also return the pooler's output. */
  pooled: boolean;
  /** After every batch: rows predicted so far. */
  onProgress?: (done: number) => void;
  /** Stops between batches. */
  signal?: AbortSignal;
}

/** Batches sorted by length together: as many as makeBatches groups by length at once. */
export const CHUNK_BATCHES = 50;

/** Predictions of `rows` in their order, a chunk of rows at a time; tokens beyond the model's max_len are cut. */
export async function* predictRows(
  model: Predictor,
  tokenizer: GbpTokenizer,
  rows: readonly InferRow[],
  options: PredictOptions,
): AsyncGenerator<{ rows: readonly InferRow[]; predictions: Prediction[] }> {
  const chunk = options.batchSize * CHUNK_BATCHES;
  let done = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const encoded = await tokenizer.encodeBatch(
      part.map((row) => row.texts),
      model.config.max_len,
      options.signal ? { signal: options.signal } : {},
    );
    const examples = encoded.map((e) => ({ ids: e.ids, typeIds: e.typeIds, label: 0 }));
    const predictions = new Array<Prediction>(part.length);
    for (const batch of makeBatches(examples, options.batchSize, { padId: tokenizer.padId, groupByLength: true })) {
      options.signal?.throwIfAborted();
      const { logits, pooled } = await model.predict(batch, { pooled: options.pooled });
      const labels = model.config.num_labels;
      const width = model.config.d_model;
      batch.indices.forEach((index, row) => {
        predictions[index] = {
          logits: Array.from(logits.subarray(row * labels, (row + 1) * labels)),
          ...(pooled && { pooled: Array.from(pooled.subarray(row * width, (row + 1) * width)) }),
        };
      });
      done += batch.batchSize;
      options.onProgress?.(done);
      // lets a signal handler run between batches
      await new Promise((resolve) => setImmediate(resolve));
    }
    yield { rows: part, predictions };
  }
}

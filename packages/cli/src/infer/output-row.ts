/** What `gbp infer` writes for a row: the input's fields plus the model's outputs. */
import type { InferRow } from './input-rows.js';
import type { Prediction } from './predict.js';

/** The predicted label: the argmax class id, or the score itself for a regression head (one output). */
export function predictedLabel(logits: readonly number[]): number {
  if (logits.length === 1) return logits[0]!;
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * The row's fields, then `logits`, `label` (predicted) and, with --pooled, `pooler_output`.
 * A gold `label` the row had moves to `input_label`, so the prediction does not erase it.
 */
export function outputRow(row: InferRow, prediction: Prediction): Record<string, unknown> {
  const { label: gold, ...fields } = row.fields;
  return {
    ...fields,
    ...(gold !== undefined && { input_label: gold }),
    logits: prediction.logits,
    label: predictedLabel(prediction.logits),
    ...(prediction.pooled && { pooler_output: prediction.pooled }),
  };
}

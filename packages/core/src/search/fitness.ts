/**
 * A sub-network's validation metrics with the weights it inherits from the supernet: the search's
 * fitness. The sub-network is copied out as a compacted InferenceModel (subnetWeights) rather than
 * sliced from the supernet's variables on every batch: plain weights hit the wasm backend's
 * packed-weight cache, and the copy costs less than re-slicing each batch.
 */
import { tf } from '../tf.js';
import { computeMetrics, makeBatches } from '../data/index.js';
import type { TaskName } from '../spec.js';
import type { Metrics } from '../events.js';
import type { GatedBert } from '../model/index.js';
import { InferenceModel } from '../model/inference.js';
import { lossSum } from '../model/loss.js';
import { argmax, type EvalResult, type EvalSet } from '../train/index.js';
import { subnetWeights } from './subnet.js';
import type { SubnetArch } from './space.js';

export interface SubnetEvalOptions {
  readonly task: TaskName;
  readonly padId: number;
  readonly batchSize: number;
  /** Threads of the forward passes (InferenceModel.useThreads); 1 stays on this thread. */
  readonly threads: number;
}

/** Loss and metrics of sub-network `arch` of `model` on each of `sets`, in order; `tokens` counts the real tokens read. */
export async function evaluateSubnet(model: GatedBert, arch: SubnetArch, sets: readonly EvalSet[], options: SubnetEvalOptions): Promise<{ results: EvalResult[]; tokens: number }> {
  const { config, weights } = subnetWeights(model, arch);
  const sub = InferenceModel.fromWeights(config, weights);
  const numLabels = config.num_labels;
  let tokens = 0;
  try {
    if (options.threads > 1) await sub.useThreads(options.threads, 'train.threads');
    const results: EvalResult[] = [];
    for (const set of sets) {
      const predictions = new Float32Array(set.examples.length);
      const labels = new Float32Array(set.examples.length);
      let filled = 0;
      let loss = 0;
      for (const batch of makeBatches(set.examples, options.batchSize, { padId: options.padId })) {
        const { logits } = await sub.predict(batch);
        const batchLoss = tf.tidy(() => lossSum(tf.tensor2d(logits, [batch.batchSize, numLabels]), batch.labels, numLabels));
        loss += batchLoss.dataSync()[0]!;
        batchLoss.dispose();
        for (let r = 0; r < batch.batchSize; r++) {
          predictions[filled + r] = numLabels === 1 ? logits[r]! : argmax(logits, r * numLabels, numLabels);
          labels[filled + r] = batch.labels[r]!;
        }
        filled += batch.batchSize;
        tokens += batch.tokens;
      }
      const metrics: Metrics = computeMetrics(options.task, predictions, labels);
      results.push({ split: set.split, loss: loss / Math.max(1, filled), metrics });
    }
    return { results, tokens };
  } finally {
    sub.dispose();
  }
}

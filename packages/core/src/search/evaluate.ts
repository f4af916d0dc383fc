/**
 * A sub-network's validation loss and metrics with the weights it inherits from a supernet: its
 * slice of the live variables (subnetLookup), forward with dropout off, batch by batch. What the
 * supernet job reports for its largest and smallest sub-networks, and the fitness a search scores.
 */
import { tf } from '../tf.js';
import { forward, type GatedBert } from '../model/encoder.js';
import { lossSum } from '../model/loss.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import type { Metrics } from '../events.js';
import { argmax } from '../train/trainer.js';
import type { SubnetArch } from './space.js';
import { subnetLookup } from './subnet.js';

export interface SubnetEvalSet {
  readonly split: string;
  readonly examples: readonly EncodedExample[];
}

export interface SubnetEvalOptions {
  readonly batchSize: number;
  readonly padId: number;
  readonly computeMetrics: (predictions: ArrayLike<number>, labels: ArrayLike<number>) => Metrics;
}

/** Loss (mean per example) and metrics of `arch` on one evaluation set. */
export function evaluateSubnet(model: GatedBert, arch: SubnetArch, set: SubnetEvalSet, options: SubnetEvalOptions): { split: string; loss: number; metrics: Metrics } {
  const { config, lookup } = subnetLookup(model, arch);
  const n = config.num_labels;
  const predictions = new Float32Array(set.examples.length);
  const labels = new Float32Array(set.examples.length);
  let filled = 0;
  let loss = 0;
  for (const batch of makeBatches(set.examples, options.batchSize, { padId: options.padId })) {
    const [logitsT, lossT] = tf.tidy(() => {
      const logits = forward(config, lookup, batch, { training: false });
      return [logits, lossSum(logits, batch.labels, n)] as const;
    });
    // Read outside tidy (a read inside tf.tidy is ~50x slower on wasm).
    const logits = logitsT.dataSync();
    loss += lossT.dataSync()[0]!;
    tf.dispose([logitsT, lossT]);
    for (let r = 0; r < batch.batchSize; r++) {
      predictions[filled + r] = n === 1 ? logits[r]! : argmax(logits, r * n, n);
      labels[filled + r] = batch.labels[r]!;
    }
    filled += batch.batchSize;
  }
  return { split: set.split, loss: loss / Math.max(1, filled), metrics: options.computeMetrics(predictions, labels) };
}

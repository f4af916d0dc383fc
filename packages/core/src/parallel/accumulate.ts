/**
 * The gradient of a shard: micro-batch by micro-batch, summed in order. The one loop the trainer's own
 * thread and every replica run, so a shard gives the same sum wherever it is computed.
 */
import { tf } from '../tf.js';
import { seedList, type MicroBatch } from './micro-batches.js';

/** Loss and gradients (in specs order) of one micro-batch, its forward drawing dropout seeds from `dropoutSeed`. */
export type MicroStep = (micro: MicroBatch, dropoutSeed: () => number) => { value: tf.Scalar; grads: tf.Tensor[] };

/** The summed loss and gradients of `micros`; the caller owns the gradients. */
export function accumulateGradients(micros: readonly MicroBatch[], step: MicroStep): { loss: number; grads: tf.Tensor[] } {
  let accumulated: tf.Tensor[] | null = null;
  let lossTotal = 0;
  for (const micro of micros) {
    const seeds = seedList(micro.seeds);
    const { value, grads } = step(micro, seeds.next);
    seeds.finish();
    lossTotal += value.dataSync()[0]!;
    value.dispose();
    if (accumulated === null) {
      accumulated = grads;
    } else {
      // One gradient at a time, freeing both addends at once: the sum reuses their space instead of
      // holding three copies of every gradient and fragmenting the wasm heap.
      accumulated = accumulated.map((g, i) => {
        const sum = tf.add(g, grads[i]!);
        g.dispose();
        grads[i]!.dispose();
        return sum;
      });
    }
  }
  if (accumulated === null) throw new Error('internal: a shard without micro-batches');
  return { loss: lossTotal, grads: accumulated };
}

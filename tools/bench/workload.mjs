// @ts-check
/**
 * The synthetic training workload the benches share (throughput.mjs, wasm-threads.mjs): full-length
 * sequences, one batch, and a Trainer with the step runJob uses, so their figures compare.
 */
import { GatedBert, HookRegistry, Trainer, makeBatches } from '@gbp/core/internal';

/**
 * @typedef {import('@gbp/core/internal').ModelConfig} ModelConfig
 * @typedef {import('@gbp/core/internal').EncodedExample} EncodedExample
 * @typedef {import('@gbp/core/internal').Batch} Batch
 * @typedef {import('@gbp/core/internal').Rng} Rng
 * @typedef {import('@gbp/core/internal').ReplicaPool} ReplicaPool
 */

export const NUM_LABELS = 2;

/** Process CPU time (every thread), ms. */
export const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Full-length synthetic sequences: [CLS]-like id 2, random ids, segment ids 0 then 1.
 * @param {number} n @param {number} T @param {number} vocab @param {Rng} rng
 * @returns {EncodedExample[]}
 */
export function syntheticExamples(n, T, vocab, rng) {
  return Array.from({ length: n }, (_, i) => {
    const ids = new Int32Array(T);
    const typeIds = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      ids[t] = t === 0 ? 2 : 5 + rng.int(vocab - 5);
      typeIds[t] = t < T / 2 ? 0 : 1;
    }
    return { ids, typeIds, label: i % NUM_LABELS };
  });
}

/**
 * The examples as one batch.
 * @param {EncodedExample[]} examples
 * @returns {Batch}
 */
export function oneBatch(examples) {
  const [batch] = makeBatches(examples, examples.length, { padId: 0 });
  if (!batch) throw new Error(`bench: no batch from ${examples.length} examples`);
  return batch;
}

/**
 * A model (seed 42) and its Trainer: batch_size `batch`, micro_batch_size `micro` (else the
 * trainer's default), lr 1e-4, dropout on, no evaluation; `replicas` for more threads.
 * @param {ModelConfig} config @param {EncodedExample[]} examples @param {number} batch
 * @param {number | undefined} micro @param {ReplicaPool | undefined} [replicas]
 */
export function benchTrainer(config, examples, batch, micro, replicas) {
  const model = new GatedBert(config, { seed: 42 });
  const trainer = new Trainer({
    model,
    train: {
      epochs: 1,
      batch_size: batch,
      ...(micro ? { micro_batch_size: micro } : {}),
      learning_rate: 1e-4,
      weight_decay: 0.01,
      warmup_ratio: 0.1,
      max_grad_norm: 1,
      seed: 42,
      checkpoint_every_epoch: false,
    },
    numLabels: NUM_LABELS,
    trainExamples: examples,
    evalSets: [],
    padId: 0,
    computeMetrics: () => ({}),
    hooks: new HookRegistry(),
    sparsity: () => 0,
    ...(replicas ? { replicas } : {}),
  });
  return {
    model,
    trainer,
    dispose: () => {
      trainer.optimizer.dispose();
      model.dispose();
    },
  };
}

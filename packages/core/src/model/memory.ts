/**
 * How much of the wasm heap training needs, and the largest micro-batch that fits. The wasm heap
 * stops at 4 GB and holds everything at once: weights, masks and both AdamW moments for the whole
 * run, and during a step the W ⊙ M copies, gradients and activations. Calibrated against the heap's
 * high-water mark (tfjs-backend-wasm 4.22 with heap growth made exact, one process per
 * measurement; tiny, small and base, vocab 2000 and 30522, T 64 and 128, micro-batch 1-8, with and
 * without accumulation): the estimate is 4-21% above every measurement, base at 128 tokens 9%.
 * Those are single steps on a fresh heap; later steps fragment it (see FRAGMENTATION_RESERVE).
 */
import { BackendMemoryError } from '../backend/errors.js';
import { parameterSpecs, type ModelConfig } from './config.js';

/** The most the wasm heap can grow to (Emscripten's heap maximum in tfjs-backend-wasm 4.22: 4 GB less one 64 KiB page). */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3 - 64 * 1024;

const FLOAT_BYTES = 4;

/**
 * Part of the heap the estimate must leave free. Freed tensors leave holes that later, larger ones
 * (embedding-sized: gradient, clipped copy, AdamW outputs) do not fit, so the heap creeps up over
 * steps: base at T 45-66, micro-batch 2 of 24, peaked at 3.93, 4.11, 4.21 GB in steps 1-4; base at
 * T 128, one example at a time of 8, at 4.04, 4.04, 4.14, 4.14, 4.23 GB in steps 1-5 (the estimate of
 * a single step: 4.20 GB).
 */
export const FRAGMENTATION_RESERVE = 0.1;

/** What training a model at one sequence length holds in the heap, in bytes. */
export interface TrainingMemory {
  /** Weights, masks and both AdamW moments: resident for the whole run (exactly what tf.memory() counts). */
  readonly residentBytes: number;
  /**
   * Held during a step besides activations: the W ⊙ M copies the forward uses and the packed copy
   * XNNPACK's matmul keeps of each, the micro-batch's gradients, and three more copies of the
   * largest parameter (the embedding: its gradient, and the fused AdamW outputs, which land above
   * the heap the backward pass left fragmented).
   */
  readonly stepBytes: number;
  /** The gradients summed so far, held while the next micro-batch runs (when there is more than one). */
  readonly accumulatorBytes: number;
  /** Activations and intermediate gradients of one example of `seqLen` tokens. */
  readonly bytesPerExample: number;
  /** Held while evaluating besides activations: W ⊙ M and its packed copy. */
  readonly evalStepBytes: number;
  /** Forward-only activations of one evaluation example (tf.tidy keeps them until the batch is done). */
  readonly evalBytesPerExample: number;
}

/**
 * Activation floats per token and layer: measured 26-29K for tiny, 47-57K for small, ~80K for base
 * (at T = 128, fitted with the fixed parts above); the attention probabilities grow with H·T.
 */
function activationFloatsPerTokenLayer(config: ModelConfig, seqLen: number): number {
  return 100 * config.d_model + 8 * config.dff + 10 * config.num_heads * seqLen;
}

/** The heap training `config` at sequences of `seqLen` tokens needs, by part. */
export function trainingMemory(config: ModelConfig, seqLen: number): TrainingMemory {
  let params = 0;
  let gated = 0;
  let largest = 0;
  for (const spec of parameterSpecs(config)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    params += size;
    if (spec.gate !== undefined) gated += size;
    largest = Math.max(largest, size);
  }
  const perExample = seqLen * config.num_layers * activationFloatsPerTokenLayer(config, seqLen);
  return {
    residentBytes: FLOAT_BYTES * (3 * params + gated),
    stepBytes: FLOAT_BYTES * (2 * gated + params + 3 * largest),
    accumulatorBytes: FLOAT_BYTES * params,
    bytesPerExample: FLOAT_BYTES * perExample,
    evalStepBytes: FLOAT_BYTES * 2 * gated,
    // Measured 0.25-0.27 of this estimate of a training example (tiny, small and base at T = 128).
    evalBytesPerExample: (FLOAT_BYTES * perExample * 3) / 10,
  };
}

/** How a step computes its gradient: `sandwich` (a supernet step) also holds the micro-batch's sum over its sub-networks. */
export interface StepKind {
  readonly sandwich?: boolean;
}

/** Estimated heap peak of one optimizer step over a batch of `batchSize` in micro-batches of `micro`. */
export function trainingStepBytes(memory: TrainingMemory, micro: number, batchSize: number, kind: StepKind = {}): number {
  const sums = (micro < batchSize ? 1 : 0) + (kind.sandwich ? 1 : 0);
  return memory.residentBytes + memory.stepBytes + sums * memory.accumulatorBytes + micro * memory.bytesPerExample;
}

/** Estimated heap peak of evaluating a batch of `batchSize` (no gradients). */
export function evalBatchBytes(memory: TrainingMemory, batchSize: number): number {
  return memory.residentBytes + memory.evalStepBytes + batchSize * memory.evalBytesPerExample;
}

/** Thrown before training when even one example at a time does not fit the heap. */
export class TrainingMemoryError extends BackendMemoryError {
  override name = 'TrainingMemoryError';
}

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/**
 * The largest power-of-two micro-batch (at most `batchSize`) whose estimated step fits `heapBytes`
 * less FRAGMENTATION_RESERVE.
 * Throws a TrainingMemoryError naming the model, the estimate and what to change when even one
 * example at a time does not fit.
 */
export function autoMicroBatchSize(
  config: ModelConfig,
  seqLen: number,
  batchSize: number,
  heapBytes = WASM_HEAP_BYTES,
  kind: StepKind = {},
): number {
  const memory = trainingMemory(config, seqLen);
  const fits = (micro: number) => trainingStepBytes(memory, micro, batchSize, kind) <= heapBytes * (1 - FRAGMENTATION_RESERVE);
  if (fits(batchSize)) return batchSize;
  if (!fits(1)) throw tooBig(config, seqLen, batchSize, memory, heapBytes, kind);
  let micro = 1;
  while (micro * 2 < batchSize && fits(micro * 2)) micro *= 2;
  return micro;
}

/** The largest evaluation batch (at most `batchSize`, at least 1) whose estimated forward pass fits `heapBytes` less FRAGMENTATION_RESERVE. */
export function autoEvalBatchSize(config: ModelConfig, seqLen: number, batchSize: number, heapBytes = WASM_HEAP_BYTES): number {
  const memory = trainingMemory(config, seqLen);
  const room = heapBytes * (1 - FRAGMENTATION_RESERVE) - evalBatchBytes(memory, 0);
  return Math.max(1, Math.min(batchSize, Math.floor(room / memory.evalBytesPerExample)));
}

function tooBig(config: ModelConfig, seqLen: number, batchSize: number, memory: TrainingMemory, heapBytes: number, kind: StepKind): TrainingMemoryError {
  const total = trainingStepBytes(memory, 1, batchSize, kind);
  const params = (memory.accumulatorBytes / FLOAT_BYTES / 1e6).toFixed(1);
  return new TrainingMemoryError(
    `model ${config.size} (${params}M parameters, ${config.num_layers} layers, d_model ${config.d_model}) cannot train at ${seqLen} tokens on the wasm backend: ` +
      `even one example per micro-batch needs an estimated ${gb(total)} (weights, masks and AdamW moments ${gb(memory.residentBytes)}, ` +
      `gradients and W⊙M copies ${gb(total - memory.residentBytes - memory.bytesPerExample)}, activations ${gb(memory.bytesPerExample)}) ` +
      `of the ${gb(heapBytes * (1 - FRAGMENTATION_RESERVE))} usable (the ${gb(heapBytes)} wasm heap less ${FRAGMENTATION_RESERVE * 100}% that fragmentation takes over steps). ` +
      `${memory.residentBytes + memory.stepBytes > heapBytes * (1 - FRAGMENTATION_RESERVE) ? 'The model alone does not fit: choose a smaller model.size' : 'Lower model.max_len or choose a smaller model.size'}, or use a native backend ` +
      `(run.backend: tensorflow or cuda, after npm install @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu).`,
  );
}

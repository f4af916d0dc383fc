/**
 * The supernet job's parts (runJob when spec.supernet is set): its search space checked against the
 * model before any work, one thread, DynaBERT's rewiring at the start of a fresh run, and
 * `<job>/supernet.json`: the space, the rewiring, and at the end the validation metrics of the
 * largest and the smallest sub-network with the trained shared weights. A search job starts from
 * this job's final checkpoint (init_checkpoint) and reads the same space from its own spec.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobSpec } from '../spec.js';
import type { LogLevel, Metrics } from '../events.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { makeBatches, sliceBatch, type EncodedExample } from '../data/index.js';
import { layerDff, layerHeads, type GatedBert, type ModelConfig } from '../model/index.js';
import { autoMicroBatchSize } from '../model/memory.js';
import { tf } from '../tf.js';
import { combineMetrics, evalBatchSize, type EvalSet } from '../train/index.js';
import { archKey, largestArch, resolveSearchSpace, smallestArch, type SearchSpace, type SubnetArch } from '../search/space.js';
import { rewire, structureImportance } from '../search/rewire.js';
import { evaluateSubnet } from '../search/fitness.js';

type Log = (level: LogLevel, message: string) => void;

export const SUPERNET_RECORD = 'supernet.json';

/** A sub-network's validation result with the supernet's shared weights. */
export interface SubnetResult {
  readonly arch: SubnetArch;
  readonly key: string;
  readonly eval_loss: number;
  readonly metrics: Metrics;
}

/** What `<job>/supernet.json` holds. */
export interface SupernetRecord {
  readonly space: SearchSpace;
  readonly random_subnets: number;
  /** The orders applied (new position i holds old head/neuron order[i]), per layer; null when supernet.rewire is off. */
  readonly rewired: { readonly importance_batches: number; readonly heads: number[][]; readonly neurons: number[][] } | null;
  /** Written when the job finishes. */
  readonly largest?: SubnetResult;
  readonly smallest?: SubnetResult;
}

/** The job's space, checked against the model: a SearchSpaceError names each bad `supernet.space.*` value. */
export const supernetSpace = (supernet: NonNullable<JobSpec['supernet']>, config: ModelConfig): SearchSpace =>
  resolveSearchSpace(supernet.space, config, 'supernet.space');

/**
 * The space's largest sub-network, with a warning when it is smaller than the model: the epoch
 * evaluations are then of the full model, whose parts outside the space are never trained.
 */
export function warnIfLargestIsNotTheModel(space: SearchSpace, config: ModelConfig, log: Log): void {
  const largest = largestArch(space);
  const full = largest.layers === config.num_layers && largest.heads.every((h, i) => h === layerHeads(config, i)) && largest.ffn.every((f, i) => f === layerDff(config, i));
  if (!full) {
    log('warn', `supernet.space: its largest sub-network ${archKey(largest)} is smaller than the model (${config.num_layers} layers, ${config.num_heads} heads, FFN ${config.dff}); the epoch evaluations are of the full model, whose parts outside the space are not trained: ${SUPERNET_RECORD} has the largest's metrics`);
  }
}

/**
 * DynaBERT's rewiring of a fresh run: head and neuron importance over the first `importance_batches`
 * training batches (in data order: the same every run), then every layer reordered,
 * most important first. A batch is cut into micro-batches (train.micro_batch_size, or on wasm what
 * fits the heap) that add up to the batch's importance.
 */
export function rewireSupernet(model: GatedBert, supernet: NonNullable<JobSpec['supernet']>, train: JobSpec['train'], examples: readonly EncodedExample[], padId: number, log: Log): SupernetRecord['rewired'] {
  // In data order, not grouped by length (which would measure on the shortest examples only).
  const batches = makeBatches(examples, train.batch_size, { padId, groupByLength: false }).slice(0, supernet.importance_batches);
  const parts = batches.flatMap((batch) => {
    const micro = train.micro_batch_size ?? (tf.getBackend() === 'wasm' ? autoMicroBatchSize(model.config, batch.seqLen, batch.batchSize) : batch.batchSize);
    const cuts = [];
    for (let from = 0; from < batch.batchSize; from += micro) cuts.push({ ...sliceBatch(batch, from, Math.min(batch.batchSize, from + micro)), divisor: batch.batchSize });
    return cuts;
  });
  const orders = rewire(model, structureImportance(model, parts));
  const moved = (order: number[]) => order.filter((from, to) => from !== to).length;
  const heads = orders.heads.reduce((sum, o) => sum + moved(o), 0);
  const neurons = orders.neurons.reduce((sum, o) => sum + moved(o), 0);
  log('info', `rewired the supernet by importance over ${batches.length} training batches: ${heads} heads and ${neurons} FFN neurons moved, most important first in every layer (orders in ${SUPERNET_RECORD})`);
  return { importance_batches: batches.length, heads: orders.heads, neurons: orders.neurons };
}

export async function writeSupernetRecord(outputDir: string, record: SupernetRecord): Promise<string> {
  const path = join(outputDir, SUPERNET_RECORD);
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

/**
 * The record a resumed job wrote when it started (its rewiring cannot be measured again: the weights
 * have moved), refused when the resumed spec trains another space or another sandwich.
 */
export async function readSupernetRecord(outputDir: string, expected: Pick<SupernetRecord, 'space' | 'random_subnets'>): Promise<SupernetRecord> {
  const path = join(outputDir, SUPERNET_RECORD);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot resume the supernet job: ${path} is missing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); it records the rewiring done at the start; run the job afresh (resume: false)`);
  }
  let record: SupernetRecord;
  try {
    record = JSON.parse(text) as SupernetRecord;
  } catch (error) {
    throw new Error(`cannot resume the supernet job: ${path} is not valid JSON (${(error as Error).message}); run the job afresh (resume: false)`);
  }
  for (const field of ['space', 'random_subnets'] as const) {
    const [was, now] = [JSON.stringify(record[field]), JSON.stringify(expected[field])];
    if (was !== now) {
      throw new Error(`cannot resume the supernet job: supernet.${field} is ${now}, but the job started with ${was} (${path}); resume with the same, or run the job afresh (resume: false)`);
    }
  }
  return record;
}

/** The largest and the smallest sub-network on the evaluation sets with the model's current weights. */
export async function finalSubnets(
  model: GatedBert,
  space: SearchSpace,
  evalSets: readonly EvalSet[],
  options: { task: JobSpec['task']; train: JobSpec['train']; padId: number },
): Promise<{ largest: SubnetResult; smallest: SubnetResult }> {
  // The full model's evaluation batch fits the heap, so any of its sub-networks' does.
  const batchSize = evalBatchSize(model.config, evalSets.flatMap((set) => set.examples), options.train);
  const result = async (arch: SubnetArch): Promise<SubnetResult> => {
    const { results } = await evaluateSubnet(model, arch, evalSets, { task: options.task, batchSize, padId: options.padId, threads: 1 });
    const rows = evalSets.reduce((sum, set) => sum + set.examples.length, 0);
    const loss = results.reduce((sum, r, i) => sum + r.loss * evalSets[i]!.examples.length, 0) / Math.max(1, rows);
    return { arch, key: archKey(arch), eval_loss: loss, metrics: combineMetrics(results) };
  };
  return { largest: await result(largestArch(space)), smallest: await result(smallestArch(space)) };
}

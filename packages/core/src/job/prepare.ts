/**
 * A job's inputs before training: the run folder (a resumed run keeps its timestamp and continues
 * from its newest intact checkpoint) and the encoded data (splits read, tokenizer loaded or trained).
 */
import type { JobSpec } from '../spec.js';
import type { LogLevel } from '../events.js';
import { throwIfAborted } from '../abort.js';
import { loadSplit, loadTokenizer, defaultCacheDir, type EncodedExample, type Example, type GbpTokenizer, type TaskInfo } from '../data/index.js';
import type { ModelConfig } from '../model/index.js';
import type { EvalSet } from '../train/index.js';
import { RunWriter, existingTimestamp, fileTimestamp } from '../results/index.js';
import { latestJobCheckpoint, type FoundJobCheckpoint } from './checkpoint.js';

type Log = (level: LogLevel, message: string, source?: string) => void;

/** Before training there is nothing to checkpoint: an abort just stops. */
export const BEFORE_TRAINING = 'the job was aborted before training started';

export interface OpenedRun {
  writer: RunWriter;
  /** The checkpoint a resume continues from; null for a fresh run. */
  resumed: FoundJobCheckpoint | null;
}

/**
 * The run's writer: on resume, the timestamp of the checkpoint (or of the results already there)
 * so the same files continue. A damaged newest checkpoint falls back to the one before; the
 * warnings are logged once the writer exists, so events.ndjson has them.
 */
export async function openRun(spec: JobSpec, startedAt: Date, log: Log, writeTo: (writer: RunWriter) => void): Promise<OpenedRun> {
  const skipped: string[] = [];
  const resumed = spec.resume ? await latestJobCheckpoint(spec.output_dir, (warning) => skipped.push(warning)) : null;
  const timestamp = resumed?.checkpoint.timestamp ?? (spec.resume ? await existingTimestamp(spec.output_dir, spec.method) : null) ?? fileTimestamp(startedAt);
  const writer = new RunWriter(spec.output_dir, spec.method, timestamp);
  writeTo(writer);
  for (const warning of skipped) log('warn', warning);
  if (resumed) log('info', `resuming from ${resumed.path}`);
  return { writer, resumed };
}

export interface PreparedData {
  train: EncodedExample[];
  evalSets: EvalSet[];
  padId: number;
  /** The tokenizer's vocabulary as vocab.txt text (the model folder ships it). */
  vocab: string;
}

async function encodeAll(tokenizer: GbpTokenizer, examples: readonly Example[], maxLen: number, signal: AbortSignal | undefined): Promise<EncodedExample[]> {
  const encoded = await tokenizer.encodeBatch(
    examples.map((e) => e.texts),
    maxLen,
    { signal },
  );
  return encoded.map((e, i) => ({ ids: e.ids, typeIds: e.typeIds, label: examples[i]!.label }));
}

/** Reads the train and eval splits, loads or trains the tokenizer, encodes everything. */
export async function prepareData(spec: JobSpec, task: TaskInfo, config: ModelConfig, log: Log, signal: AbortSignal | undefined): Promise<PreparedData> {
  const onProgress = (message: string) => log('info', message, 'data');
  const train = await loadSplit(spec.task, 'train', spec.data, { limit: spec.train.max_train_examples, onProgress, signal });
  const evalRaw: { split: string; examples: Example[] }[] = [];
  for (const split of task.evalSplits) {
    evalRaw.push({ split, examples: await loadSplit(spec.task, split, spec.data, { limit: spec.train.max_eval_examples, onProgress, signal }) });
  }
  const tokenizer = await loadTokenizer(spec.tokenizer, {
    vocabSize: config.vocab_size,
    trainTexts: function* () {
      for (const e of train) yield* e.texts;
    },
    cacheDir: spec.data.cache_dir ?? defaultCacheDir(),
    cacheLabel: spec.task,
    onProgress: (message) => log('info', message, 'tokenizer'),
    signal,
  });
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new Error(`tokenizer has ${tokenizer.vocabSize} tokens but model.vocab_size is ${config.vocab_size}; raise model.vocab_size`);
  }
  throwIfAborted(signal, BEFORE_TRAINING);
  const trainEncoded = await encodeAll(tokenizer, train, config.max_len, signal);
  const evalSets: EvalSet[] = [];
  for (const { split, examples } of evalRaw) evalSets.push({ split, examples: await encodeAll(tokenizer, examples, config.max_len, signal) });
  throwIfAborted(signal, BEFORE_TRAINING);
  return { train: trainEncoded, evalSets, padId: tokenizer.padId, vocab: tokenizer.vocabText() };
}

/**
 * The distillation teacher of a job (train.distill): loaded through model/source.ts (a gbp model
 * folder or a job folder), checked before training against the task (its label count) and the
 * job's tokenizer (the same vocabulary, else the ids it is fed mean other tokens to it), then run
 * once over the training examples, dropout off, in fixed batches. The logits are the same on every
 * run of the job, so a resumed job trains towards exactly what its first session did, and one
 * forward pass costs less than a teacher forward per step per epoch.
 */
import type { DistillSpec } from '../spec.js';
import type { LogLevel } from '../events.js';
import { yieldAndCheckAbort } from '../abort.js';
import { tf } from '../tf.js';
import { loadTokenizer, makeBatches, type EncodedExample } from '../data/index.js';
import { autoEvalBatchSize, InferenceModel, loadModel, type LoadedModel } from '../model/index.js';
import type { TrainerDistill } from '../train/index.js';
import { BEFORE_TRAINING } from './prepare.js';

type Log = (level: LogLevel, message: string, source?: string) => void;

export class TeacherError extends Error {
  readonly code = 'TEACHER_INVALID';
  constructor(ref: string, problem: string, options?: ErrorOptions) {
    super(`train.distill.teacher ${ref}: ${problem}`, options);
    this.name = 'TeacherError';
  }
}

export type Teacher = Pick<LoadedModel, 'ref' | 'dir' | 'config' | 'weights' | 'tokenizerPath' | 'lowercase'>;

/** Reads the teacher and refuses one whose classifier does not fit the task (`numLabels` outputs). */
export async function loadTeacher(distill: DistillSpec, numLabels: number): Promise<Teacher> {
  const ref = distill.teacher;
  let loaded: LoadedModel;
  try {
    // No numLabels: a classifier of another size must be refused, not replaced by a fresh one.
    loaded = await loadModel(ref);
  } catch (error) {
    throw new TeacherError(ref, (error as Error).message, { cause: error });
  }
  if (loaded.freshClassifier) throw new TeacherError(ref, `${loaded.dir} has no trained classifier; a teacher must be fine-tuned on the task`);
  if (loaded.config.num_labels !== numLabels) {
    throw new TeacherError(ref, `has ${loaded.config.num_labels} labels${loaded.task ? ` (task ${loaded.task})` : ''}, but the task has ${numLabels}`);
  }
  return loaded;
}

const tokensOf = (vocabText: string) => vocabText.replace(/\r?\n$/, '').split(/\r?\n/);

/**
 * Refuses a teacher whose vocabulary is not the job's token for token (`vocab` as vocab.txt text),
 * naming the first id where they differ; warns when it lowercases differently.
 */
export async function checkTeacherVocabulary(teacher: Teacher, vocab: string, lowercase: boolean, log: Log): Promise<void> {
  if (teacher.tokenizerPath === undefined) throw new TeacherError(teacher.ref, `${teacher.dir} has no vocab.txt or tokenizer.json to check its vocabulary against the job's`);
  // Read as the job reads its own (loadTokenizer), so the two texts compare like for like.
  const tokenizer = await loadTokenizer({ path: teacher.tokenizerPath, lowercase: teacher.lowercase }, { vocabSize: 0, trainTexts: () => [], cacheDir: '', cacheLabel: 'teacher' });
  const theirs = tokensOf(tokenizer.vocabText());
  const ours = tokensOf(vocab);
  const n = Math.min(theirs.length, ours.length);
  let differs = theirs.length === ours.length ? -1 : n;
  for (let i = 0; i < n; i++) {
    if (theirs[i] !== ours[i]) {
      differs = i;
      break;
    }
  }
  if (differs >= 0) {
    const at = (tokens: string[]) => (differs < tokens.length ? `'${tokens[differs]}'` : 'nothing');
    throw new TeacherError(
      teacher.ref,
      `its vocabulary (${teacher.tokenizerPath}, ${theirs.length} tokens) is not the job's (${ours.length} tokens): id ${differs} is ${at(theirs)} there and ${at(ours)} here; ` +
        'the teacher must use the tokenizer the job uses (set tokenizer.path to its vocab.txt)',
    );
  }
  if (teacher.lowercase !== lowercase) log('warn', `the teacher ${teacher.ref} was trained with lowercase ${teacher.lowercase}, this job tokenizes with lowercase ${lowercase}`, 'teacher');
}

export interface TeacherLogitsOptions {
  padId: number;
  /** Examples per forward pass (train.eval_batch_size, else train.batch_size), capped on wasm to fit the heap. */
  batchSize: number;
  log: Log;
  signal?: AbortSignal;
  /** The job's threads: each batch's rows split among them (the same count gives the same logits). */
  threads?: number;
}

/** The teacher's logits of every example, [examples.length, num_labels] row-major, in fixed (unshuffled) batches. */
export async function teacherLogits(teacher: Teacher, examples: readonly EncodedExample[], options: TeacherLogitsOptions): Promise<Float32Array> {
  const { config } = teacher;
  const longest = examples.reduce((m, e) => Math.max(m, e.ids.length), 1);
  if (longest > config.max_len) {
    throw new TeacherError(teacher.ref, `takes at most ${config.max_len} tokens, but training examples have up to ${longest} (lower model.max_len to ${config.max_len})`);
  }
  const batchSize = tf.getBackend() === 'wasm' ? autoEvalBatchSize(config, longest, options.batchSize) : options.batchSize;
  const batches = makeBatches(examples, batchSize, { padId: options.padId });
  const n = config.num_labels;
  const out = new Float32Array(examples.length * n);
  const model = InferenceModel.fromWeights(config, teacher.weights);
  const started = performance.now();
  let done = 0;
  let lastReport = started;
  try {
    if (options.threads !== undefined && options.threads > 1) await model.useThreads(options.threads);
    for (const batch of batches) {
      await yieldAndCheckAbort(options.signal, BEFORE_TRAINING);
      const { logits } = await model.predict(batch);
      batch.indices.forEach((example, row) => out.set(logits.subarray(row * n, (row + 1) * n), example * n));
      done += batch.batchSize;
      if (performance.now() - lastReport > 2000) {
        lastReport = performance.now();
        options.log('info', `teacher logits: ${done}/${examples.length} examples`, 'teacher');
      }
    }
  } finally {
    model.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  options.log('info', `teacher logits of ${examples.length} training examples computed in ${seconds.toFixed(1)} s (${batches.length} batches of up to ${batchSize}) from ${teacher.dir}`, 'teacher');
  return out;
}

/** The Trainer's distillation settings: the spec's alpha and temperature with the teacher's logits. */
export const trainerDistill = (distill: DistillSpec, logits: Float32Array): TrainerDistill => ({ alpha: distill.alpha, temperature: distill.temperature, teacherLogits: logits });

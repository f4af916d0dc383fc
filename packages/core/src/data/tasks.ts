/**
 * The GLUE task registry: field names and label ids exactly as the Hugging Face `glue` dataset
 * (nyu-mll/glue) has them, so every reader produces the same examples whatever the source.
 */
import { TASK_NAMES, type TaskName } from '../spec.js';

export interface TaskInfo {
  name: TaskName;
  /** The Hub's text columns, in model input order: one segment or a pair. */
  textFields: readonly string[];
  /** Number of classes; 1 means regression (stsb). */
  numLabels: number;
  isRegression: boolean;
  /** Name of each label id (for stsb the single regression target). */
  labelNames: readonly string[];
  /** The official GLUE metrics, as keys of computeMetrics' result. */
  metrics: readonly string[];
  /** The metric used to pick the best epoch. */
  primaryMetric: string;
  /** Splits evaluated after every epoch (mnli: matched and mismatched). */
  evalSplits: readonly string[];
}

const classification = (
  name: TaskName,
  textFields: readonly string[],
  labelNames: readonly string[],
  metrics: readonly string[] = ['accuracy'],
  primaryMetric = 'accuracy',
  evalSplits: readonly string[] = ['validation'],
): TaskInfo =>
  Object.freeze({
    name,
    textFields: Object.freeze([...textFields]),
    numLabels: labelNames.length,
    isRegression: false,
    labelNames: Object.freeze([...labelNames]),
    metrics: Object.freeze([...metrics]),
    primaryMetric,
    evalSplits: Object.freeze([...evalSplits]),
  });

const PAIR = ['sentence1', 'sentence2'] as const;

export const TASKS: Readonly<Record<TaskName, TaskInfo>> = Object.freeze({
  sst2: classification('sst2', ['sentence'], ['negative', 'positive']),
  cola: classification('cola', ['sentence'], ['unacceptable', 'acceptable'], ['matthews_correlation'], 'matthews_correlation'),
  mrpc: classification('mrpc', PAIR, ['not_equivalent', 'equivalent'], ['accuracy', 'f1'], 'f1'),
  rte: classification('rte', PAIR, ['entailment', 'not_entailment']),
  wnli: classification('wnli', PAIR, ['not_entailment', 'entailment']),
  qnli: classification('qnli', ['question', 'sentence'], ['entailment', 'not_entailment']),
  mnli: classification(
    'mnli',
    ['premise', 'hypothesis'],
    ['entailment', 'neutral', 'contradiction'],
    ['accuracy'],
    'accuracy',
    ['validation_matched', 'validation_mismatched'],
  ),
  stsb: Object.freeze({
    name: 'stsb',
    textFields: Object.freeze([...PAIR]),
    numLabels: 1,
    isRegression: true,
    labelNames: Object.freeze(['similarity']),
    metrics: Object.freeze(['pearson', 'spearman']),
    primaryMetric: 'pearson',
    evalSplits: Object.freeze(['validation']),
  }),
});

/** The registry entry of a task; throws naming the known tasks for anything else. */
export function getTask(name: TaskName): TaskInfo {
  const task = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
  if (!task) throw new Error(`unknown GLUE task '${String(name)}'; expected one of ${TASK_NAMES.join(', ')}`);
  return task;
}

/**
 * Every split a task has on the Hub: train, its eval splits and the matching unlabelled test
 * splits (label -1).
 */
export function taskSplits(task: TaskInfo): readonly string[] {
  return ['train', ...task.evalSplits, ...task.evalSplits.map((s) => s.replace('validation', 'test'))];
}

/** Test splits carry label -1 on the Hub (GLUE keeps their labels private). */
export const isUnlabelledSplit = (split: string): boolean => split.startsWith('test');

/** The metrics `gbp infer` prints for labelled rows: the task's official ones (core's computeMetrics). */
import { computeMetrics, getTask, TASK_NAMES, type TaskName } from '@gbp/core';
import { UsageError } from '../args.js';

export const isTaskName = (task: string | undefined): task is TaskName => (TASK_NAMES as readonly string[]).includes(task ?? '');

/**
 * The task whose metrics apply: --task, else the model folder's task, else none (accuracy for a
 * classifier, Pearson and Spearman for a score). A task whose label count is not the model's is refused.
 */
export function metricsTask(flagTask: string | undefined, modelTask: string | undefined, numLabels: number, modelRef: string): TaskName | undefined {
  const task = flagTask ?? (isTaskName(modelTask) ? modelTask : undefined);
  if (task === undefined) return undefined;
  if (!isTaskName(task)) throw new UsageError(`gbp infer: --task must be one of ${TASK_NAMES.join(', ')}, got '${task}'`);
  const expected = getTask(task).numLabels;
  if (expected !== numLabels) {
    const source = flagTask !== undefined ? `--task ${task}` : `the model's task ${task}`;
    throw new UsageError(`gbp infer: ${source} has ${expected} label${expected === 1 ? '' : 's'} but ${modelRef} has ${numLabels} outputs`);
  }
  return task;
}

/** Metrics of predictions against gold labels; with no task, accuracy (classes) or Pearson/Spearman (scores). */
export function inferMetrics(task: TaskName | undefined, numLabels: number, predictions: readonly number[], labels: readonly number[]): Record<string, number> {
  const scoring: TaskName = task ?? (numLabels === 1 ? 'stsb' : 'sst2'); // sst2: accuracy alone; stsb: pearson, spearman
  return computeMetrics(scoring, predictions, labels);
}

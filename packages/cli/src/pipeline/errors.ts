/** Located problems in a pipeline file, reported all at once. */

export type FieldPath = readonly (string | number)[];

export interface Location {
  line: number;
  column: number;
}

export interface PipelineIssue {
  file: string;
  line: number;
  column: number;
  /** The field, e.g. 'train.epochs' or 'matrix["model.size"][1]'; '' for the whole file. */
  path: string;
  /** What is wrong and what was expected. */
  message: string;
}

/** Formats a path the way a reader would type it: train.epochs, matrix["model.size"][1]. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

export function formatIssue(issue: PipelineIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Thrown when a pipeline file is invalid; `issues` holds every problem found, in file order. */
export class PipelineError extends Error {
  readonly code = 'PIPELINE_INVALID';
  readonly issues: readonly PipelineIssue[];
  constructor(issues: readonly PipelineIssue[]) {
    const sorted = [...issues].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
    const count = sorted.length === 1 ? '1 error' : `${sorted.length} errors`;
    super(`${count} in pipeline ${sorted[0]?.file ?? ''}:\n${sorted.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'PipelineError';
    this.issues = sorted;
  }
}

/** A value quoted in a message (core's, so file and job messages quote alike). */
export { describeValue } from '@gbp/core';

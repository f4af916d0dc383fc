/**
 * model.from in a pipeline, checked before any job runs: a local folder must be a model gbp can
 * start from (core's locateModel says what it is, or what it is not), reported at the field that
 * named it. A Hub id is fetched when its first job starts (a plan never downloads).
 */
import { isAbsolute } from 'node:path';
import { locateModel } from '@gbp/core';
import type { FieldPath, PipelineIssue } from './errors.js';
import type { PlannedJob } from './plan.js';
import type { ResolvedPipeline, ResolvedStage } from './resolve.js';

const AXIS = 'model.from';

/** Where this job's model.from was written: its matrix entry, the command line, or the defaults that set it. */
function fromPath(stage: ResolvedStage, job: PlannedJob): FieldPath | undefined {
  const values = stage.matrix[AXIS];
  const index = values && AXIS in job.axes ? values.indexOf(job.axes[AXIS]) : -1;
  if (index >= 0) return [...stage.paths.matrix, AXIS, index];
  if ((stage.forced.model as { from?: unknown } | undefined)?.from !== undefined) return undefined;
  return stage.paths.defaults(['model', 'from']);
}

/** Adds an issue for every local model.from of `jobs` that is not a model folder (one per field). */
export async function checkModelSources(stage: ResolvedStage, jobs: readonly PlannedJob[], pipeline: ResolvedPipeline, issues: PipelineIssue[]): Promise<void> {
  const checked = new Map<string, string | null>();
  const reported = new Set<string>();
  for (const job of jobs) {
    const from = job.spec.model.from;
    // A stage's job folder (model.from naming a stage) is made by the run, not there yet.
    if (from === undefined || !isAbsolute(from) || job.modelFrom !== undefined) continue;
    if (!checked.has(from)) {
      checked.set(
        from,
        await locateModel(from).then(
          () => null,
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        ),
      );
    }
    const problem = checked.get(from);
    if (!problem) continue;
    const path = fromPath(stage, job);
    const issue = path ? pipeline.source.issue(path, problem) : pipeline.source.issue([], `--from: ${problem}`);
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (!reported.has(key)) issues.push(issue);
    reported.add(key);
  }
}

/**
 * train.distill.teacher in a pipeline: a stage's name (listed in needs) gives each job the job of
 * that stage with the same values on its matrix axes, as init_from does, and that job's folder
 * (core finds its model/ there); an existing path relative to the pipeline file is made absolute
 * here so the worker, whatever its cwd, reads the same folder; org/name otherwise is a Hub id.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { absoluteModelRef, locateModel } from '@gbp/core';
import type { FieldPath, PipelineIssue } from './errors.js';
import { reportOnce } from './source.js';
import { sourceJobMatcher, type SourceMatch } from './match.js';
import { runsJobs } from './load.js';
import type { PlannedJob } from './plan.js';
import type { ResolvedPipeline, ResolvedStage } from './resolve.js';

const DISTILL_AXIS = 'train.distill';

/** Where this job's train.distill.teacher was written: its matrix entry, else the defaults that set it. */
function teacherPath(stage: ResolvedStage, job: PlannedJob): FieldPath {
  const values = stage.matrix[DISTILL_AXIS];
  const index = values && DISTILL_AXIS in job.axes ? values.indexOf(job.axes[DISTILL_AXIS]) : -1;
  return index >= 0 ? [...stage.paths.matrix, DISTILL_AXIS, index, 'teacher'] : stage.paths.defaults(['train', 'distill', 'teacher']);
}

/** Sets every distilled job's teacher to a job folder or an absolute path; problems go to `issues`, located at the field. */
export async function linkTeachers(
  stage: ResolvedStage,
  stageJobs: PlannedJob[],
  byStage: ReadonlyMap<string, readonly PlannedJob[]>,
  pipeline: ResolvedPipeline,
  issues: PipelineIssue[],
): Promise<void> {
  const paths = new Set<string>();
  const matchers = new Map<string, (job: PlannedJob) => SourceMatch>();
  // One issue per field, not one per job that shares it.
  const report = reportOnce(pipeline.source, issues);
  stageJobs.forEach((job, i) => {
    const distill = job.spec.train.distill;
    if (distill === undefined) return;
    const ref = distill.teacher;
    const at = () => teacherPath(stage, job);
    const named = pipeline.stages.find((s) => s.name === ref);
    if (named) {
      if (named === stage) return report(at(), `'${ref}' is this stage: a stage cannot distil from its own jobs`);
      if (!runsJobs(named)) return report(at(), `'${ref}' is ${named.report ? 'a report' : 'an export'} stage; it has no models to distil from`);
      if (!stage.needs.includes(ref)) return report(at(), `'${ref}' names a stage: list it in needs of stage '${stage.name}' to distil from its jobs`);
      let match = matchers.get(ref);
      if (!match) matchers.set(ref, (match = sourceJobMatcher(pipeline, ref, byStage.get(ref) ?? [])));
      const found = match(job);
      if ('problem' in found) return report(at(), `teacher: ${found.problem}`);
      stageJobs[i] = { ...job, teacherFrom: found.job.id, spec: { ...job.spec, train: { ...job.spec.train, distill: { ...distill, teacher: found.job.spec.output_dir } } } };
      return;
    }
    const path = isAbsolute(ref) ? ref : resolve(pipeline.dir, ref);
    if (!existsSync(path)) {
      // org/name is a Hub id, fetched when the job starts; a bare word is more likely a mistyped stage.
      if (ref.includes('/') && absoluteModelRef(ref, pipeline.dir) === ref) return;
      const stages = pipeline.stages.filter(runsJobs).map((s) => s.name);
      return report(at(), `'${ref}' is neither a stage (${stages.join(', ')}), an existing folder (looked for ${path}) nor a Hub id (org/name)`);
    }
    paths.add(path);
    stageJobs[i] = { ...job, spec: { ...job.spec, train: { ...job.spec.train, distill: { ...distill, teacher: path } } } };
  });
  // An existing folder must be a model: core's one resolver says what it is (no download: it exists).
  for (const path of paths) {
    try {
      await locateModel(path);
    } catch (error) {
      const job = stageJobs.find((j) => j.spec.train.distill?.teacher === path)!;
      report(teacherPath(stage, job), (error as Error).message);
    }
  }
}

/**
 * model.from naming a stage (listed in needs): each job starts from the model/ of a job of that
 * stage, as train.distill.teacher does. Matching: the source stage's axes that this job sets
 * itself (task, model size...) must agree; the source's other axes (e.g. search.budget, which a
 * fine-tuning job cannot carry) fan out: one job per source job, named by its values there.
 */
import { runsJobs } from './load.js';
import { getField } from './match.js';
import { describeValue, type FieldPath } from './errors.js';
import type { PlannedJob } from './plan.js';
import { axisField, type ResolvedPipeline, type ResolvedStage } from './resolve.js';

const AXIS = 'model.from';

/** The stage `merged.model.from` names, if it names one (a stage name has no '/', so never a path or Hub id). */
export function modelFromStage(merged: Record<string, unknown>, pipeline: ResolvedPipeline): ResolvedStage | undefined {
  const from = (merged.model as { from?: unknown } | undefined)?.from;
  return typeof from === 'string' ? pipeline.stages.find((s) => s.name === from) : undefined;
}

/** Where the model.from of the job made from `combo` was written: its matrix entry, else the defaults that set it. */
export function modelFromPath(stage: ResolvedStage, combo: Readonly<Record<string, unknown>>): FieldPath {
  const values = stage.matrix[AXIS];
  const index = values && AXIS in combo ? values.indexOf(combo[AXIS]) : -1;
  return index >= 0 ? [...stage.paths.matrix, AXIS, index] : stage.paths.defaults(['model', 'from']);
}

export type ModelSources = { jobs: readonly PlannedJob[]; fanOut: readonly string[] } | { problem: string };

/**
 * The jobs of `source` a job of `stage` (its partial spec `merged`) starts from, and the source's
 * axes they differ on (fanOut, for the job ids); or why there are none.
 */
export function modelSources(
  stage: ResolvedStage,
  source: ResolvedStage,
  merged: Record<string, unknown>,
  byStage: ReadonlyMap<string, readonly PlannedJob[]>,
): ModelSources {
  const ref = source.name;
  if (source === stage) return { problem: `'${ref}' is this stage: a stage cannot start from its own jobs' models` };
  if (!runsJobs(source)) return { problem: `'${ref}' is ${source.report ? 'a report' : 'an export'} stage; it has no models to start from` };
  if (!stage.needs.includes(ref)) return { problem: `'${ref}' names a stage: list it in needs of stage '${stage.name}' to start from its jobs' models` };
  const axes = Object.keys(source.matrix);
  const shared = axes.filter((axis) => getField(merged, axisField(axis)) !== undefined);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const jobs = (byStage.get(ref) ?? []).filter((src) => shared.every((axis) => same(getField(src.spec, axisField(axis)), getField(merged, axisField(axis)))));
  if (jobs.length === 0) {
    const what = shared.map((axis) => `${axisField(axis)}=${describeValue(getField(merged, axisField(axis)))}`).join(', ') || 'any values';
    return { problem: `no job of stage '${ref}' has ${what}` };
  }
  return { jobs, fanOut: axes.filter((axis) => !shared.includes(axis) && (source.matrix[axis]?.length ?? 0) > 1) };
}

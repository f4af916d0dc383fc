/**
 * How a job finds its job in an earlier stage (init_from, a distillation teacher): the one of that
 * stage with the same values on the stage's matrix axes, e.g. the dense job of the same task and size.
 */
import { describeValue } from './errors.js';
import type { PlannedJob } from './plan.js';
import { axisField, type ResolvedPipeline } from './resolve.js';

export const getField = (spec: unknown, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), spec);

export type SourceMatch = { job: PlannedJob } | { problem: string };

/** A lookup from a job to its job of stage `sourceStage` (whose jobs are `sourceJobs`), or why there is not exactly one. */
export function sourceJobMatcher(pipeline: ResolvedPipeline, sourceStage: string, sourceJobs: readonly PlannedJob[]): (job: PlannedJob) => SourceMatch {
  const stage = pipeline.stages.find((s) => s.name === sourceStage)!;
  const keys = Object.keys(stage.matrix).map(axisField);
  const keyOf = (job: PlannedJob) => JSON.stringify(keys.map((k) => getField(job.spec, k)));
  // Source jobs by their values on those axes: one lookup per job, not a scan.
  const byKey = new Map<string, PlannedJob[]>();
  for (const src of sourceJobs) {
    const key = keyOf(src);
    const group = byKey.get(key);
    if (group) group.push(src);
    else byKey.set(key, [src]);
  }
  return (job) => {
    const matches = byKey.get(keyOf(job)) ?? [];
    if (matches.length === 1) return { job: matches[0]! };
    const what = keys.map((k) => `${k}=${describeValue(getField(job.spec, k))}`).join(', ') || 'any values';
    return { problem: `job ${job.id}: ${matches.length === 0 ? 'no' : 'more than one'} job of stage '${sourceStage}' has ${what}` };
  };
}

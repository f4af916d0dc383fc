/**
 * Supernet and search jobs, checked at plan time: a search job starts from a supernet job
 * (init_from), takes its space when it sets none, and every space is checked against the job's
 * model (resolveSearchSpace) and reported at the field that set it, before any job runs.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { readModelConfig, resolveModelConfig, type JobSpec, type ModelConfig } from '@gbp/core';
import { resolveSearchSpace, SearchSpaceError } from '@gbp/core/internal';
import type { FieldPath, PipelineIssue } from './errors.js';
import { reportOnce } from './source.js';
import type { PlannedJob } from './plan.js';
import type { ResolvedPipeline, ResolvedStage } from './resolve.js';

type Section = 'supernet' | 'search';

/** Where this job's `<section>.space` was written: a matrix entry (of `<section>.space` or `<section>`), else the defaults that set it. */
function spacePath(stage: ResolvedStage, job: PlannedJob, section: Section): FieldPath {
  for (const [axis, inner] of [[`${section}.space`, []], [section, ['space']]] as const) {
    const values = stage.matrix[axis];
    const index = values && axis in job.axes ? values.indexOf(job.axes[axis]) : -1;
    if (index >= 0) return [...stage.paths.matrix, axis, index, ...inner];
  }
  return stage.paths.defaults([section, 'space']);
}

/**
 * The model config a job's space is checked against, or undefined where the plan cannot read it
 * without the run (a stage's job folder, a Hub id: a plan never downloads; a bad folder is reported by checkModelSources).
 */
async function modelConfigOf(job: PlannedJob, cache: Map<string, Promise<ModelConfig | undefined>>): Promise<ModelConfig | undefined> {
  const from = job.spec.model.from;
  if (from === undefined) return resolveModelConfig(job.spec.model);
  if (job.modelFrom !== undefined || !isAbsolute(from) || !existsSync(from)) return undefined;
  let config = cache.get(from);
  if (!config) cache.set(from, (config = readModelConfig(from).then((m) => m.config, () => undefined)));
  return config;
}

/** Adds located issues for search jobs without a supernet to start from and for bad spaces; sets inherited search spaces. */
export async function checkSearchJobs(
  stage: ResolvedStage,
  stageJobs: PlannedJob[],
  byStage: ReadonlyMap<string, readonly PlannedJob[]>,
  pipeline: ResolvedPipeline,
  issues: PipelineIssue[],
): Promise<void> {
  const report = reportOnce(pipeline.source, issues);
  const sourceJobs = stage.initFrom ? (byStage.get(stage.initFrom) ?? []) : [];
  // Jobs whose search space is their supernet's: checked with the supernet job, not again here.
  const inherited = new Set<string>();
  stageJobs.forEach((job, i) => {
    if (!job.spec.search) return;
    if (!stage.initFrom) {
      return report(stage.paths.stage, `job ${job.id} searches a supernet: set init_from to a stage whose jobs train one (a stage with supernet: { space: ... })`);
    }
    const source = sourceJobs.find((j) => j.id === job.initFrom);
    if (!source) return; // no matching job: linkInitCheckpoints said so
    const supernet = source.spec.supernet;
    if (!supernet) {
      return report([...stage.paths.stage, 'init_from'], `'${stage.initFrom}' trains no supernet (job ${source.id} has no supernet section): a search stage starts from a supernet stage's jobs`);
    }
    // The space searched is the supernet's unless the stage narrows it.
    if (job.spec.search.space === undefined) {
      inherited.add(job.id);
      stageJobs[i] = { ...job, spec: { ...job.spec, search: { ...job.spec.search, space: supernet.space } } as JobSpec };
    }
  });

  const configs = new Map<string, Promise<ModelConfig | undefined>>();
  for (const job of stageJobs) {
    for (const section of ['supernet', 'search'] as const) {
      const space = job.spec[section]?.space;
      if (space === undefined || (section === 'search' && inherited.has(job.id))) continue;
      const config = await modelConfigOf(job, configs);
      if (!config) continue;
      try {
        resolveSearchSpace(space, config, `${section}.space`);
      } catch (error) {
        if (!(error instanceof SearchSpaceError)) throw error;
        const at = spacePath(stage, job, section);
        for (const line of error.message.split('\n')) {
          const field = new RegExp(`^${section}\\.space\\.(\\w+):`).exec(line)?.[1];
          report(field && field in space ? [...at, field] : at, line);
        }
      }
    }
  }
}

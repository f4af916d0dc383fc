/**
 * Before a run with search jobs starts any job: each distinct latency model the search jobs need
 * is loaded from the cache or measured (nothing else running, so the timings are clean), and every
 * search job's budget is checked against it. A budget below the smallest sub-network fails the run
 * with the job, its budget's place in the file and core's message, before the output folder is claimed.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { getTask, initBackend, readModelConfig, resolveModelConfig, type BackendName, type ModelConfig } from '@gbp/core';
import {
  budgetMs,
  cachedLatencyModel,
  checkSearchBudget,
  latencyModelFor,
  latencyRequestOf,
  resolveSearchSpace,
  SearchSpaceError,
  type LatencyModel,
  type LatencyRequest,
  type SearchSpace,
} from '@gbp/core/internal';
import { PipelineError, type FieldPath, type PipelineIssue } from '../pipeline/errors.js';
import type { Plan, PlannedJob } from '../pipeline/plan.js';
import type { ResolvedPipeline } from '../pipeline/resolve.js';

/** One latency model and the search jobs that use it. */
export interface LatencyGroup {
  readonly request: LatencyRequest;
  readonly stages: readonly string[];
  readonly jobs: readonly { job: PlannedJob; config: ModelConfig; space: SearchSpace }[];
}

/**
 * The model a search job searches, built as the job builds it (the task's label count, a
 * model.from's config with the spec's max_len): the latency cache's key covers the config, so any
 * difference would measure again inside the job.
 */
async function searchedConfig(job: PlannedJob): Promise<ModelConfig> {
  const { model } = job.spec;
  const numLabels = getTask(job.spec.task).numLabels;
  if (model.from === undefined) return resolveModelConfig(model, numLabels);
  const { config } = await readModelConfig(model.from, { numLabels });
  return { ...config, max_len: model.max_len ?? config.max_len };
}

/** The plan's search jobs grouped by latency request (same model, space, settings and backend: one measurement). */
export async function latencyGroups(plan: Plan, pipeline: ResolvedPipeline): Promise<LatencyGroup[]> {
  const backends = new Map<BackendName, Promise<string>>();
  const backendName = (requested: BackendName) => {
    let name = backends.get(requested);
    if (!name) backends.set(requested, (name = initBackend(requested).then((b) => b.name)));
    return name;
  };
  const groups = new Map<string, { request: LatencyRequest; stages: string[]; jobs: LatencyGroup['jobs'][number][] }>();
  for (const job of plan.jobs) {
    const search = job.spec.search;
    // A model made by the run (model.from naming a stage) cannot be measured before it: its job measures it.
    if (!search?.space || job.modelFrom !== undefined) continue;
    if (job.spec.model.from !== undefined && isAbsolute(job.spec.model.from) && !existsSync(job.spec.model.from)) continue;
    const config = await searchedConfig(job);
    let space: SearchSpace;
    try {
      space = resolveSearchSpace(search.space, config, 'search.space');
    } catch (error) {
      // Checked at plan time where the model's config could be read; a Hub model's is read only now.
      if (!(error instanceof SearchSpaceError)) throw error;
      const stage = pipeline.stages.find((s) => s.name === job.stage)!;
      throw new PipelineError([pipeline.source.issue(stage.paths.defaults(['search', 'space']), `job ${job.id} (model ${job.spec.model.from}): ${error.message}`)]);
    }
    const request = latencyRequestOf(job.spec, config, await backendName(job.spec.backend));
    const key = JSON.stringify(request);
    const group = groups.get(key) ?? { request, stages: [], jobs: [] };
    groups.set(key, group);
    if (!group.stages.includes(job.stage)) group.stages.push(job.stage);
    group.jobs.push({ job, config, space });
  }
  return [...groups.values()];
}

/** Where a search job's budget was written: its matrix entry, else the defaults that set it. */
function budgetPath(pipeline: ResolvedPipeline, job: PlannedJob): FieldPath {
  const stage = pipeline.stages.find((s) => s.name === job.stage)!;
  for (const [axis, inner] of [['search.budget', []], ['search', ['budget']]] as const) {
    const values = stage.matrix[axis];
    const index = values && axis in job.axes ? values.indexOf(job.axes[axis]) : -1;
    if (index >= 0) return [...stage.paths.matrix, axis, index, ...inner];
  }
  return stage.paths.defaults(['search', 'budget']);
}

/** Where a search job's latency settings were written (the defaults that set them, else its stage). */
function latencyPath(pipeline: ResolvedPipeline, job: PlannedJob): FieldPath {
  const stage = pipeline.stages.find((s) => s.name === job.stage)!;
  const values = stage.matrix['search.latency'];
  const index = values && 'search.latency' in job.axes ? values.indexOf(job.axes['search.latency']) : -1;
  return index >= 0 ? [...stage.paths.matrix, 'search.latency', index] : stage.paths.defaults(['search', 'latency']);
}

/** Issues for the search jobs of `group` whose budget `model` says no sub-network of their space meets. */
export function budgetIssues(group: LatencyGroup, model: LatencyModel, pipeline: ResolvedPipeline): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  for (const { job, config, space } of group.jobs) {
    try {
      checkSearchBudget(model, config, space, job.spec.search!);
    } catch (error) {
      issues.push(pipeline.source.issue(budgetPath(pipeline, job), `job ${job.id}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  return issues;
}

export interface SearchLatencyOptions {
  /** One line of progress; `final` is false for a line the next one replaces (a terminal may redraw it). */
  readonly progress: (line: string, final: boolean) => void;
  readonly signal?: AbortSignal;
}

/**
 * gbp run, before any job: every latency model the plan's search jobs need, cached or measured
 * now; throws a PipelineError naming each search job whose budget no sub-network can meet.
 */
export async function prepareSearchLatency(plan: Plan, pipeline: ResolvedPipeline, options: SearchLatencyOptions): Promise<void> {
  const issues: PipelineIssue[] = [];
  for (const group of await latencyGroups(plan, pipeline)) {
    const what = `the ${group.stages.join(', ')} stage${group.stages.length > 1 ? 's' : ''}`;
    let measured: Awaited<ReturnType<typeof latencyModelFor>>;
    try {
      measured = await latencyModelFor(group.request, {
        onProgress: (done, total) => options.progress(`measuring latency of ${total} sub-networks for ${what}: ${done}/${total}`, done === total),
        ...(options.signal && { signal: options.signal }),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // A latency setting the fit refuses (too few samples): the file's fault, said at its search.latency.
      const { job } = group.jobs[0]!;
      issues.push(pipeline.source.issue(latencyPath(pipeline, job), `job ${job.id}: ${error instanceof Error ? error.message : String(error)}`));
      continue;
    }
    const { model } = measured;
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    options.progress(
      `latency model for ${what} (${measured.cached ? 'cached' : 'measured'}: ${measured.path}): full model ${model.reference_ms.toFixed(1)} ms at batch ${model.batch} x ${model.seq} ` +
        `(${model.backend}, ${model.threads} thread${model.threads === 1 ? '' : 's'}), held-out error mean ${pct(model.fit.mean_abs_error)}, max ${pct(model.fit.max_abs_error)}; ` +
        `budgets: ${group.jobs.map(({ job }) => `${job.id} ${budgetMs(model, job.spec.search!.budget).toFixed(1)} ms`).join(', ')}`,
      true,
    );
    issues.push(...budgetIssues(group, model, pipeline));
  }
  if (issues.length > 0) throw new PipelineError(issues);
}

/**
 * gbp validate: the budget check where a latency model is cached (validate never measures);
 * lines saying what gbp run will measure otherwise.
 */
export async function checkCachedSearchLatency(plan: Plan, pipeline: ResolvedPipeline): Promise<string[]> {
  const issues: PipelineIssue[] = [];
  const lines: string[] = [];
  for (const group of await latencyGroups(plan, pipeline)) {
    const what = `${group.stages.join(', ')} (${group.request.backend}, batch ${group.request.batch} x seq ${group.request.seq})`;
    const model = cachedLatencyModel(group.request);
    if (model) {
      lines.push(`latency model for ${what}: cached; budgets checked`);
      issues.push(...budgetIssues(group, model, pipeline));
    } else lines.push(`latency model for ${what}: not cached; gbp run measures ${group.request.samples} sampled sub-networks (and the full, largest and smallest) before any job, then checks the budgets`);
  }
  if (issues.length > 0) throw new PipelineError(issues);
  return lines;
}

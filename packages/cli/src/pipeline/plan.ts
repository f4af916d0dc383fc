/**
 * Stage 3 of the config flow: ResolvedPipeline -> Plan, the list of jobs with stable ids, their
 * full JobSpecs (core's resolveJobSpec applies defaults), dependencies and output folders.
 * Method options are validated here by each pruner's own schema.
 */
import { basename, dirname, extname, join } from 'node:path';
import { absoluteModelRef, isPluginPath, PRETRAINED_SHAPE_FIELDS, PrunerLoadError, resolveJobSpec, type JobSpec } from '@gbp/core';
import { modelLabel } from '../model-label.js';
import { PipelineError, type FieldPath, type PipelineIssue } from './errors.js';
import { sourceJobMatcher } from './match.js';
import { linkTeachers } from './teacher.js';
import { checkSearchJobs } from './search-stage.js';
import { checkModelSources } from './model-source.js';
import { modelFromPath, modelFromStage, modelSources } from './model-stage.js';
import { checkMethodOptions, prunerFinder, type MethodOptionsCheck } from './method-options.js';
import { runsJobs } from './load.js';
import { axisField, mergeDeep, type ResolvedPipeline, type ResolvedStage } from './resolve.js';

export interface PlannedJob {
  /** Stable id: method_task plus the values of other axes that vary (and the stage when there are several). */
  readonly id: string;
  readonly stage: string;
  /** The matrix values that made this job, by axis. */
  readonly axes: Readonly<Record<string, unknown>>;
  readonly spec: JobSpec;
  /** Ids of the jobs that must finish first (all jobs of the stages this one needs). */
  readonly needs: readonly string[];
  /** Id of the job whose final checkpoint this one starts from (init_from). */
  readonly initFrom?: string;
  /** Id of the job whose model is this one's distillation teacher (train.distill.teacher naming a stage). */
  readonly teacherFrom?: string;
  /** Id of the job whose model/ this one starts from (model.from naming a stage); spec.model.from is its folder. */
  readonly modelFrom?: string;
}

export interface ReportPlan {
  readonly stage: string;
  readonly jobs: readonly string[];
}

/** An export stage: the models of `jobs` (those that finish) written to <output>/export_<stage>/<job id>/. */
export interface ExportPlan {
  readonly stage: string;
  readonly jobs: readonly string[];
  readonly format: string;
  readonly dtype?: string;
}

export interface Plan {
  readonly version: 1;
  readonly pipeline: string;
  readonly file: string;
  readonly output_dir: string;
  readonly concurrency: number;
  readonly jobs: readonly PlannedJob[];
  readonly reports: readonly ReportPlan[];
  readonly exports: readonly ExportPlan[];
}

/** The per-job folder inside the pipeline's folder. */
export const jobFolder = (outputDir: string, id: string) => join(outputDir, `results_${id}`);

const setField = (target: Record<string, unknown>, dotted: string, value: unknown) => {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
};

/** Every combination of the axes' values, in axis order (the last axis varies fastest). */
export function cartesian(matrix: Readonly<Record<string, readonly unknown[] | undefined>>): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [axis, values] of Object.entries(matrix)) {
    if (!values) continue;
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [axis]: value })));
  }
  return combos;
}

const slug = (value: unknown) => String(value).replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');

/** A readable name for a method: a path becomes its file name without extension. */
export const methodLabel = (method: string) =>
  isPluginPath(method) ? slug(basename(method, extname(method))) : slug(method.replace(/^@[^/]+\//, ''));

function axisLabel(axis: string, value: unknown): string {
  const field = axisField(axis);
  // A latency budget by its kind and value: speedup2, latency40ms.
  if (field === 'search.budget' && value !== null && typeof value === 'object') {
    const { speedup, latency_ms } = value as { speedup?: unknown; latency_ms?: unknown };
    if (speedup !== undefined) return `speedup${slug(speedup)}`;
    if (latency_ms !== undefined) return `latency${slug(latency_ms)}ms`;
  }
  // Values that name themselves: 'small', 'structured' read better than 'sizesmall'.
  if (field === 'model.size' || field === 'pruning.granularity') return slug(value);
  // A pretrained model by its name (bert-mini, not fromprajjwal1-bert-mini or a whole path).
  if (field === 'model.from') return slug(modelLabel({ from: String(value) }).split('/').pop());
  if (field === 'train.seed') return `seed${slug(value)}`;
  // An object (train.distill) reads as its values: distilldense-0.9-2.
  const text = Array.isArray(value) ? value.join('-') : value !== null && typeof value === 'object' ? Object.values(value).join('-') : value;
  return `${field.split('.').pop()}${slug(text)}`;
}

/** Builds the plan; throws PipelineError with every problem found (located in the file). */
export async function planPipeline(pipeline: ResolvedPipeline): Promise<Plan> {
  const { source } = pipeline;
  const issues: PipelineIssue[] = [];
  const jobs: PlannedJob[] = [];
  const reports: ReportPlan[] = [];
  const exports: ExportPlan[] = [];
  const jobStages = pipeline.stages.filter(runsJobs);
  const byStage = new Map<string, PlannedJob[]>();
  // Every id planned so far, across stages: a set keeps planning linear in the number of jobs.
  const ids = new Set<string>();

  for (const stage of pipeline.stages) {
    const needed = stage.needs.flatMap((name) => byStage.get(name) ?? []).map((j) => j.id);
    if (stage.report) {
      reports.push({ stage: stage.name, jobs: needed });
      continue;
    }
    if (stage.export) {
      exports.push({ stage: stage.name, jobs: needed, ...stage.export });
      continue;
    }
    const stageJobs: PlannedJob[] = [];
    const varying = Object.entries(stage.matrix)
      .filter(([axis, values]) => axis !== 'method' && axis !== 'task' && (values?.length ?? 0) > 1)
      .map(([axis]) => axis);
    for (const combo of cartesian(stage.matrix)) {
      const partial = mergeDeep<Record<string, unknown>>(stage.defaults as Record<string, unknown>);
      for (const [axis, value] of Object.entries(combo)) setField(partial, axisField(axis), value);
      const merged = mergeDeep<Record<string, unknown>>(partial, stage.forced as Record<string, unknown>);
      const model = merged.model as Record<string, unknown> | undefined;
      const fromStage = modelFromStage(merged, pipeline);
      // One job per combo; a model.from naming a stage may fan out to one per source job.
      const variants: { merged: Record<string, unknown>; axes: Record<string, unknown>; labels: string[]; modelFrom?: string }[] = [];
      if (fromStage && model) {
        // The source job's model gives the shape: the file's size and shape fields do not apply.
        for (const field of PRETRAINED_SHAPE_FIELDS) delete model[field];
        const sources = modelSources(stage, fromStage, merged, byStage);
        if ('problem' in sources) {
          const issue = source.issue(modelFromPath(stage, combo), sources.problem);
          if (!issues.some((i) => i.line === issue.line && i.column === issue.column && i.message === issue.message)) issues.push(issue);
          continue;
        }
        for (const src of sources.jobs) {
          variants.push({
            merged: mergeDeep<Record<string, unknown>>(merged, { model: { from: src.spec.output_dir } }),
            axes: { ...combo, ...Object.fromEntries(sources.fanOut.map((axis) => [axis, src.axes[axis]])) },
            labels: sources.fanOut.map((axis) => axisLabel(axis, src.axes[axis])),
            modelFrom: src.id,
          });
        }
      } else {
        // A model folder in the file is relative to the file; made absolute here, as method paths are.
        if (typeof model?.from === 'string') model.from = absoluteModelRef(model.from, dirname(pipeline.file));
        // --from replaces the file's model: its size and shape fields go with it.
        if (model && (stage.forced.model as { from?: unknown } | undefined)?.from !== undefined) for (const field of PRETRAINED_SHAPE_FIELDS) delete model[field];
        variants.push({ merged, axes: combo, labels: [] });
      }
      const method = (merged.method as string | undefined) ?? 'baseline';
      const task = merged.task as string | undefined;
      if (task === undefined) {
        issues.push(source.issue(stage.paths.stage, 'no task: set defaults.task or a matrix task axis'));
        break;
      }
      for (const variant of variants) {
        const parts = [methodLabel(method), task, ...varying.map((axis) => axisLabel(axis, combo[axis])), ...variant.labels];
        if (jobStages.length > 1) parts.push(slug(stage.name));
        const id = parts.join('_');
        if (ids.has(id)) {
          issues.push(source.issue(stage.paths.matrix, `two jobs would share the id '${id}'; make the matrix values distinct`));
          continue;
        }
        let spec: JobSpec;
        try {
          spec = resolveJobSpec({
            ...variant.merged,
            id,
            method,
            task,
            method_options: { ...stage.methods[method] },
            plugins: [...pipeline.plugins],
            data: { ...pipeline.data },
            backend: pipeline.run.backend,
            output_dir: jobFolder(pipeline.outputDir, id),
          } as Parameters<typeof resolveJobSpec>[0]);
        } catch (error) {
          issues.push(source.issue(stage.paths.stage, `job ${id}: ${error instanceof Error ? error.message : String(error)}`));
          continue;
        }
        if (spec.pruning.start_epoch > spec.pruning.end_epoch) {
          issues.push(
            source.issue(stage.paths.stage, `job ${id}: pruning.start_epoch (${spec.pruning.start_epoch}) is after pruning.end_epoch (${spec.pruning.end_epoch})`),
          );
        }
        ids.add(id);
        stageJobs.push({ id, stage: stage.name, axes: variant.axes, spec, needs: needed, ...(variant.modelFrom !== undefined && { modelFrom: variant.modelFrom }) });
      }
    }
    if (stage.initFrom) linkInitCheckpoints(stage, stageJobs, byStage.get(stage.initFrom) ?? [], pipeline, issues);
    await linkTeachers(stage, stageJobs, byStage, pipeline, issues);
    await checkModelSources(stage, stageJobs, pipeline, issues);
    await checkSearchJobs(stage, stageJobs, byStage, pipeline, issues);
    byStage.set(stage.name, stageJobs);
    for (const job of stageJobs) jobs.push(job); // not push(...): a spread of 100k+ arguments overflows the stack
  }

  issues.push(...(await validateMethods(pipeline, jobs)));
  if (issues.length > 0) throw new PipelineError(issues);
  return {
    version: 1,
    pipeline: pipeline.name,
    file: pipeline.file,
    output_dir: pipeline.outputDir,
    concurrency: pipeline.run.concurrency,
    jobs,
    reports,
    exports,
  };
}

/** Each job of an init_from stage starts from its job of the source stage (sourceJobMatcher). */
function linkInitCheckpoints(
  stage: ResolvedStage,
  stageJobs: PlannedJob[],
  sourceJobs: readonly PlannedJob[],
  pipeline: ResolvedPipeline,
  issues: PipelineIssue[],
) {
  const match = sourceJobMatcher(pipeline, stage.initFrom!, sourceJobs);
  stageJobs.forEach((job, i) => {
    const found = match(job);
    if ('problem' in found) issues.push(pipeline.source.issue([...stage.paths.stage, 'init_from'], found.problem));
    else stageJobs[i] = { ...job, initFrom: found.job.id };
  });
}

/**
 * Resolves every method once, validates its options per stage with the pruner's schema (defaults
 * applied) and records the pruner's module in each job spec (method_module).
 */
async function validateMethods(pipeline: ResolvedPipeline, jobs: PlannedJob[]): Promise<PipelineIssue[]> {
  const issues: PipelineIssue[] = [];
  const checked = new Map<string, Pick<MethodOptionsCheck, 'options' | 'module'> | undefined>();
  // Options are checked per stage (each stage has its own), the method found once.
  const find = prunerFinder(pipeline.plugins, pipeline.dir);
  for (const [i, job] of jobs.entries()) {
    const stage = pipeline.stages.find((s) => s.name === job.stage)!;
    const key = `${job.stage}\u0000${job.spec.method}`;
    if (!checked.has(key)) {
      checked.set(key, undefined);
      try {
        const check = await checkMethodOptions(job.spec.method, job.spec.method_options, stage.paths.methods(job.spec.method), pipeline.source, find);
        issues.push(...check.issues);
        checked.set(key, check.options ? check : undefined);
      } catch (error) {
        // A plugins entry that fails to load is its own error, once, wherever methods are named.
        const plugin = error instanceof PrunerLoadError ? pipeline.plugins.findIndex((p) => error.source === `'${p}' (plugins)`) : -1;
        if (plugin >= 0 && error instanceof PrunerLoadError) {
          const issue = pipeline.source.issue(['plugins', plugin], error.message);
          if (!issues.some((i) => i.path === issue.path && i.message === issue.message)) issues.push(issue);
          continue;
        }
        const index = (stage.matrix.method ?? []).indexOf(job.spec.method);
        const where: FieldPath = index >= 0 ? [...stage.paths.matrix, 'method', index] : [...stage.paths.stage, 'defaults', 'method'];
        issues.push(pipeline.source.issue(where, error instanceof Error ? error.message : String(error)));
      }
    }
    const check = checked.get(key);
    // The module found here is the one the worker imports, whatever its cwd.
    if (check?.options) jobs[i] = { ...job, spec: { ...job.spec, method_options: check.options, ...(check.module ? { method_module: check.module } : {}) } };
  }
  return issues;
}

/**
 * runJob: the one entry that runs a job end to end. backend → pruner resolution and option
 * validation (before any work) → data → tokenizer → encoding → model → pruner → training with
 * evaluation, results files and checkpoints → sparsity target check → done.
 */
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject } from 'ajv';
import { throwIfAborted } from './abort.js';
import { tf } from './tf.js';
import { JobSpecSchema, type JobSpec } from './spec.js';
import type { BackendInfo, EpochRecord, JobErrorInfo, JobEvent, JobResult, LogLevel, Metrics, OnJobEvent, SparsityReport } from './events.js';
import type { PrunerInstance, PrunerContext } from './hooks/types.js';
import { HookRegistry, PluginError } from './hooks/registry.js';
import { resolvePruner, validatePrunerOptions } from './hooks/resolve.js';
import { initBackend, explainBackendError } from './backend/index.js';
import { getTask, loadSplit, loadTokenizer, computeMetrics, defaultCacheDir, type EncodedExample, type Example, type GbpTokenizer, type TaskInfo } from './data/index.js';
import { GatedBert, modelInfo, resolveModelConfig } from './model/index.js';
import { sparsityReport, assertSparsityTarget } from './pruning/index.js';
import { AbortError, Trainer, createPrunerContext } from './train/index.js';
import { loadWeightsAndMasks, readInitCheckpoint, readResumeCheckpoint, writeJobCheckpoint, type JobCheckpoint } from './job_checkpoint.js';
import { RunWriter, existingTimestamp, fileTimestamp, type RunMetadata, type RunStatus } from './results/index.js';

export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly U[] | U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export type PartialJobSpec = DeepPartial<JobSpec> & Pick<JobSpec, 'task' | 'output_dir'> & { id?: string };

/** Model size when a partial spec names none: the design's reference model. */
export const DEFAULT_MODEL_SIZE = 'base';

const specAjv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const validateSpec = specAjv.compile(JobSpecSchema);

export class JobSpecError extends Error {
  readonly code = 'JOB_SPEC_INVALID';
  constructor(readonly issues: readonly string[]) {
    super(`invalid job spec:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'JobSpecError';
  }
}

function describeSpecErrors(errors: readonly ErrorObject[]): string[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  const issues: string[] = [];
  for (const [path, group] of byPath) {
    const field = path.split('/').slice(1).join('.') || '(root)';
    const consts = group.filter((e) => e.keyword === 'const').map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
    if (consts.length > 0) {
      issues.push(`${field}: must be one of ${consts.join(', ')}`);
      continue;
    }
    for (const e of group) {
      const params = e.params as Record<string, unknown>;
      if (e.keyword === 'additionalProperties') issues.push(`${field === '(root)' ? '' : `${field}.`}${String(params.additionalProperty)}: is not a known field`);
      else if (e.keyword === 'required') issues.push(`${field === '(root)' ? '' : `${field}.`}${String(params.missingProperty)}: is required`);
      else issues.push(`${field}: ${e.message ?? 'is invalid'}`);
    }
  }
  return issues;
}

/** Applies the schema's defaults to a partial spec and validates it (error lists every field). */
export function resolveJobSpec(partial: PartialJobSpec): JobSpec {
  const p = structuredClone(partial) as Record<string, unknown>;
  const objectOr = (v: unknown) => (v !== null && typeof v === 'object' ? v : {});
  const spec: Record<string, unknown> = {
    ...p,
    id: p.id ?? `${String(p.method ?? 'baseline')}_${String(p.task)}`,
    model: { size: DEFAULT_MODEL_SIZE, ...objectOr(p.model) },
    train: objectOr(p.train),
    pruning: objectOr(p.pruning),
    data: objectOr(p.data),
    tokenizer: objectOr(p.tokenizer),
    backend: p.backend ?? 'auto',
  };
  if (!validateSpec(spec)) throw new JobSpecError(describeSpecErrors(validateSpec.errors ?? []));
  const resolved = spec as JobSpec;
  const { d_model, num_heads } = resolveModelConfig(resolved.model);
  if (d_model % num_heads !== 0) throw new JobSpecError([`model.d_model (${d_model}) must be divisible by model.num_heads (${num_heads})`]);
  return resolved;
}

export interface RunJobOptions {
  signal?: AbortSignal;
}

const PROGRESS_INTERVAL_MS = 250;
/** Before training there is nothing to checkpoint: an abort just stops. */
const BEFORE_TRAINING = 'the job was aborted before training started';

function versions(): Record<string, string> {
  let core = 'unknown';
  try {
    // src/job.ts and dist/job.js both sit one level below the package root.
    const require = createRequire(import.meta.url);
    core = (require('../package.json') as { version: string }).version;
  } catch {
    // Bundled or relocated: the version is not essential to the results.
  }
  return { node: process.versions.node, tfjs: tf.version_core, '@gbp/core': core };
}

/** Best value of the primary metric decides the best epoch (mnli: matched/<primary>). */
function primaryKey(task: TaskInfo, metrics: Metrics): string {
  if (task.primaryMetric in metrics) return task.primaryMetric;
  const prefixed = Object.keys(metrics).find((k) => k.endsWith(`/${task.primaryMetric}`));
  return prefixed ?? task.primaryMetric;
}

function bestRecord(task: TaskInfo, records: readonly EpochRecord[]): EpochRecord | undefined {
  let best: EpochRecord | undefined;
  for (const r of records) {
    const key = primaryKey(task, r.metrics);
    if (best === undefined || (r.metrics[key] ?? -Infinity) > (best.metrics[key] ?? -Infinity)) best = r;
  }
  return best;
}

async function encodeAll(tokenizer: GbpTokenizer, examples: readonly Example[], maxLen: number, signal: AbortSignal | undefined): Promise<EncodedExample[]> {
  const encoded = await tokenizer.encodeBatch(
    examples.map((e) => e.texts),
    maxLen,
    { signal },
  );
  return encoded.map((e, i) => ({ ids: e.ids, typeIds: e.typeIds, label: examples[i]!.label }));
}

/**
 * Runs one job end to end. Emits start, progress (≤ 4/s), eval, epoch, checkpoint, log, and done or
 * failed. On abort: writes a checkpoint at the current step and rejects with an AbortError.
 */
export async function runJob(spec: JobSpec, onEvent: OnJobEvent, options: RunJobOptions = {}): Promise<JobResult> {
  const { signal } = options;
  const jobId = spec.id;
  const startedAt = new Date();
  let writer: RunWriter | null = null;
  const emit = (event: JobEvent) => {
    onEvent(event);
    void writer?.appendEvent(event).catch(() => undefined);
  };
  const log = (level: LogLevel, message: string, source?: string) =>
    emit({ type: 'log', job_id: jobId, level, message, ...(source ? { source } : {}), time: Date.now() });

  let backend: BackendInfo | undefined;
  let model: GatedBert | undefined;
  let trainer: Trainer | undefined;
  let hooks: HookRegistry | undefined;
  let prunerCtx: PrunerContext | undefined;
  let metadata: RunMetadata | undefined;
  let task: TaskInfo | undefined;
  let setupDone = false;

  const writeMetadata = async (status: RunStatus, extra: Partial<RunMetadata> = {}) => {
    if (!writer || !metadata) return;
    const records = trainer?.records ?? [];
    const last = records[records.length - 1];
    const best = task ? bestRecord(task, records) : undefined;
    metadata = {
      ...metadata,
      status,
      final_metrics: last?.metrics ?? {},
      best_metrics: best?.metrics ?? {},
      best_epoch: best?.epoch ?? null,
      sparsity: last?.sparsity ?? null,
      epochs_completed: records.length,
      updated_at: new Date().toISOString(),
      ...extra,
    };
    await writer.writeMetadata(metadata);
  };

  try {
    backend = await initBackend(spec.backend);
    task = getTask(spec.task);

    // Resolve the pruner and validate its options before any data or training work.
    const definition = await resolvePruner(spec.method, { plugins: spec.plugins });
    const prunerOptions = definition ? validatePrunerOptions(definition, spec.method_options) : null;

    // A damaged newest checkpoint falls back to the one before, with a warning (logged once the writer exists).
    const skipped: string[] = [];
    const latest = spec.resume ? await readResumeCheckpoint(spec.output_dir, (warning) => skipped.push(warning)) : null;
    const resumed = latest?.checkpoint ?? null;
    const timestamp = resumed?.timestamp ?? (spec.resume ? await existingTimestamp(spec.output_dir, spec.method) : null) ?? fileTimestamp(startedAt);
    writer = new RunWriter(spec.output_dir, spec.method, timestamp);
    for (const warning of skipped) log('warn', warning);
    if (latest) log('info', `resuming from ${latest.path}`);

    const config = resolveModelConfig(spec.model, task.numLabels);
    const info = modelInfo(config);
    metadata = {
      job_id: jobId,
      method: spec.method,
      task: spec.task,
      timestamp,
      status: 'running',
      spec,
      backend,
      versions: versions(),
      model_info: info,
      final_metrics: {},
      best_metrics: {},
      best_epoch: null,
      sparsity: null,
      epochs_completed: 0,
      started_at: startedAt.toISOString(),
      updated_at: startedAt.toISOString(),
    };
    await writeMetadata('running');

    // Data.
    const onProgress = (message: string) => log('info', message, 'data');
    const train = await loadSplit(spec.task, 'train', spec.data, { limit: spec.train.max_train_examples, onProgress, signal });
    const evalRaw: { split: string; examples: Example[] }[] = [];
    for (const split of task.evalSplits) {
      evalRaw.push({ split, examples: await loadSplit(spec.task, split, spec.data, { limit: spec.train.max_eval_examples, onProgress, signal }) });
    }
    const tokenizer = await loadTokenizer(spec.tokenizer, {
      vocabSize: config.vocab_size,
      trainTexts: function* () {
        for (const e of train) yield* e.texts;
      },
      cacheDir: spec.data.cache_dir ?? defaultCacheDir(),
      cacheLabel: spec.task,
      onProgress: (message) => log('info', message, 'tokenizer'),
      signal,
    });
    if (tokenizer.vocabSize > config.vocab_size) {
      throw new Error(`tokenizer has ${tokenizer.vocabSize} tokens but model.vocab_size is ${config.vocab_size}; raise model.vocab_size`);
    }
    throwIfAborted(signal, BEFORE_TRAINING);
    const trainEncoded = await encodeAll(tokenizer, train, config.max_len, signal);
    const evalSets = [];
    for (const { split, examples } of evalRaw) evalSets.push({ split, examples: await encodeAll(tokenizer, examples, config.max_len, signal) });

    throwIfAborted(signal, BEFORE_TRAINING);

    // Model, trainer, pruner.
    model = new GatedBert(config, { seed: spec.train.seed });
    const builtModel = model;
    hooks = new HookRegistry();
    const taskName = spec.task;
    trainer = new Trainer({
      model,
      train: spec.train,
      numLabels: config.num_labels,
      trainExamples: trainEncoded,
      evalSets,
      padId: tokenizer.padId,
      computeMetrics: (predictions, labels) => computeMetrics(taskName, predictions, labels),
      hooks,
      sparsity: () => sparsityReport(builtModel.gates).global,
    });
    const activeTrainer = trainer;

    if (spec.init_checkpoint && !resumed) {
      const init = await readInitCheckpoint(spec.init_checkpoint, (warning) => log('warn', warning));
      loadWeightsAndMasks(model, init.trainer, spec.init_checkpoint);
      log('info', `initialised weights and masks from ${spec.init_checkpoint}`);
    }
    if (resumed) trainer.restore(resumed.trainer);

    let pruner: PrunerInstance | null = null;
    if (definition && prunerOptions) {
      prunerCtx = createPrunerContext({
        name: definition.name,
        gates: model.gates,
        counters: trainer.counters,
        epochs: spec.train.epochs,
        stepsPerEpoch: trainer.stepsPerEpoch,
        totalSteps: trainer.totalSteps,
        pruning: spec.pruning,
        model: info,
        seed: spec.train.seed,
        log: (level, message, source) => log(level, message, source),
      });
      try {
        pruner = await definition.create(prunerOptions, prunerCtx);
      } catch (error) {
        throw new PluginError(definition.name, 'create', error);
      }
      if (resumed?.pruner) {
        prunerCtx.rng.restore(resumed.pruner.rng);
        try {
          pruner.restore(resumed.pruner.state);
        } catch (error) {
          throw new PluginError(definition.name, 'restore', error);
        }
      }
      hooks.register(definition.name, prunerCtx, pruner);
    }
    const prunerName = definition?.name;
    const activePruner = pruner;
    const activeCtx = prunerCtx;

    emit({
      type: 'start',
      job_id: jobId,
      spec,
      backend,
      model_info: { ...info },
      steps_per_epoch: trainer.stepsPerEpoch,
      total_steps: trainer.totalSteps,
      start_step: trainer.step,
      time: Date.now(),
    });
    await hooks.call('setup');
    setupDone = true;

    const metricNames = (): string[] => Object.keys(activeTrainer.records[0]?.metrics ?? {});
    let lastProgress = 0;
    let tokensSince = 0;
    let lastProgressTime = Date.now();
    // Throughput is about training: evaluation and checkpoint time must not dilute the next figure.
    const resetThroughput = () => {
      lastProgressTime = Date.now();
      tokensSince = 0;
    };
    const writeCkpt = async () => {
      const state: JobCheckpoint = {
        job_id: jobId,
        timestamp,
        trainer: activeTrainer.state(),
        pruner: activePruner && activeCtx && prunerName ? { name: prunerName, state: activePruner.state(), rng: activeCtx.rng.state() } : null,
      };
      const path = await writeJobCheckpoint(spec.output_dir, activeTrainer.step, state);
      emit({ type: 'checkpoint', job_id: jobId, epoch: activeTrainer.counters.epoch, step: activeTrainer.step, path, time: Date.now() });
      resetThroughput();
    };

    await trainer.run(
      {
        onProgress: (p) => {
          tokensSince += p.tokens;
          const now = Date.now();
          if (now - lastProgress < PROGRESS_INTERVAL_MS && p.epochStep !== activeTrainer.stepsPerEpoch) return;
          lastProgress = now;
          const seconds = Math.max(1e-3, (now - lastProgressTime) / 1000);
          emit({
            type: 'progress',
            job_id: jobId,
            epoch: p.epoch,
            step: p.step,
            epoch_step: p.epochStep,
            steps_per_epoch: activeTrainer.stepsPerEpoch,
            total_steps: activeTrainer.totalSteps,
            loss: p.loss,
            lr: p.lr,
            sparsity: sparsityCached(builtModel),
            tokens_per_s: tokensSince / seconds,
            time: now,
          });
          tokensSince = 0;
          lastProgressTime = now;
        },
        onEval: (e) => {
          resetThroughput();
          emit({ type: 'eval', job_id: jobId, epoch: e.epoch, split: e.split, done: e.done, total: e.total, time: Date.now() });
        },
        onEpoch: async (record) => {
          emit({ type: 'epoch', job_id: jobId, time: Date.now(), ...record });
          await writer!.writeEpochs(activeTrainer.records, metricNames());
          await writer!.writeSparsity(sparsityReport(builtModel.gates));
          await writeMetadata('running');
        },
        onCheckpoint: writeCkpt,
      },
      signal,
    );

    const report: SparsityReport = sparsityReport(model.gates);
    await writer.writeEpochs(trainer.records, metricNames());
    await writer.writeSparsity(report);
    if (definition) assertSparsityTarget(report, spec.pruning.end_sparsity, definition.name);

    await hooks.call('teardown');
    setupDone = false;
    await writeMetadata('done');
    const records = trainer.records;
    const result: JobResult = {
      job_id: jobId,
      output_dir: spec.output_dir,
      epochs: [...records],
      final_metrics: records[records.length - 1]?.metrics ?? {},
      best_metrics: bestRecord(task, records)?.metrics ?? {},
      sparsity: report,
      files: { csv: writer.files.csv, metadata: writer.files.metadata, sparsity: writer.files.sparsity, events: writer.files.events, checkpoints: writer.files.checkpoints },
    };
    emit({ type: 'done', job_id: jobId, result, time: Date.now() });
    await writer.flush();
    return result;
  } catch (caught) {
    const aborted = caught instanceof AbortError || (caught instanceof Error && caught.name === 'AbortError');
    const error = aborted ? (caught as Error) : explainBackendError(caught);
    if (setupDone && hooks) {
      // teardown also on failure; its own error must not hide the first one.
      await hooks.call('teardown').catch((e: unknown) => log('warn', `teardown after failure failed: ${(e as Error).message}`));
    }
    try {
      if (aborted) {
        log('info', `aborted at step ${trainer?.step ?? 0}; resume with resume: true`);
        await writeMetadata('aborted');
      } else {
        const info: JobErrorInfo = { message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string') info.code = code;
        if (error instanceof PluginError) {
          info.plugin = error.plugin;
          info.hook = error.hook;
        }
        await writeMetadata('failed', { error: info });
        emit({ type: 'failed', job_id: jobId, error: info, time: Date.now() });
      }
      await writer?.flush();
    } catch {
      // Writing the failure must not replace the failure itself.
    }
    throw error;
  } finally {
    trainer?.optimizer.dispose();
    model?.dispose();
  }
}


/** Sparsity for progress events without reading every mask each time: recomputed every 2 s. */
const sparsityCache = new WeakMap<GatedBert, { at: number; value: number }>();
function sparsityCached(model: GatedBert): number {
  const hit = sparsityCache.get(model);
  const now = Date.now();
  if (hit && now - hit.at < 2000) return hit.value;
  const value = sparsityReport(model.gates).global;
  sparsityCache.set(model, { at: now, value });
  return value;
}

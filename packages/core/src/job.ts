/**
 * runJob: the one entry that runs a job end to end, as wiring over the parts in ./job/: backend →
 * pruner resolution and option validation (before any work) → run folder and resume point → data
 * → model, trainer, pruner → training with evaluation, results files and checkpoints → sparsity
 * target check → done. A new stage is one more call here.
 */
import type { JobSpec } from './spec.js';
import type { BackendInfo, JobResult, OnJobEvent } from './events.js';
import { HookRegistry } from './hooks/registry.js';
import type { AnyPrunerDefinition } from './hooks/resolve.js';
import { initBackend } from './backend/index.js';
import { getTask, computeMetrics } from './data/index.js';
import { GatedBert, modelInfo, resolveModelConfig } from './model/index.js';
import { sparsityReport, assertSparsityTarget, granularityOf, sparsityTolerance } from './pruning/index.js';
import { Trainer, type TrainerDistill } from './train/index.js';
import { jobEmitter } from './job/emit.js';
import { openRun, prepareData } from './job/prepare.js';
import { attachPruner, resolveJobPruner, type AttachedPruner } from './job/pruner.js';
import { restoreStart, writeJobCheckpoint } from './job/checkpoint.js';
import { progressReporter } from './job/progress.js';
import { JobRecorder } from './job/metadata.js';
import { classifyFailure } from './job/failure.js';
import { writeJobModel } from './job/model-folder.js';
import { loadPretrained } from './job/pretrained.js';
import { ReplicaPool, type ReplicaBackend } from './parallel/replica-pool.js';
import { resolveThreads } from './parallel/threads.js';
import { finalSubnets, readSupernetRecord, rewireSupernet, supernetSpace, warnIfLargestIsNotTheModel, writeSupernetRecord, type SupernetRecord } from './job/supernet.js';
import { checkTeacherVocabulary, loadTeacher, teacherLogits, trainerDistill, type Teacher } from './job/teacher.js';
import { runSearchJob } from './search/job.js';

export { resolveJobSpec, JobSpecError, DEFAULT_MODEL_SIZE, PRETRAINED_SHAPE_FIELDS, type DeepPartial, type PartialJobSpec } from './job/spec.js';
export { latestJobCheckpoint, listJobCheckpoints, readJobCheckpoint, type JobCheckpoint, type FoundJobCheckpoint, type CheckpointWarning } from './job/checkpoint.js';

export interface RunJobOptions {
  signal?: AbortSignal;
  /**
   * The pruner to run, used instead of resolving spec.method (which must be its name); spec.plugins
   * are then not loaded. For callers that hold a definition, not a module: tests, the conformance kit.
   */
  pruner?: AnyPrunerDefinition;
}

/**
 * Runs one job end to end. Emits start, progress (≤ 4/s), eval, epoch, checkpoint, log, and done or
 * failed. On abort: writes a checkpoint at the current step and rejects with an AbortError.
 */
export async function runJob(spec: JobSpec, onEvent: OnJobEvent, options: RunJobOptions = {}): Promise<JobResult> {
  // A search job trains nothing: none of the training set-up below applies to it.
  if (spec.search) return runSearchJob(spec, onEvent, { ...(options.signal && { signal: options.signal }) });
  const { signal } = options;
  const jobId = spec.id;
  const startedAt = new Date();
  const { emit, log, writeTo, flush } = jobEmitter(jobId, onEvent);
  let model: GatedBert | undefined;
  let trainer: Trainer | undefined;
  let replicas: ReplicaPool | undefined;
  let recorder: JobRecorder | undefined;
  const hooks = new HookRegistry();
  let setupDone = false;

  try {
    const backend: BackendInfo = { ...(await initBackend(spec.backend)) };
    const threads = resolveThreads(spec.train.threads, backend.name);
    backend.threads = threads.threads;
    const task = getTask(spec.task);
    const resolvedPruner = await resolveJobPruner(spec, options.pruner);
    const distillSpec = spec.train.distill;
    // Read (and its labels checked) before any work; dropped once its logits are computed.
    let teacher: Teacher | null = distillSpec ? await loadTeacher(distillSpec, task.numLabels) : null;
    const { writer, resumed } = await openRun(spec, startedAt, log, writeTo);
    const pretrained = spec.model.from !== undefined ? await loadPretrained(spec, task.numLabels, log) : undefined;
    const config = pretrained?.config ?? resolveModelConfig(spec.model, task.numLabels);
    const info = modelInfo(config);
    recorder = await JobRecorder.start(writer, { spec, task, backend, modelInfo: info, startedAt });
    // A supernet's space is checked against the model before any data is read or step trained.
    const space = spec.supernet && supernetSpace(spec.supernet, config);
    if (space) warnIfLargestIsNotTheModel(space, config, log);
    let supernetRecord: SupernetRecord | undefined =
      space && spec.supernet && resumed ? await readSupernetRecord(spec.output_dir, { space, random_subnets: spec.supernet.random_subnets }) : undefined;
    const tokenizer = pretrained?.tokenizer ?? spec.tokenizer;
    const data = await prepareData({ ...spec, tokenizer }, task, config, log, signal);
    let distill: TrainerDistill | undefined;
    if (distillSpec && teacher) {
      await checkTeacherVocabulary(teacher, data.vocab, tokenizer.lowercase, log);
      const batchSize = spec.train.eval_batch_size ?? spec.train.batch_size;
      distill = trainerDistill(distillSpec, await teacherLogits(teacher, data.train, { padId: data.padId, batchSize, log, signal, threads: threads.threads }));
      teacher = null;
    }

    log('info', `training on ${threads.reason}`);
    if (threads.threads > 1) {
      replicas = await ReplicaPool.start({ config, backend: backend.name as ReplicaBackend, count: threads.threads - 1 });
    }

    const builtModel = (model = new GatedBert(config, { seed: spec.train.seed }));
    // A resume or an init_checkpoint sets the weights next (restoreStart); else the pretrained ones.
    if (pretrained && !resumed && spec.init_checkpoint === undefined) model.setWeights(pretrained.weights, pretrained.source.dir);
    // Heads and neurons kept per layer go into every sparsity report (head size of the original model).
    const reportOptions = { headSize: config.d_model / config.num_heads };
    const activeTrainer = (trainer = new Trainer({
      model,
      train: spec.train,
      numLabels: config.num_labels,
      trainExamples: data.train,
      evalSets: data.evalSets,
      padId: data.padId,
      computeMetrics: (predictions, labels) => computeMetrics(spec.task, predictions, labels),
      hooks,
      sparsity: () => sparsityReport(builtModel.gates).global,
      ...(distill && { distill }),
      ...(replicas && { replicas }),
      ...(space && spec.supernet && { supernet: { space, randomSubnets: spec.supernet.random_subnets } }),
    }));
    await restoreStart(spec, { model, trainer, resumed, log });
    if (space && spec.supernet && !resumed) {
      // After the weights are set (fresh, pretrained or init_checkpoint); a resume has them rewired already.
      const rewired = spec.supernet.rewire ? rewireSupernet(model, spec.supernet, spec.train, data.train, data.padId, log) : null;
      supernetRecord = { space, random_subnets: spec.supernet.random_subnets, rewired };
      await writeSupernetRecord(spec.output_dir, supernetRecord);
    }
    const before = trainer.restoredThreads;
    if (resumed && before !== undefined && before !== trainer.threads) {
      log('warn', `resuming on ${trainer.threads} thread${trainer.threads === 1 ? '' : 's'}; the checkpoint was trained on ${before}: the rest differs from an uninterrupted run by float rounding (set train.threads to ${before} to continue exactly)`);
    }
    const pruner: AttachedPruner | null =
      resolvedPruner && (await attachPruner(resolvedPruner, { spec, gates: model.gates, modelInfo: info, trainer, hooks, resumed: resumed?.checkpoint.pruner, log }));

    emit({ type: 'start', job_id: jobId, spec, backend, model_info: { ...info }, steps_per_epoch: trainer.stepsPerEpoch, total_steps: trainer.totalSteps, start_step: trainer.step, time: Date.now() });
    await hooks.call('setup');
    setupDone = true;

    const progress = progressReporter({ jobId, stepsPerEpoch: trainer.stepsPerEpoch, totalSteps: trainer.totalSteps, sparsity: () => sparsityReport(builtModel.gates).global, emit });
    const activeRecorder = recorder;
    await trainer.run(
      {
        onProgress: progress.onProgress,
        onEval: progress.onEval,
        onEpoch: async (record) => {
          emit({ type: 'epoch', job_id: jobId, time: Date.now(), ...record });
          await activeRecorder.epochs(activeTrainer.records, sparsityReport(builtModel.gates, reportOptions));
          await activeRecorder.status('running', activeTrainer.records);
        },
        onCheckpoint: async () => {
          const checkpoint = { job_id: jobId, timestamp: writer.timestamp, trainer: activeTrainer.state(), pruner: pruner?.checkpoint() ?? null };
          const path = await writeJobCheckpoint(spec.output_dir, activeTrainer.step, checkpoint);
          emit({ type: 'checkpoint', job_id: jobId, epoch: activeTrainer.counters.epoch, step: activeTrainer.step, path, time: Date.now() });
          progress.resetThroughput();
        },
      },
      signal,
    );

    const report = sparsityReport(model.gates, reportOptions);
    await recorder.epochs(trainer.records, report);
    if (pruner) {
      const tolerance = sparsityTolerance(model.gates, granularityOf(spec.pruning, config));
      assertSparsityTarget(report, spec.pruning.end_sparsity, pruner.name, tolerance);
    }
    await hooks.call('teardown');
    setupDone = false;
    const extraFiles: Record<string, string> = {};
    if (space && supernetRecord) {
      const subnets = await finalSubnets(model, space, data.evalSets, { task: spec.task, train: spec.train, padId: data.padId });
      log('info', `supernet: largest ${subnets.largest.key} ${JSON.stringify(subnets.largest.metrics)}, smallest ${subnets.smallest.key} ${JSON.stringify(subnets.smallest.metrics)}`);
      extraFiles.supernet = await writeSupernetRecord(spec.output_dir, { ...supernetRecord, ...subnets });
    }
    // Only a finished job leaves a model: failures and aborts have thrown before this point.
    const saved = await writeJobModel({ model, outputDir: spec.output_dir, task: spec.task, vocab: data.vocab, lowercase: spec.tokenizer.lowercase, examples: data.evalSets[0]?.examples ?? [], padId: data.padId, log });
    await recorder.status('done', trainer.records);
    const result = recorder.result(spec.output_dir, trainer.records, report, { model: saved.dir, ...extraFiles });
    emit({ type: 'done', job_id: jobId, result, time: Date.now() });
    await flush();
    return result;
  } catch (caught) {
    const ending = classifyFailure(caught);
    // teardown also on failure; its own error must not hide the first one.
    if (setupDone) await hooks.call('teardown').catch((e: unknown) => log('warn', `teardown after failure failed: ${(e as Error).message}`));
    try {
      const records = trainer?.records ?? [];
      if (ending.aborted) {
        log('info', `aborted at step ${trainer?.step ?? 0}; resume with resume: true`);
        await recorder?.status('aborted', records);
      } else {
        await recorder?.status('failed', records, { error: ending.info });
        emit({ type: 'failed', job_id: jobId, error: ending.info, time: Date.now() });
      }
      await flush();
    } catch {
      // Writing the failure must not replace the failure itself.
    }
    throw ending.error;
  } finally {
    trainer?.optimizer.dispose();
    model?.dispose();
    await replicas?.close();
  }
}

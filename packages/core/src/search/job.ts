/**
 * The search job (runJob dispatches to it when spec.search is set): a supernet's sub-networks
 * searched for the most accurate under a latency budget, the winner written as the job's model/.
 * Order: backend → task → space and init_checkpoint checked → run folder → data → the supernet's
 * weights → latency model (cached: gbp run measures before any job) → budget checked → search →
 * finalists measured → candidates.csv, summary.json → model/ → results.
 *
 * Deterministic given train.seed: a resumed search job re-runs from the start (nothing of it is
 * worth a checkpoint; every file it writes is atomic, so an interrupted one leaves none half written).
 */
import type { BackendInfo, EpochRecord, JobResult, OnJobEvent } from '../events.js';
import type { JobSpec } from '../spec.js';
import { initBackend } from '../backend/index.js';
import { getTask } from '../data/index.js';
import { GatedBert, modelInfo, resolveModelConfig } from '../model/index.js';
import { sparsityReport } from '../pruning/index.js';
import { Rng } from '../rng.js';
import { throwIfAborted } from '../abort.js';
import { writeJsonAtomic } from '../fs-atomic.js';
import { combineMetrics, evalBatchSize } from '../train/index.js';
import { resolveThreads } from '../parallel/threads.js';
import { jobEmitter } from '../job/emit.js';
import { openRun, prepareData } from '../job/prepare.js';
import { loadWeightsAndMasks, readInitCheckpoint } from '../job/checkpoint.js';
import { JobRecorder } from '../job/metadata.js';
import { classifyFailure } from '../job/failure.js';
import { loadPretrained } from '../job/pretrained.js';
import { JobSpecError } from '../job/spec.js';
import { archConfig, archKey, resolveSearchSpace, type SubnetArch } from './space.js';
import { evolutionarySearch, randomSearch, type Candidate, type SearchBudget } from './evolution.js';
import { predictLatency } from './latency-model.js';
import { budgetMs, checkSearchBudget, latencyModelFor, latencyRequestOf, measureLatencies } from './latency-cache.js';
import { evaluateSubnet } from './fitness.js';
import { subnetMasks, writeSubnetModel } from './extract.js';
import { searchFiles, writeSearchReport, type ScoredCandidate, type SearchSummary } from './report.js';

/** A latency model's held-out mean error above which its predictions are worth a warning. */
const NOISY_FIT = 0.2;

const meanAndMax = (xs: readonly number[]) => ({ mean_abs_error: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), max_abs_error: Math.max(0, ...xs) });

/** Runs the search job of `spec` (spec.search set) end to end; emits start, progress per scored candidate, log, epoch, done or failed. */
export async function runSearchJob(spec: JobSpec, onEvent: OnJobEvent, options: { signal?: AbortSignal } = {}): Promise<JobResult> {
  const { signal } = options;
  const search = spec.search;
  if (search === undefined) throw new Error(`job ${spec.id}: runSearchJob needs a search section`);
  const jobId = spec.id;
  const startedAt = new Date();
  const { emit, log, writeTo, flush } = jobEmitter(jobId, onEvent);
  let model: GatedBert | undefined;
  let recorder: JobRecorder | undefined;

  try {
    const backend: BackendInfo = { ...(await initBackend(spec.backend)) };
    const threads = resolveThreads(spec.train.threads, backend.name).threads;
    backend.threads = threads;
    const task = getTask(spec.task);
    // Refused before any work: the planner fills search.space from the supernet stage and init_checkpoint from init_from.
    if (search.space === undefined) throw new JobSpecError(['search.space: not set; give the space the supernet was trained on (a pipeline fills it in from the supernet stage)']);
    if (spec.init_checkpoint === undefined) {
      throw new JobSpecError(["init_checkpoint: not set; a search job starts from a supernet's checkpoint (in a pipeline, set init_from to the supernet stage)"]);
    }
    const initCheckpoint = spec.init_checkpoint;
    const pretrained = spec.model.from !== undefined ? await loadPretrained(spec, task.numLabels, log) : undefined;
    const config = pretrained?.config ?? resolveModelConfig(spec.model, task.numLabels);
    const space = resolveSearchSpace(search.space, config, 'search.space');
    const { writer } = await openRun(spec, startedAt, log, writeTo);
    const info = modelInfo(config);
    recorder = await JobRecorder.start(writer, { spec, task, backend, modelInfo: info, startedAt });
    const tokenizer = pretrained?.tokenizer ?? spec.tokenizer;
    const data = await prepareData({ ...spec, tokenizer }, task, config, log, signal);
    const firstEval = data.evalSets[0];
    if (firstEval === undefined || firstEval.examples.length === 0) throw new Error(`search: no evaluation examples for ${spec.task} to score sub-networks on`);

    const supernet = (model = new GatedBert(config, { seed: spec.train.seed }));
    const init = await readInitCheckpoint(initCheckpoint, (warning) => log('warn', warning));
    loadWeightsAndMasks(supernet, init.trainer, initCheckpoint);
    log('info', `supernet weights and masks from ${initCheckpoint}`);

    // Started before the latency model: measuring it (on a cache miss) is part of the job's time.
    // A step is a scored candidate; duplicates are scored once, so a search may end below total_steps.
    const totalSteps = search.method === 'random' ? search.candidates : search.population * (search.generations + 1);
    emit({ type: 'start', job_id: jobId, spec, backend, model_info: { ...info }, steps_per_epoch: totalSteps, total_steps: totalSteps, start_step: 0, time: Date.now() });

    const request = latencyRequestOf(spec, config, backend.name);
    const latency = await latencyModelFor(request, {
      signal,
      onProgress: (done, total) => {
        if (done === total || done % 10 === 0) log('info', `latency: ${done}/${total} sub-networks measured`);
      },
    });
    const latencyModel = latency.model;
    const fitText = `held-out error mean ${(100 * latencyModel.fit.mean_abs_error).toFixed(1)} %, max ${(100 * latencyModel.fit.max_abs_error).toFixed(1)} %`;
    log('info', `latency model ${latency.cached ? 'from the cache' : 'measured'} (${latency.path}): full model ${latencyModel.reference_ms.toFixed(2)} ms, ${fitText}`);
    if (latencyModel.fit.mean_abs_error > NOISY_FIT) {
      log('warn', `latency model: its held-out error (mean ${(100 * latencyModel.fit.mean_abs_error).toFixed(0)} %) is high; the measurements were noisy (a busy machine?): raise search.latency.runs, or remove ${latency.path} to measure again`);
    }
    checkSearchBudget(latencyModel, config, space, search);
    const files = searchFiles(spec.output_dir);
    await writeJsonAtomic(files.latencyModel, latencyModel);
    const targetMs = budgetMs(latencyModel, search.budget);
    const window: [number, number] = [search.window[0], search.window[1]];

    log('info', `searching (${search.method}) for ${targetMs.toFixed(2)} ms (window ${window[0]}-${window[1]} x) at batch ${request.batch} x ${request.seq}; fitness: ${task.primaryMetric} on ${firstEval.split}`);

    // The supernet's evaluation batch (on wasm, what fits the heap) fits every sub-network.
    const evalOptions = { task: spec.task, padId: data.padId, batchSize: evalBatchSize(config, data.evalSets.flatMap((set) => set.examples), spec.train), threads };
    const fullGated = info.num_gated_params;
    const gatedSparsity = (arch: SubnetArch) => 1 - modelInfo(archConfig(config, arch)).num_gated_params / Math.max(1, fullGated);
    let scored = 0;
    const fitness = async (arch: SubnetArch): Promise<number> => {
      throwIfAborted(signal, 'the search was aborted');
      const t0 = performance.now();
      const { results, tokens } = await evaluateSubnet(supernet, arch, [firstEval], evalOptions);
      const result = results[0]!;
      const value = result.metrics[task.primaryMetric];
      if (value === undefined) throw new Error(`search: ${spec.task}'s metrics have no ${task.primaryMetric} (got ${Object.keys(result.metrics).join(', ')})`);
      scored += 1;
      const time = Date.now();
      const seconds = Math.max(1e-3, (performance.now() - t0) / 1000);
      emit({ type: 'progress', job_id: jobId, epoch: 0, step: scored, epoch_step: scored, steps_per_epoch: totalSteps, total_steps: totalSteps, loss: result.loss, lr: 0, sparsity: gatedSparsity(arch), tokens_per_s: tokens / seconds, time });
      log('debug', `candidate ${scored}: ${archKey(arch)} ${task.primaryMetric} ${value.toFixed(4)}`);
      // A NaN metric (e.g. a constant prediction's correlation) must not win nor poison the ranking.
      return Number.isFinite(value) ? value : Number.NEGATIVE_INFINITY;
    };
    const budget: SearchBudget = { latency: (arch) => predictLatency(latencyModel, config, arch), budgetMs: targetMs, window };
    const rng = Rng.derive(spec.train.seed, 'search');
    const found =
      search.method === 'random'
        ? await randomSearch(space, budget, fitness, { candidates: search.candidates, rng })
        : await evolutionarySearch(space, budget, fitness, {
            rng,
            population: search.population,
            generations: search.generations,
            ...(search.parents !== undefined && { parents: search.parents }),
            exploreRate: search.explore_rate,
            mutationRate: search.mutation_rate,
          });

    // Finalists: the fittest candidates (ties in scoring order), each measured as the latency model's samples were.
    const ranked = [...found.candidates].sort((a, b) => b.fitness - a.fitness).slice(0, search.finalists);
    throwIfAborted(signal, 'the search was aborted');
    const measuredMs = await measureLatencies(
      ranked.map((c) => archConfig(config, c.arch)),
      { batch: request.batch, seq: request.seq, runs: request.runs, threads: request.threads },
      { ...(signal && { signal }) },
    );
    const finalists: { candidate: Candidate; measuredMs: number }[] = ranked.map((candidate, i) => ({ candidate, measuredMs: measuredMs[i]! }));
    for (const { candidate, measuredMs: ms } of finalists) {
      log('info', `finalist ${candidate.key}: ${task.primaryMetric} ${candidate.fitness.toFixed(4)}, ${candidate.latencyMs.toFixed(2)} ms predicted, ${ms.toFixed(2)} ms measured`);
    }
    const limitMs = targetMs * window[1];
    const within = finalists.find((f) => f.measuredMs <= limitMs);
    const chosen = within ?? finalists[0]!;
    if (within === undefined) {
      log('warn', `no finalist measured within ${limitMs.toFixed(2)} ms (the budget x ${window[1]}); taking the fittest, ${chosen.candidate.key} at ${chosen.measuredMs.toFixed(2)} ms measured: the latency model under-predicts here`);
    }
    log('info', `chosen: ${chosen.candidate.key}, ${task.primaryMetric} ${chosen.candidate.fitness.toFixed(4)}, ${chosen.measuredMs.toFixed(2)} ms measured (budget ${targetMs.toFixed(2)} ms)`);

    const measured = new Map(finalists.map((f) => [f.candidate.key, f.measuredMs]));
    const rows: ScoredCandidate[] = found.candidates.map((c) => ({
      ...c,
      params: modelInfo(archConfig(config, c.arch)).num_params,
      ...(measured.has(c.key) && { measuredMs: measured.get(c.key)! }),
      finalist: measured.has(c.key),
      chosen: c.key === chosen.candidate.key,
    }));
    const finalistErrors = finalists.map((f) => Math.abs(f.candidate.latencyMs - f.measuredMs) / f.measuredMs);
    const chosenArch = chosen.candidate.arch;
    const summary: SearchSummary = {
      method: search.method,
      budget: search.budget,
      budget_ms: targetMs,
      window,
      reference_ms: latencyModel.reference_ms,
      metric: task.primaryMetric,
      candidates: found.candidates.length,
      chosen: {
        arch: chosen.candidate.key,
        layers: chosenArch.layers,
        heads: chosenArch.heads,
        ffn: chosenArch.ffn,
        params: modelInfo(archConfig(config, chosenArch)).num_params,
        predicted_ms: chosen.candidate.latencyMs,
        measured_ms: chosen.measuredMs,
        fitness: chosen.candidate.fitness,
        within_budget: within !== undefined,
      },
      latency_fit: latencyModel.fit,
      finalists_error: { ...meanAndMax(finalistErrors), finalists: finalists.length },
    };
    await writeSearchReport(spec.output_dir, rows, summary);
    log('info', `latency model ${fitText}; finalists predicted vs measured: mean ${(100 * summary.finalists_error.mean_abs_error).toFixed(1)} %, max ${(100 * summary.finalists_error.max_abs_error).toFixed(1)} %`);

    // The chosen sub-network's validation metrics on every evaluation split, as a training job records an epoch.
    const evaluated = await evaluateSubnet(supernet, chosenArch, data.evalSets, evalOptions);
    const saved = await writeSubnetModel({ model: supernet, arch: chosenArch, outputDir: spec.output_dir, task: spec.task, vocab: data.vocab, lowercase: tokenizer.lowercase, examples: firstEval.examples, padId: data.padId, log });
    // The supernet's masks narrowed to the sub-network, so the sparsity report says which heads and neurons it keeps.
    for (const [name, mask] of subnetMasks(supernet, chosenArch).masks) supernet.gates.find((g) => g.name === name)!.setMask(mask);
    const report = sparsityReport(supernet.gates, { headSize: config.d_model / config.num_heads });
    const evalCount = data.evalSets.reduce((n, s) => n + s.examples.length, 0);
    const record: EpochRecord = {
      epoch: 0,
      step: scored,
      lr: 0,
      train_loss: Number.NaN, // nothing is trained: the CSV cell stays empty
      eval_loss: evaluated.results.reduce((sum, r, i) => sum + r.loss * data.evalSets[i]!.examples.length, 0) / Math.max(1, evalCount),
      metrics: combineMetrics(evaluated.results),
      sparsity: report.global,
      wall_time_s: (Date.now() - startedAt.getTime()) / 1000,
    };
    await recorder.epochs([record], report);
    emit({ type: 'epoch', job_id: jobId, time: Date.now(), ...record });
    await recorder.status('done', [record]);
    const result = recorder.result(spec.output_dir, [record], report, {
      model: saved.dir,
      search_candidates: files.candidates,
      search_summary: files.summary,
      latency_model: files.latencyModel,
    });
    emit({ type: 'done', job_id: jobId, result, time: Date.now() });
    await flush();
    return result;
  } catch (caught) {
    const ending = classifyFailure(caught);
    try {
      if (ending.aborted) {
        log('info', 'search aborted; it re-runs from the start on resume');
        await recorder?.status('aborted', []);
      } else {
        await recorder?.status('failed', [], { error: ending.info });
        emit({ type: 'failed', job_id: jobId, error: ending.info, time: Date.now() });
      }
      await flush();
    } catch {
      // Writing the failure must not replace the failure itself.
    }
    throw ending.error;
  } finally {
    model?.dispose();
  }
}

/**
 * Runs a Plan: claims the output folder (refusing one that is in use or not gbp's; without
 * --resume, moving an earlier run's job folders to previous/<time>/), writes plan.json, runs the jobs through the pool
 * while a reporter watches the store, keeps plan.json's statuses current, draws each finished job's
 * plots and, at the end, the bench of the jobs' compacted models (bench.json) and the pipeline's
 * comparison.
 */
import { mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { FileWriteError, readModelConfig, resolveModelConfig, type BackendName } from '@gbp/core';
import { benchFinishedJobs } from '../bench/run-jobs.js';
import { exportJobs } from './export-jobs.js';
import type { Plan, PlannedJob } from '../pipeline/plan.js';
import { hasEpochResults, writeJobPlots, writeComparison } from '../plots/results.js';
import { PARETO_PNG, writePareto } from '../plots/pareto.js';
import { initialView, type JobStatus, type JobView } from './job-view.js';
import { checkOutputOwner, markOutput, moveEarlierRun } from './output-folder.js';
import { lockOutput } from './output-lock.js';
import { finishedJobs, planPath, readPlanFile, writePlanFile, type PlanFile } from './plan-file.js';
import { jobLogPath } from './job-process.js';
import { runPool } from './pool.js';
import { pingQueue } from '../queue/ping.js';
import { redactQueueUrl } from '../queue/redis-url.js';
import { runQueuePool } from '../queue/submit-pool.js';
import { randomUUID } from 'node:crypto';
import { RunStore } from './store.js';

export interface RunPlanOptions {
  resume?: boolean;
  /** Write into a non-empty folder gbp did not make (still never overwriting what is there). */
  force?: boolean;
  /** Who holds the output folder's lock, as other runs are told (default 'gbp run'). */
  command?: string;
  signal?: AbortSignal;
  workerEntry?: string;
  gpus?: readonly number[];
  env?: Record<string, string>;
  abortGraceMs?: number;
  /** Draw PNG plots and the comparison (default true). */
  plots?: boolean;
  /** Measure the jobs' models when one was compacted, into bench.json (default true). */
  bench?: boolean;
  /** Run the jobs on `gbp worker` machines through this queue instead of local worker processes. */
  queue?: RunQueueOptions;
  /** Called with the store before any job starts (attach a reporter here). */
  onStore?: (store: RunStore) => void;
  /** Notes for the user (plot failures, the comparison's path). */
  note?: (message: string) => void;
}

export interface RunQueueOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  attempts: number;
  sendCheckpoints: boolean;
  /** How long one read of the events stream waits (ms; tests shorten it). */
  pollMs?: number;
}

export interface RunOutcome {
  readonly views: readonly JobView[];
  readonly failed: number;
  readonly aborted: boolean;
  readonly comparison?: { png: string; summary: string; plots: readonly string[] };
  /** bench.json, when the run measured its jobs' models. */
  readonly bench?: string;
  /** pareto.png, when the run had search jobs. */
  readonly pareto?: string;
  /** Folders the pipeline's export stages wrote. */
  readonly exports?: readonly string[];
  /** Set when plan.json could not be brought up to date: its statuses are stale. */
  readonly planFileError?: string;
}

export async function runPlan(plan: Plan, options: RunPlanOptions = {}): Promise<RunOutcome> {
  // Before anything is written or enqueued: the queue answers, and takes our password.
  if (options.queue) {
    await pingQueue(options.queue.url);
    // A worker cannot read the submitter's folders: a job started from another's checkpoint needs that.
  }
  checkOutputOwner(plan, options.force ?? false);
  try {
    mkdirSync(plan.output_dir, { recursive: true });
  } catch (error) {
    throw new FileWriteError(plan.output_dir, error);
  }
  const lock = lockOutput(plan.output_dir, options.command ?? 'gbp run');
  try {
    const earlier = moveEarlierRun(plan, options.resume ?? false);
    if (earlier) {
      const isJob = (path: string) => plan.jobs.some((j) => j.spec.output_dir === path);
      const jobs = earlier.moved.filter(isJob).length;
      const files = earlier.moved.filter((path) => !isJob(path)).map((path) => basename(path));
      const what = `${jobs} job folder${jobs === 1 ? '' : 's'}${files.length > 0 ? `, ${files.join(', ')}` : ''}`;
      options.note?.(`moved the earlier run (${what}) to ${earlier.dir}; gbp run --resume continues a run instead`);
    }
    await markOutput(plan.output_dir);
    return await runLocked(plan, options, (pids) => lock.setWorkers(pids));
  } finally {
    lock.release();
  }
}

async function runLocked(plan: Plan, options: RunPlanOptions, setWorkers: (pids: number[]) => void): Promise<RunOutcome> {
  const previous = options.resume ? readPlanFile(plan.output_dir) : undefined;
  const skip = finishedJobs(previous, plan);
  // The same run id on --resume: the submitter re-attaches to the jobs it queued before.
  const queueRun = options.queue && { run_id: previous?.queue?.run_id ?? randomUUID(), url: redactQueueUrl(options.queue.url) };
  const planFile: PlanFile = {
    ...plan,
    created: new Date().toISOString(),
    status: Object.fromEntries(plan.jobs.map((j) => [j.id, { status: 'pending' as JobStatus, log: jobLogPath(j.spec) }])),
    ...(queueRun && { queue: queueRun }),
  };
  // Before any job: a plan.json that cannot be written stops the run here, nothing started.
  await writePlanFile(planFile);

  const store = new RunStore(plan.jobs.map((job) => initialView(job, jobLogPath(job.spec))));
  options.onStore?.(store);
  const note = options.note ?? (() => undefined);

  // Later plan.json updates may fail (disk full): say so, carry on, and try again at the end.
  let planFileError: string | undefined;
  const savePlanFile = async () => {
    try {
      await writePlanFile(planFile);
      planFileError = undefined;
    } catch (error) {
      planFileError = error instanceof Error ? error.message : String(error);
      note(`${planFileError}; its statuses are behind until a later write succeeds`);
    }
  };

  const onFinished = async (job: PlannedJob, status: JobStatus) => {
    const view = store.get(job.id);
    planFile.status[job.id] = { status, log: view.logPath, updated: new Date().toISOString(), ...(view.error && { error: view.error }) };
    await savePlanFile();
    if (status === 'done' && options.plots !== false && hasEpochResults(job.spec.output_dir)) {
      try {
        await writeJobPlots(job.spec.output_dir);
      } catch (error) {
        note(`[${job.id}] plots failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  if (options.queue && queueRun) {
    await runQueuePool(plan.jobs, store, {
      url: options.queue.url,
      runId: queueRun.run_id,
      attempts: options.queue.attempts,
      sendCheckpoints: options.queue.sendCheckpoints,
      ...(options.queue.pollMs !== undefined && { pollMs: options.queue.pollMs }),
      skip,
      resume: options.resume ?? false,
      ...(options.signal && { signal: options.signal }),
      onFinished,
      onWarning: note,
    });
  } else await runPool(plan.jobs, store, {
    concurrency: plan.concurrency,
    skip,
    resume: options.resume ?? false,
    ...(options.signal && { signal: options.signal }),
    ...(options.workerEntry && { workerEntry: options.workerEntry }),
    ...(options.gpus && { gpus: options.gpus }),
    ...(options.env && { env: options.env }),
    ...(options.abortGraceMs !== undefined && { abortGraceMs: options.abortGraceMs }),
    onFinished,
    onWarning: note,
    // In the lock, so a run started after this one is killed waits for its workers to finish writing.
    onWorkers: (pids) => {
      try {
        setWorkers(pids);
      } catch (error) {
        note(`${error instanceof Error ? error.message : String(error)}; a run started after this one is killed may not wait for its workers`);
      }
    },
  });
  if (planFileError) await savePlanFile();

  const views = store.snapshot();
  const finishedViews = views.filter((v) => v.status === 'done' || v.status === 'skipped');
  // Before the comparison, so the summary can show the measured speedups.
  const bench = options.bench !== false && !options.signal?.aborted ? await benchJobs(plan, finishedViews, options, note) : undefined;
  let comparison: RunOutcome['comparison'];
  if (options.plots !== false) {
    // Jobs with epochs to compare (a search job has none: pareto.png shows it).
    const finished = finishedViews.map((v) => v.outputDir).filter(hasEpochResults);
    try {
      if (finished.length > 0) {
        const written = await writeComparison(plan.output_dir, finished, plan.pipeline);
        comparison = { png: written.png, summary: written.summary, plots: written.plots };
        written.notes.forEach((n) => note(n));
      }
      for (const report of plan.reports) {
        const dirs = views.filter((v) => report.jobs.includes(v.id) && (v.status === 'done' || v.status === 'skipped')).map((v) => v.outputDir).filter(hasEpochResults);
        if (dirs.length > 0) await writeComparison(`${plan.output_dir}/report_${report.stage}`, dirs, `${plan.pipeline}: ${report.stage}`);
      }
    } catch (error) {
      note(`comparison failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // With search jobs: their finalists and the benched jobs on one accuracy-vs-latency chart.
  let pareto: string | undefined;
  if (options.plots !== false) {
    try {
      const written = await writePareto(plan.output_dir, finishedViews.map((v) => v.outputDir), plan.pipeline);
      if (written) {
        pareto = written.png;
        written.notes.forEach((n) => note(n));
      }
    } catch (error) {
      note(`${PARETO_PNG} failed (the jobs' results are kept): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const exports = options.signal?.aborted ? [] : await exportJobs(plan, views, note);
  return {
    views,
    failed: views.filter((v) => v.status === 'failed' || v.status === 'blocked').length,
    aborted: options.signal?.aborted ?? false,
    ...(comparison && { comparison }),
    ...(bench && { bench }),
    ...(pareto && { pareto }),
    ...(exports.length > 0 && { exports }),
    ...(planFileError && { planFileError: `${planPath(plan.output_dir)} is out of date: ${planFileError}` }),
  };
}

/** bench.json of the finished jobs' models, or undefined (none compacted, or the bench failed: said in a note). */
async function benchJobs(plan: Plan, finished: readonly JobView[], options: RunPlanOptions, note: (message: string) => void): Promise<string | undefined> {
  try {
    const jobs: { dir: string; maxLen: number; backend: BackendName }[] = [];
    for (const view of finished) {
      const job = plan.jobs.find((j) => j.id === view.id);
      // A pretrained model's length is its checkpoint's (or the spec's cut): its model folder says.
      if (job) jobs.push({ dir: view.outputDir, maxLen: job.spec.model.from !== undefined ? (await readModelConfig(view.outputDir)).config.max_len : resolveModelConfig(job.spec.model).max_len, backend: job.spec.backend });
    }
    return await benchFinishedJobs(plan.output_dir, jobs, { note, ...(options.signal && { signal: options.signal }) });
  } catch (error) {
    note(`bench failed (the jobs' results are kept): ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

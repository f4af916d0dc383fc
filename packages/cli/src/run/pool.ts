/**
 * Runs planned jobs as worker processes (job-process.ts), at most `concurrency` at once, in
 * dependency order. A failing job is marked failed and the others go on; jobs that need it are
 * blocked. On abort every running worker is asked to stop (it checkpoints first), then killed
 * after a grace period.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { listJobCheckpoints } from '@gbp/core';
import type { PlannedJob } from '../pipeline/plan.js';
import { defaultWorkerEntry, GpuPicker, jobLogPath, startJobProcess, type JobProcess } from './job-process.js';
import { threadsShareEnv } from './threads-share.js';
import { FINISHED, type JobStatus } from './job-view.js';
import type { RunStore } from './store.js';

export interface PoolOptions {
  concurrency: number;
  /** The worker module: option, else env GBP_WORKER, else dist/run/worker.js. */
  workerEntry?: string;
  /** GPU ids: each running job gets the least used one as CUDA_VISIBLE_DEVICES. */
  gpus?: readonly number[];
  /** Ids of jobs already finished (resume): not run, their dependants may start. */
  skip?: ReadonlySet<string>;
  /** Jobs continue from their checkpoint (spec.resume). */
  resume?: boolean;
  signal?: AbortSignal;
  /** How long an aborted worker may take to checkpoint before it is killed (ms). */
  abortGraceMs?: number;
  /** Called when a job reaches a final status. */
  onFinished?: (job: PlannedJob, status: JobStatus) => void | Promise<void>;
  /** Called with the pids of the running workers whenever one starts or exits. */
  onWorkers?: (pids: number[]) => void;
  /** Problems that do not change a job's outcome (its job.log cannot be written). */
  onWarning?: (message: string) => void;
  env?: Record<string, string>;
}

export async function runPool(jobs: readonly PlannedJob[], store: RunStore, options: PoolOptions): Promise<void> {
  const entry = options.workerEntry ?? defaultWorkerEntry();
  const status = new Map<string, JobStatus>(jobs.map((j) => [j.id, 'pending']));
  const gpus = new GpuPicker(options.gpus);
  const running = new Map<string, JobProcess>();
  let aborting = false;
  // Jobs without train.threads share the cores: each gets cores / the most jobs that can run at once.
  const threadsEnv = threadsShareEnv(Math.min(options.concurrency, jobs.length));

  const finish = async (job: PlannedJob, final: JobStatus, change?: (v: ReturnType<RunStore['get']>) => ReturnType<RunStore['get']>) => {
    status.set(job.id, final);
    if (change) store.update(job.id, change);
    if (store.get(job.id).status !== final) store.update(job.id, (v) => ({ ...v, status: final }));
    await options.onFinished?.(job, final);
  };

  for (const id of options.skip ?? []) {
    const job = jobs.find((j) => j.id === id);
    if (job) await finish(job, 'skipped');
  }

  const onAbort = () => {
    aborting = true;
    for (const worker of running.values()) worker.abort(options.abortGraceMs ?? 60_000);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const ready = (job: PlannedJob) => job.needs.every((n) => status.get(n) === 'done' || status.get(n) === 'skipped');
  const blockedBy = (job: PlannedJob) => job.needs.find((n) => ['failed', 'aborted', 'blocked'].includes(status.get(n) ?? ''));

  const startJob = async (job: PlannedJob): Promise<void> => {
    status.set(job.id, 'running');
    // Running from the moment its worker is spawned (start-up included).
    store.update(job.id, (v) => ({ ...v, status: 'running' }));
    // The source job's folder: core starts from its newest intact checkpoint (passing over a damaged one).
    const initSource = job.initFrom ? jobs.find((j) => j.id === job.initFrom)!.spec.output_dir : undefined;
    const initCheckpoint = initSource && (await listJobCheckpoints(initSource)).length > 0 ? initSource : undefined;
    if (job.initFrom && !initCheckpoint) {
      mkdirSync(job.spec.output_dir, { recursive: true });
      appendFileSync(jobLogPath(job.spec), `no checkpoint found for ${job.initFrom}\n`);
      await finish(job, 'failed', (v) => ({ ...v, error: { message: `job ${job.initFrom} left no checkpoint to start from` } }));
      return;
    }
    const spec = { ...job.spec, resume: options.resume ?? false, ...(initCheckpoint && { init_checkpoint: initCheckpoint }) };
    const gpu = gpus.take();
    let worker: JobProcess;
    try {
      worker = startJobProcess(spec, {
        entry,
        env: { ...threadsEnv, ...options.env },
        ...(gpu !== undefined && { gpu }),
        onMessage: (message) => store.dispatch(job.id, message),
        ...(options.onWarning && { onWarning: options.onWarning }),
      });
    } catch (error) {
      gpus.give(gpu);
      throw error;
    }
    running.set(job.id, worker);
    const reportWorkers = () => options.onWorkers?.([...running.values()].flatMap((w) => (w.pid === undefined ? [] : [w.pid])));
    reportWorkers();
    if (aborting) worker.abort(options.abortGraceMs ?? 60_000);
    const { outcome, exit } = await worker.result;
    running.delete(job.id);
    reportWorkers();
    gpus.give(gpu);
    await finish(job, outcome, (v) =>
      outcome === 'failed' && !v.error ? { ...v, error: { message: `${exit} before reporting a result; see ${jobLogPath(job.spec)}` } } : v,
    );
  };

  const inFlight = new Set<Promise<void>>();
  for (;;) {
    for (const job of jobs) {
      if (status.get(job.id) !== 'pending') continue;
      if (aborting) {
        await finish(job, 'aborted', (v) => ({ ...v, error: { message: 'not started: the run was stopped' } }));
        continue;
      }
      const blocker = blockedBy(job);
      if (blocker) {
        await finish(job, 'blocked', (v) => ({ ...v, error: { message: `needs job ${blocker}, which did not finish` } }));
        continue;
      }
      if (inFlight.size >= options.concurrency || !ready(job)) continue;
      // A job that cannot even start (its folder cannot be made) fails alone, with the reason.
      const started: Promise<void> = startJob(job)
        .catch((error: unknown) => finish(job, 'failed', (v) => ({ ...v, error: { message: `cannot start: ${error instanceof Error ? error.message : String(error)}` } })))
        .finally(() => inFlight.delete(started));
      inFlight.add(started);
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
  }
  options.signal?.removeEventListener('abort', onAbort);
  // Every job ended one way or another.
  for (const job of jobs) if (!FINISHED.includes(status.get(job.id)!)) await finish(job, 'aborted');
}


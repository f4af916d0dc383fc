/**
 * Runs planned jobs as worker processes (execa, node IPC), at most `concurrency` at once, in
 * dependency order. A failing job is marked failed and the others go on; jobs that need it are
 * blocked. On abort every running worker is asked to stop (it checkpoints first), then killed
 * after a grace period.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listJobCheckpoints } from '@gbp/core';
import { execaNode } from 'execa';
import type { PlannedJob } from '../pipeline/plan.js';
import { FINISHED, type JobStatus } from './job-view.js';
import { isWorkerMessage, WORKER_EXIT, type ParentMessage, type WorkerMessage } from './protocol.js';
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

export const jobLogPath = (job: PlannedJob) => join(job.spec.output_dir, 'job.log');

export function defaultWorkerEntry(): string {
  return process.env.GBP_WORKER ?? fileURLToPath(new URL('./worker.js', import.meta.url));
}

export async function runPool(jobs: readonly PlannedJob[], store: RunStore, options: PoolOptions): Promise<void> {
  const entry = options.workerEntry ?? defaultWorkerEntry();
  const status = new Map<string, JobStatus>(jobs.map((j) => [j.id, 'pending']));
  const gpuUse = new Map<number, number>((options.gpus ?? []).map((g) => [g, 0]));
  const running = new Map<string, Worker>();
  let aborting = false;

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
    for (const subprocess of running.values()) {
      subprocess.sendMessage({ type: 'abort' } satisfies ParentMessage).catch(() => subprocess.kill('SIGTERM'));
    }
    const grace = setTimeout(() => {
      for (const subprocess of running.values()) subprocess.kill('SIGKILL');
    }, options.abortGraceMs ?? 60_000);
    grace.unref();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const ready = (job: PlannedJob) => job.needs.every((n) => status.get(n) === 'done' || status.get(n) === 'skipped');
  const blockedBy = (job: PlannedJob) => job.needs.find((n) => ['failed', 'aborted', 'blocked'].includes(status.get(n) ?? ''));

  const startJob = async (job: PlannedJob): Promise<void> => {
    status.set(job.id, 'running');
    // Running from the moment its worker is spawned (start-up included).
    store.update(job.id, (v) => ({ ...v, status: 'running' }));
    mkdirSync(job.spec.output_dir, { recursive: true });
    const log = createWriteStream(jobLogPath(job), { flags: 'a' });
    // A full disk must not crash the run through an unhandled stream error; the job goes on.
    let logFailed = false;
    log.on('error', (error) => {
      if (!logFailed) options.onWarning?.(`[${job.id}] cannot write ${jobLogPath(job)}: ${error.message}`);
      logFailed = true;
    });
    const gpu = pickGpu(gpuUse);
    // The source job's folder: core starts from its newest intact checkpoint (passing over a damaged one).
    const initSource = job.initFrom ? jobs.find((j) => j.id === job.initFrom)!.spec.output_dir : undefined;
    const initCheckpoint = initSource && (await listJobCheckpoints(initSource)).length > 0 ? initSource : undefined;
    if (job.initFrom && !initCheckpoint) {
      log.end(`no checkpoint found for ${job.initFrom}\n`);
      await finish(job, 'failed', (v) => ({ ...v, error: { message: `job ${job.initFrom} left no checkpoint to start from` } }));
      return;
    }
    const spec = { ...job.spec, resume: options.resume ?? false, ...(initCheckpoint && { init_checkpoint: initCheckpoint }) };
    log.write(`--- ${new Date().toISOString()} start ${job.id}${gpu !== undefined ? ` on GPU ${gpu}` : ''}${spec.resume ? ' (resume)' : ''}\n`);
    const subprocess = spawnWorker(entry, { ...options.env, ...(gpu !== undefined && { CUDA_VISIBLE_DEVICES: String(gpu) }) });
    running.set(job.id, subprocess);
    const reportWorkers = () => options.onWorkers?.([...running.values()].flatMap((w) => (w.pid === undefined ? [] : [w.pid])));
    reportWorkers();
    subprocess.stdout?.pipe(log, { end: false });
    subprocess.stderr?.pipe(log, { end: false });

    let final: WorkerMessage | undefined;
    // Node's own 'message' events, handled synchronously: execa's getEachMessage() can end on the
    // 'disconnect' that follows a worker's last message before yielding it.
    subprocess.on('message', (raw: unknown) => {
      if (!isWorkerMessage(raw)) return;
      logMessage(log, raw);
      if (raw.type === 'done' || raw.type === 'failed' || raw.type === 'aborted') final = raw;
      store.dispatch(job.id, raw);
    });
    await subprocess.sendMessage({ type: 'run', spec } satisfies ParentMessage).catch(() => undefined);
    const result = await subprocess;
    running.delete(job.id);
    reportWorkers();
    if (gpu !== undefined) gpuUse.set(gpu, (gpuUse.get(gpu) ?? 1) - 1);

    let outcome: JobStatus;
    if (final?.type === 'done' && result.exitCode === WORKER_EXIT.done) outcome = 'done';
    else if (final?.type === 'aborted' || (aborting && final?.type !== 'failed')) outcome = 'aborted';
    else outcome = 'failed';
    const exit = `worker exited with ${result.exitCode ?? result.signal}`;
    log.write(`--- ${new Date().toISOString()} ${outcome} (${exit})\n`);
    await new Promise((resolve) => (log.destroyed ? resolve(undefined) : log.end(resolve)));
    await finish(job, outcome, (v) =>
      outcome === 'failed' && !v.error ? { ...v, error: { message: `${exit} before reporting a result; see ${jobLogPath(job)}` } } : v,
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

function spawnWorker(entry: string, env: Record<string, string>) {
  return execaNode(entry, [], {
    ipc: true,
    serialization: 'advanced',
    // The parent's flags (e.g. a test runner's loaders) are not the worker's business.
    nodeOptions: [],
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cleanup: true,
    env,
  });
}
type Worker = ReturnType<typeof spawnWorker>;

function pickGpu(use: Map<number, number>): number | undefined {
  let best: number | undefined;
  for (const [gpu, count] of use) if (best === undefined || count < use.get(best)!) best = gpu;
  if (best !== undefined) use.set(best, use.get(best)! + 1);
  return best;
}

export function logMessage(log: WriteStream, message: WorkerMessage) {
  const time = new Date(message.time).toISOString();
  switch (message.type) {
    case 'log':
      log.write(`${time} ${message.level}${message.source ? ` [${message.source}]` : ''}: ${message.message}\n`);
      break;
    case 'epoch':
      log.write(`${time} epoch ${message.epoch}: ${JSON.stringify({ train_loss: message.train_loss, eval_loss: message.eval_loss, ...message.metrics, sparsity: message.sparsity })}\n`);
      break;
    case 'failed':
      log.write(`${time} failed: ${message.error.message}\n${message.error.stack ?? ''}\n`);
      break;
    case 'checkpoint':
      log.write(`${time} checkpoint: ${message.path}\n`);
      break;
    case 'start':
      log.write(`${time} start: backend ${message.backend.name} (${message.backend.reason})\n`);
      break;
    case 'done':
    case 'aborted':
      log.write(`${time} ${message.type}\n`);
      break;
    default:
      break;
  }
}

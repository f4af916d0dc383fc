/**
 * `gbp worker`'s loop: a BullMQ Worker on QUEUE_NAME that runs each QueuedJob in a worker process
 * exactly as a local run does (run/job-process.ts), relays its events to the run's stream, uploads
 * its files when done, and on stop() aborts the running jobs (they checkpoint) and hands them back
 * to the queue. A worker killed with -9 loses its lock: BullMQ's stalled check moves the job back.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { isPluginPath, type JobEvent, type JobSpec } from '@gbp/core';
import { Worker, WaitingError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { writeJobPlots } from '../plots/results.js';
import { defaultWorkerEntry, GpuPicker, startJobProcess, type JobProcess } from '../run/job-process.js';
import { threadsShareEnv } from '../run/threads-share.js';
import { QUEUE_DEFAULTS, QUEUE_NAME, type QueueEvent, type QueuedJob } from './protocol.js';
import { redactQueueUrl, redisOptions } from './redis-url.js';
import { fromOtherJobs, resumePoint, workFolder } from './worker-folder.js';
import { publishEvent, uploadResult } from './worker-results.js';

export interface QueueWorkerOptions {
  url: string;
  /** Tags every event this worker publishes. */
  name: string;
  concurrency: number;
  /** Root of the job folders: a shared --checkpoint-dir, else the worker's cache. */
  workRoot: string;
  backend?: JobSpec['backend'];
  gpus?: readonly number[];
  /** The job process module (default: dist/run/worker.js, or env GBP_WORKER). */
  workerEntry?: string;
  env?: Record<string, string>;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** How long an aborted job may take to checkpoint before it is killed (ms). */
  abortGraceMs?: number;
  /** One line per job taken, finished, failed or released. */
  onLine: (line: string) => void;
}

export class QueueConnectError extends Error {
  override name = 'QueueConnectError';
}

/** Resolves once `url` answers PING (with its password); else a QueueConnectError naming the redacted URL. */
export async function checkQueue(url: string): Promise<void> {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 10_000 });
  // A refused AUTH arrives as an 'error' event, and connect() then rejects with only 'Connection is closed.'
  let seen: Error | undefined;
  redis.on('error', (error: Error) => (seen ??= error));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const message = (seen ?? (error instanceof Error ? error : new Error(String(error)))).message;
    const why = /WRONGPASS|NOAUTH|invalid username-password/i.test(message) ? `authentication failed (${message})` : `cannot connect (${message})`;
    throw new QueueConnectError(`queue ${redactQueueUrl(url)}: ${why}`);
  } finally {
    redis.disconnect();
  }
}

export interface QueueWorker {
  /** Aborts the running jobs (they checkpoint), hands them back to the queue and closes the Worker. */
  stop(reason: string): Promise<void>;
  /** Kills the running job processes at once (a second signal); their jobs stall and BullMQ moves them back. */
  kill(): void;
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const connection = redisOptions(options.url);
  const redis = new Redis(connection);
  const entry = options.workerEntry ?? defaultWorkerEntry();
  const gpus = new GpuPicker(options.gpus);
  const running = new Set<JobProcess>();
  let stopping: string | undefined;
  const graceMs = options.abortGraceMs ?? 60_000;

  const processJob = async (job: Job<QueuedJob>, token?: string): Promise<void> => {
    const { run_id: runId, send_checkpoints: sendCheckpoints } = job.data;
    const jobId = job.data.spec?.id;
    const label = `${runId}/${jobId}`;
    const attempt = job.attemptsStarted;
    const publish = (event: QueueEvent) => publishEvent(redis, runId, event);
    const handBack = async (reason: string) => {
      await job.moveToWait(token);
      await publish({ kind: 'released', worker: options.name, job_id: jobId, attempt, reason, time: Date.now() });
      options.onLine(`released ${label} (${reason})`);
      throw new WaitingError();
    };
    if (stopping) return handBack(stopping);

    const dir = workFolder(options.workRoot, runId, jobId);
    const resumedFrom = await resumePoint(dir);
    await publish({ kind: 'taken', worker: options.name, job_id: jobId, attempt, resumed_from: resumedFrom, time: Date.now() });
    options.onLine(`taken ${label} (attempt ${attempt}, ${resumedFrom === null ? 'from the start' : `resumed from step ${resumedFrom}`}) -> ${dir}`);
    const fail = async (message: string): Promise<never> => {
      await publish({ kind: 'released', worker: options.name, job_id: jobId, attempt, reason: `failed: ${message}`, time: Date.now() });
      options.onLine(`failed ${label}: ${message}`);
      throw new Error(message);
    };

    const missing = missingPluginPath(job.data.spec);
    if (missing) {
      const message = `job ${jobId}: ${missing.field} ${missing.path} does not exist on worker ${options.name} (the queue carries specs, not code: install or copy it here at that path)`;
      await publish({ kind: 'job', worker: options.name, attempt, event: { type: 'failed', job_id: jobId, error: { message }, time: Date.now() } });
      return fail(message);
    }
    // The method resolves on this machine by the local rules: the submitter's module path is not ours.
    const { method_module: _submitters, ...planned } = job.data.spec;
    let spec: JobSpec = { ...planned, output_dir: dir, resume: resumedFrom !== null, ...(options.backend && { backend: options.backend }) };
    // What a job starts from or distils from is another job's folder here, not the submitter's path.
    const from = await fromOtherJobs(job.data, options.workRoot, options.name);
    if ('problem' in from) {
      await publish({ kind: 'job', worker: options.name, attempt, event: { type: 'failed', job_id: jobId, error: { message: from.problem }, time: Date.now() } });
      return fail(from.problem);
    }
    spec = from.apply(spec);

    // Relayed in order: one connection sends commands in the order they are issued.
    let relayed: Promise<unknown> = Promise.resolve();
    let relayFailed = false;
    const relay = (event: JobEvent) => {
      relayed = relayed
        .then(() => publish({ kind: 'job', worker: options.name, attempt, event }))
        .catch((error: unknown) => {
          // The job goes on (its files still go back at the end); say once that the stream misses events.
          if (!relayFailed) options.onLine(`[${label}] cannot publish its events to ${redactQueueUrl(options.url)}: ${error instanceof Error ? error.message : String(error)}`);
          relayFailed = true;
        });
    };
    const gpu = gpus.take();
    let result;
    try {
      const child = startJobProcess(spec, {
        entry,
        // Jobs without train.threads share this machine's cores: cores / concurrency each.
        env: { ...threadsShareEnv(options.concurrency), ...options.env },
        ...(gpu !== undefined && { gpu }),
        startNote: `queue ${redactQueueUrl(options.url)} worker ${options.name} attempt ${attempt}`,
        onMessage: (message) => {
          if (message.type !== 'aborted') relay(message);
        },
        onWarning: options.onLine,
      });
      running.add(child);
      if (stopping) child.abort(graceMs);
      result = await child.result.finally(() => running.delete(child));
    } finally {
      gpus.give(gpu);
    }
    await relayed;

    if (result.outcome === 'aborted') return handBack(stopping ?? 'aborted');
    if (result.outcome === 'failed') {
      const error = result.final?.type === 'failed' ? result.final.error.message : `${result.exit} before reporting a result`;
      return fail(error);
    }
    try {
      await writeJobPlots(dir);
    } catch (error) {
      options.onLine(`[${label}] plots failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const files = await uploadResult(redis, runId, jobId, dir, { checkpoints: sendCheckpoints === true, worker: options.name });
    options.onLine(`finished ${label}: ${files.length} files (${files.reduce((n, f) => n + f.bytes, 0)} bytes) sent`);
  };

  const worker = new Worker<QueuedJob>(QUEUE_NAME, processJob, {
    connection,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? QUEUE_DEFAULTS.lockDurationMs,
    stalledInterval: options.stalledIntervalMs ?? QUEUE_DEFAULTS.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount ?? QUEUE_DEFAULTS.maxStalledCount,
  });
  // Connection errors are retried by ioredis; the processor's own errors fail their job.
  worker.on('error', (error) => options.onLine(`queue ${redactQueueUrl(options.url)}: ${error.message}`));
  redis.on('error', () => undefined);
  await worker.waitUntilReady();

  return {
    stop: async (reason: string) => {
      stopping = reason;
      for (const child of running) child.abort(graceMs);
      await worker.close();
      await redis.quit().catch(() => redis.disconnect());
    },
    kill: () => {
      for (const child of running) child.kill();
    },
  };
}

/** The first method or plugins entry that is a path absent here (absolute after planning; else relative to cwd). */
function missingPluginPath(spec: JobSpec): { field: string; path: string } | undefined {
  const entries: [string, string][] = [['method', spec.method], ...(spec.plugins ?? []).map((p, i): [string, string] => [`plugins[${i}]`, p])];
  for (const [field, entry] of entries) {
    if (!isPluginPath(entry)) continue;
    const path = isAbsolute(entry) ? entry : resolvePath(entry);
    if (!existsSync(path)) return { field, path };
  }
  return undefined;
}

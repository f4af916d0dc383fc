/**
 * runPool's contract over BullMQ: each planned job is enqueued (jobId queueJobId(run, job)) once
 * the jobs it needs are done, and the run's events stream, read from its start, drives the store
 * as a local worker's messages do. A job is done once its result files are written into its
 * folder; it fails when BullMQ fails it for good (its attempts or stalls are used up), with the
 * error its worker reported. On abort the submitter stops waiting and leaves the queue as it is.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import type { JobErrorInfo, JobEvent } from '@gbp/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { PlannedJob } from '../pipeline/plan.js';
import { FINISHED, type JobStatus, type JobView } from '../run/job-view.js';
import { jobLogPath, logMessage } from '../run/job-process.js';
import type { PoolOptions } from '../run/pool.js';
import type { WorkerMessage } from '../run/protocol.js';
import type { RunStore } from '../run/store.js';
import { QUEUE_DEFAULTS, QUEUE_NAME, queueJobId, runKeys, type QueuedJob, type QueueEvent } from './protocol.js';
import { redactQueueUrl, redisOptions } from './redis-url.js';
import { fetchResultFiles } from './result-files.js';

export interface QueuePoolOptions extends Pick<PoolOptions, 'skip' | 'resume' | 'signal' | 'onFinished' | 'onWarning'> {
  url: string;
  /** The run's id: its keys in Redis; the same on --resume, so the submitter re-attaches. */
  runId: string;
  attempts?: number;
  sendCheckpoints?: boolean;
  /** How long one XREAD waits for events before queue states and the abort signal are looked at (ms). */
  pollMs?: number;
}

/** What BullMQ says of an enqueued job, and the attempt and error its worker reported last. */
interface Tracked {
  job: PlannedJob;
  log: WriteStream;
  error?: JobErrorInfo;
  done?: JobEvent;
}

export async function runQueuePool(jobs: readonly PlannedJob[], store: RunStore, options: QueuePoolOptions): Promise<void> {
  const connection = redisOptions(options.url);
  // Our own client, lent to BullMQ: after an abort it is dropped at once (BullMQ's close waits for Redis).
  const queueClient = new Redis(connection);
  const queue = new Queue<QueuedJob>(QUEUE_NAME, { connection: queueClient });
  const reader = new Redis(connection);
  const warn = options.onWarning ?? (() => undefined);
  // The clients reconnect on their own; a Redis that is down is said once per new reason, not per retry.
  let lastConnectionError = '';
  const onConnectionError = (error: Error) => {
    const message = `queue ${redactQueueUrl(options.url)}: ${error.message}; still trying (Ctrl-C stops waiting)`;
    if (message !== lastConnectionError) warn(message);
    lastConnectionError = message;
  };
  queue.on('error', onConnectionError);
  queueClient.on('error', onConnectionError);
  reader.on('error', onConnectionError);
  // Any wait on Redis (a blocked read, or a command waiting for Redis to come back) ends at once on abort.
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    if (options.signal?.aborted) onAbort();
  });
  aborted.catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const orAbort = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, aborted]);
  const status = new Map<string, JobStatus>(jobs.map((j) => [j.id, 'pending']));
  const tracked = new Map<string, Tracked>();
  const keys = runKeys(options.runId);

  const finish = async (job: PlannedJob, final: JobStatus, change?: (v: JobView) => JobView) => {
    status.set(job.id, final);
    if (change) store.update(job.id, change);
    if (store.get(job.id).status !== final) store.update(job.id, (v) => ({ ...v, status: final }));
    const entry = tracked.get(job.id);
    if (entry) {
      entry.log.write(`--- ${new Date().toISOString()} ${final}\n`);
      await new Promise((resolve) => (entry.log.destroyed ? resolve(undefined) : entry.log.end(resolve)));
      tracked.delete(job.id);
    }
    await options.onFinished?.(job, final);
  };
  /** A line in the job's log and in its view (and so in both reporters). */
  const note = (id: string, level: 'info' | 'warn', message: string) => {
    const event: WorkerMessage = { type: 'log', job_id: id, level, message, source: 'queue', time: Date.now() };
    const entry = tracked.get(id);
    if (entry) logMessage(entry.log, event);
    store.dispatch(id, event);
  };

  for (const id of options.skip ?? []) {
    const job = jobs.find((j) => j.id === id);
    if (job) await finish(job, 'skipped');
  }

  const openLog = (job: PlannedJob): WriteStream => {
    mkdirSync(job.spec.output_dir, { recursive: true });
    const log = createWriteStream(jobLogPath(job.spec), { flags: 'a' });
    let logFailed = false;
    log.on('error', (error) => {
      if (!logFailed) warn(`[${job.id}] cannot write ${jobLogPath(job.spec)}: ${error.message}`);
      logFailed = true;
    });
    return log;
  };

  const enqueue = async (job: PlannedJob) => {
    status.set(job.id, 'running');
    const log = openLog(job);
    tracked.set(job.id, { job, log });
    const jobId = queueJobId(options.runId, job.id);
    let existing = options.resume ? await queue.getJob(jobId) : undefined;
    // A job the queue failed for good runs again on --resume, as a local run's failed job does.
    if (existing && (await existing.getState()) === 'failed') {
      await existing.remove();
      log.write(`--- ${new Date().toISOString()} ${job.id} failed on the queue before; queued again\n`);
      existing = undefined;
    }
    if (existing) {
      log.write(`--- ${new Date().toISOString()} re-attached to ${job.id} on queue ${redactQueueUrl(options.url)} (BullMQ job ${jobId}, ${await existing.getState()})\n`);
    } else {
      const data: QueuedJob = {
        run_id: options.runId,
        spec: { ...job.spec, resume: options.resume ?? false },
        submitter_output_dir: job.spec.output_dir,
        send_checkpoints: options.sendCheckpoints ?? false,
        ...(job.initFrom !== undefined && { init_from_job: job.initFrom }),
        ...(job.teacherFrom !== undefined && { teacher_from_job: job.teacherFrom }),
        ...(job.modelFrom !== undefined && { model_from_job: job.modelFrom }),
      };
      await queue.add(job.id, data, { jobId, attempts: options.attempts ?? QUEUE_DEFAULTS.attempts });
      log.write(`--- ${new Date().toISOString()} queued ${job.id} on ${redactQueueUrl(options.url)} (BullMQ job ${jobId})${data.spec.resume ? ' (resume)' : ''}\n`);
    }
    // Queued: running as far as the run is concerned; which worker takes it shows on 'taken'.
    store.update(job.id, (v) => ({ ...v, status: 'running' }));
  };

  const onEvent = async (event: QueueEvent) => {
    const id = event.kind === 'job' ? event.event.job_id : event.job_id;
    const entry = tracked.get(id);
    // Events of jobs finished earlier (skipped on --resume) or already settled are history.
    if (!entry || status.get(id) !== 'running') return;
    if (store.get(id).worker !== event.worker) store.update(id, (v) => ({ ...v, worker: event.worker }));
    switch (event.kind) {
      case 'taken':
        note(id, 'info', `taken by ${event.worker} (attempt ${event.attempt}): ${event.resumed_from !== null ? `resumed from checkpoint step ${event.resumed_from}` : event.attempt > 1 ? 'restarted from the start' : 'started'}`);
        return;
      case 'released':
        note(id, 'warn', `released by ${event.worker} (attempt ${event.attempt}): ${event.reason}`);
        return;
      case 'job': {
        const message = event.event;
        // Final outcomes wait: done once the files are written, failed once BullMQ gives up.
        if (message.type === 'done') {
          entry.done = message;
          logMessage(entry.log, message);
          return;
        }
        if (message.type === 'failed') {
          entry.error = message.error;
          logMessage(entry.log, message);
          note(id, 'warn', `attempt ${event.attempt} on ${event.worker} failed: ${message.error.message}`);
          return;
        }
        logMessage(entry.log, message);
        store.dispatch(id, message);
        return;
      }
      case 'result': {
        try {
          // The worker's job.log goes into ours (which this run is writing), not over it.
          const { written, held } = await fetchResultFiles(reader, options.runId, id, entry.job.spec.output_dir, event.files, (path) => path === 'job.log');
          const workerLog = held.get('job.log');
          if (workerLog) entry.log.write(Buffer.concat([Buffer.from(`--- ${event.worker}'s job.log\n`), workerLog, Buffer.from(`--- end of ${event.worker}'s job.log\n`)]));
          entry.log.write(`--- ${new Date().toISOString()} ${written.length} result files from ${event.worker} written to ${entry.job.spec.output_dir}\n`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await finish(entry.job, 'failed', (v) => ({ ...v, error: { message }, logs: [...v.logs, `failed: ${message}`] }));
          return;
        }
        const done: WorkerMessage = entry.done ?? { type: 'log', job_id: id, level: 'info', message: 'result written', time: event.time };
        store.dispatch(id, done);
        await finish(entry.job, 'done');
        return;
      }
    }
  };

  let lastId = '0';
  let lastCheck = 0;
  /** Reads and applies the events after lastId (waiting up to blockMs for the first); false when there were none. */
  const readEvents = async (blockMs: number | undefined): Promise<boolean> => {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    const read = (await reader.xread('COUNT', 100, ...(block as ['BLOCK', number]), 'STREAMS', keys.events, lastId)) as [string, [string, string[]][]][] | null;
    lastConnectionError = '';
    for (const [, entries] of read ?? []) {
      for (const [entryId, fields] of entries) {
        lastId = entryId;
        const data = fields[fields.indexOf('data') + 1];
        let event: QueueEvent;
        try {
          event = JSON.parse(data ?? '') as QueueEvent;
        } catch {
          warn(`queue ${redactQueueUrl(options.url)}: ${keys.events} entry ${entryId} is not JSON; ignored`);
          continue;
        }
        // Not cut short: a result half written must finish (or fail) before the run ends.
        await onEvent(event);
      }
    }
    return read !== null && read.some(([, entries]) => entries.length > 0);
  };

  /** Jobs BullMQ failed for good: their worker's last error (else BullMQ's reason, e.g. too many stalls). */
  const checkFailed = async () => {
    const failed: { id: string; reason: string }[] = [];
    for (const id of tracked.keys()) {
      const job = await queue.getJob(queueJobId(options.runId, id));
      if (job && (await job.getState()) === 'failed') failed.push({ id, reason: job.failedReason });
    }
    if (failed.length === 0) return;
    // A worker publishes its error before BullMQ fails the job: read the stream to now first.
    while (await readEvents(undefined));
    for (const { id, reason } of failed) {
      const entry = tracked.get(id);
      if (!entry || status.get(id) !== 'running') continue;
      const error: JobErrorInfo = entry.error ?? { message: `the queue failed the job: ${reason}` };
      store.dispatch(id, { type: 'failed', job_id: id, error, time: Date.now() });
      await finish(entry.job, 'failed');
    }
  };

  /** A wait cut short by the abort is the end of waiting; any other error is the run's. */
  const STOPPED = Symbol('stopped');
  const stopIfAborted = (error: unknown): typeof STOPPED => {
    if (options.signal?.aborted) return STOPPED;
    throw error;
  };
  const ready = (job: PlannedJob) => job.needs.every((n) => status.get(n) === 'done' || status.get(n) === 'skipped');
  const blockedBy = (job: PlannedJob) => job.needs.find((n) => ['failed', 'aborted', 'blocked'].includes(status.get(n) ?? ''));
  try {
    for (;;) {
      if (options.signal?.aborted) break;
      for (const job of jobs) {
        if (status.get(job.id) !== 'pending') continue;
        const blocker = blockedBy(job);
        if (blocker) await finish(job, 'blocked', (v) => ({ ...v, error: { message: `needs job ${blocker}, which did not finish` } }));
        else if (ready(job)) await orAbort(enqueue(job)).catch(stopIfAborted);
      }
      if (options.signal?.aborted) break;
      if (jobs.every((j) => FINISHED.includes(status.get(j.id)!))) break;
      const any = await orAbort(readEvents(options.pollMs ?? 1_000)).catch(stopIfAborted);
      if (any === STOPPED) break;
      // When the stream is quiet, and at least every pollMs while other jobs keep it busy.
      if (!any || Date.now() - lastCheck >= (options.pollMs ?? 1_000)) {
        lastCheck = Date.now();
        await orAbort(checkFailed()).catch(stopIfAborted);
      }
    }
    // Stopped: the queue keeps the jobs; the workers keep running them.
    for (const job of jobs) {
      if (FINISHED.includes(status.get(job.id)!)) continue;
      const queued = status.get(job.id) === 'running';
      await finish(job, 'aborted', (v) => ({ ...v, error: { message: queued ? 'still on the queue: it keeps running on a worker; gbp run --resume re-attaches' : 'not queued: the run was stopped' } }));
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const entry of tracked.values()) entry.log.end();
    reader.disconnect();
    if (!options.signal?.aborted) await queue.close();
    queueClient.disconnect();
  }
}

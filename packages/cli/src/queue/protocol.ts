/**
 * A gbp run spread over machines on BullMQ (Redis): the one description of what travels through
 * Redis, shared by the submitter (`gbp run --queue`) and `gbp worker`. The queue carries job specs
 * and results, never code: a worker resolves pruners from what is installed on it.
 *
 *   submitter                              Redis                                   worker(s)
 *   enqueue a job once its needs are done  bull:<QUEUE_NAME>:*  (BullMQ queue)     take it, run it in a child process
 *   read events, update the dashboard  <-  gbp:run:<run>:events (stream, XADD)  <- every JobEvent, tagged with the worker
 *   write the files where a local run  <-  gbp:run:<run>:files:<job> (hash)     <- the job folder's files after `done`
 *   would, atomically, then delete them     path -> bytes, + a 'result' event
 */
import type { JobEvent, JobSpec } from '@gbp/core';

/** BullMQ queue name (its keys are bull:gbp-jobs:*). One queue for every run; jobs carry their run id. */
export const QUEUE_NAME = 'gbp-jobs';

/** Redis keys of one run. */
export const runKeys = (runId: string) => ({
  /** Stream of QueueEvent, in order; the submitter reads it from the start on --resume. */
  events: `gbp:run:${runId}:events`,
  /** Hash path -> file bytes of a finished job, written by the worker, deleted by the submitter once written. */
  files: (jobId: string) => `gbp:run:${runId}:files:${jobId}`,
});

/**
 * BullMQ job id of a gbp job: stable, so a re-attached submitter finds the jobs it enqueued. '/'
 * joins them: BullMQ refuses a custom id with ':' (its own key separator), and neither id holds '/'.
 */
export const queueJobId = (runId: string, jobId: string): string => `${runId}/${jobId}`;

/** What a BullMQ job carries: one gbp job of one run. */
export interface QueuedJob {
  run_id: string;
  /** The job spec as the submitter planned it; a worker replaces output_dir with its own folder and resolves method by name/path on its own machine (method_module is the submitter's and is ignored). */
  spec: JobSpec;
  /** Where the submitter writes the results (for messages only: a worker never writes there). */
  submitter_output_dir: string;
  /** Send checkpoints/ back too (default: no). */
  send_checkpoints: boolean;
  /**
   * A job of this run whose final checkpoint this one starts from (a stage's init_from): a worker
   * finds it in that job's work folder (its own, or the shared --checkpoint-dir), never at the
   * submitter's path in spec.init_checkpoint.
   */
  init_from_job?: string;
  /** A job of this run whose model/ is this one's distillation teacher (train.distill.teacher naming a stage), found the same way. */
  teacher_from_job?: string;
  /** A job of this run whose model/ this one starts from (model.from naming a stage), found the same way. */
  model_from_job?: string;
}

/** One entry of the events stream (the stream field `data` holds its JSON). */
export type QueueEvent =
  /** A JobEvent of the job's runJob, as a local run's worker process sends it. */
  | { kind: 'job'; worker: string; attempt: number; event: JobEvent }
  /** A worker took the job; `resumed_from` is the checkpoint step it continues from (shared --checkpoint-dir), else it starts afresh. */
  | { kind: 'taken'; worker: string; job_id: string; attempt: number; resumed_from: number | null; time: number }
  /** The job's files are in runKeys(run).files(job_id): `files` lists each with its size and sha256. */
  | { kind: 'result'; worker: string; job_id: string; files: ResultFile[]; time: number }
  /** The worker handed the job back (SIGTERM: checkpointed first) or saw it fail; BullMQ decides what runs next. */
  | { kind: 'released'; worker: string; job_id: string; attempt: number; reason: string; time: number };

export interface ResultFile {
  /** Relative to the job folder, '/'-separated, never '..' or absolute. */
  path: string;
  bytes: number;
  sha256: string;
}

/** Defaults of the queue settings (run.queue_* in a pipeline file, flags of gbp worker). */
export const QUEUE_DEFAULTS = {
  /** Attempts of a job that fails by itself (its error), before it is failed for good. */
  attempts: 1,
  /** BullMQ lock duration: a worker that has not renewed its lock for this long is stalled (ms). */
  lockDurationMs: 30_000,
  /** How often stalled jobs are looked for (ms). */
  stalledIntervalMs: 15_000,
  /** Stalls (e.g. a worker killed with -9) a job may have before it fails. */
  maxStalledCount: 2,
} as const;

/** Approximate cap of a run's events stream (XADD MAXLEN ~): generous, so a submitter that re-attaches late still reads every event of a large sweep, yet bounded. */
export const EVENTS_MAXLEN = 1_000_000;

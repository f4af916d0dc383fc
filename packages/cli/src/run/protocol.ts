/** Messages between `gbp run` and its worker processes (node IPC, advanced serialization). */
import type { JobEvent, JobSpec } from '@gbp/core';

/** Parent -> worker. */
export type ParentMessage = { type: 'run'; spec: JobSpec } | { type: 'abort' };

/** Worker -> parent: every JobEvent of runJob, plus 'aborted' when it stopped on request. */
export type WorkerMessage = JobEvent | { type: 'aborted'; job_id: string; message: string; time: number };

/** Exit codes of a worker. */
export const WORKER_EXIT = { done: 0, failed: 1, aborted: 130 } as const;

export const isWorkerMessage = (value: unknown): value is WorkerMessage =>
  typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && 'job_id' in value;

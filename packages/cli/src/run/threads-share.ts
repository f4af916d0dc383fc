/**
 * Each job's share of the cores when several run at once on one machine (gbp run's pool, a gbp
 * worker's concurrency): GBP_THREADS for the job processes, which a job's train.threads overrides.
 */
import { availableParallelism } from 'node:os';
import { THREADS_ENV } from '@gbp/core';

/** GBP_THREADS = cores / jobs at once (at least 1); nothing when the user set GBP_THREADS, whose value stands. */
export function threadsShareEnv(jobsAtOnce: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): Record<string, string> {
  if (env[THREADS_ENV] !== undefined && env[THREADS_ENV] !== '') return {};
  return { [THREADS_ENV]: String(Math.max(1, Math.floor(cores / Math.max(1, jobsAtOnce)))) };
}

/**
 * How many threads one job uses: train.threads, else GBP_THREADS (gbp run sets it to its share of
 * the cores when jobs run side by side), else every core. Only the wasm and cpu backends run
 * replicas; native and GPU backends have threads of their own.
 */
import { availableParallelism } from 'node:os';

/** The environment variable gbp run and gbp worker set to each job's share of the cores. */
export const THREADS_ENV = 'GBP_THREADS';

export const REPLICA_BACKENDS = ['wasm', 'cpu'] as const;

/** Threads when the spec does not say: GBP_THREADS when set (refused unless a positive integer), else all cores. */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[THREADS_ENV];
  if (raw === undefined || raw === '') return availableParallelism();
  if (!/^[1-9]\d*$/.test(raw.trim())) throw new Error(`${THREADS_ENV}=${JSON.stringify(raw)}: expected a positive integer (threads per job)`);
  return Number(raw.trim());
}

export interface ThreadsChoice {
  readonly threads: number;
  /** Why, for the job's log: where the number came from, or why it was not used. */
  readonly reason: string;
}

/** The threads to run with on `backend`, given `requested` (train.threads, or `label` names where it came from). */
export function resolveThreads(requested: number | undefined, backend: string, env: NodeJS.ProcessEnv = process.env, label = 'train.threads'): ThreadsChoice {
  const wanted = requested ?? defaultThreads(env);
  const source = requested !== undefined ? label : env[THREADS_ENV] ? THREADS_ENV : `all ${wanted} cores`;
  if (!(REPLICA_BACKENDS as readonly string[]).includes(backend)) {
    return { threads: 1, reason: `backend ${backend} runs its own threads; gbp's replicas (${source}: ${wanted}) are for wasm and cpu` };
  }
  const cores = availableParallelism();
  // More threads than cores only take turns on them (and each replica holds a copy of the model).
  const over = wanted > cores ? `; more than this machine's ${cores} cores` : '';
  return { threads: wanted, reason: `${wanted} thread${wanted === 1 ? '' : 's'} (${source}${over})` };
}

/**
 * Where `gbp worker` runs a queued job: DIR/<run_id>/<job_id> under --checkpoint-dir (shared
 * storage: a job retried on another worker resumes from the checkpoints there), else under the
 * worker's own cache. The ids come from Redis, so each must be one plain path segment.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { listJobCheckpoints } from '@gbp/core';

export class WorkFolderError extends Error {
  override name = 'WorkFolderError';
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** ~/.cache/gbp/worker (XDG_CACHE_HOME respected): a worker's own folders when no --checkpoint-dir is shared. */
export function defaultWorkerCache(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gbp', 'worker');
}

/** root/<run_id>/<job_id>; refuses ids that are not one plain path segment (no '/', '..'). */
export function workFolder(root: string, runId: string, jobId: string): string {
  for (const [field, value] of [['run_id', runId], ['spec.id', jobId]] as const) {
    if (typeof value !== 'string' || !SEGMENT.test(value)) {
      throw new WorkFolderError(`queued job: ${field} ${JSON.stringify(value)} is not a plain folder name (letters, digits, '.', '_', '-')`);
    }
  }
  return join(root, runId, jobId);
}

/** The step of the newest checkpoint in a job folder, or null: where a resumed job continues. */
export async function resumePoint(dir: string): Promise<number | null> {
  const [newest] = await listJobCheckpoints(dir);
  return newest?.step ?? null;
}

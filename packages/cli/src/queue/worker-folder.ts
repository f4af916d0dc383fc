/**
 * Where `gbp worker` runs a queued job: DIR/<run_id>/<job_id> under --checkpoint-dir (shared
 * storage: a job retried on another worker resumes from the checkpoints there), else under the
 * worker's own cache. The ids come from Redis, so each must be one plain path segment.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { listJobCheckpoints, type JobSpec } from '@gbp/core';
import type { QueuedJob } from './protocol.js';

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

const SHARED_HINT = 'give the workers a shared --checkpoint-dir (or run the pipeline on one worker)';

/**
 * The spec change that points init_checkpoint, train.distill.teacher and model.from at the work
 * folders of the jobs they come from (QueuedJob.init_from_job / teacher_from_job / model_from_job),
 * or why this worker cannot see them.
 */
export async function fromOtherJobs(
  queued: Pick<QueuedJob, 'run_id' | 'spec' | 'init_from_job' | 'teacher_from_job' | 'model_from_job'>,
  root: string,
  worker: string,
): Promise<{ apply: (spec: JobSpec) => JobSpec } | { problem: string }> {
  const jobId = queued.spec.id;
  let init: string | undefined;
  let teacher: string | undefined;
  if (queued.init_from_job !== undefined) {
    init = workFolder(root, queued.run_id, queued.init_from_job);
    if ((await listJobCheckpoints(init)).length === 0) {
      return { problem: `job ${jobId} starts from job ${queued.init_from_job}'s checkpoint, which is not on worker ${worker} (looked in ${init}); ${SHARED_HINT}` };
    }
  }
  if (queued.teacher_from_job !== undefined) {
    teacher = workFolder(root, queued.run_id, queued.teacher_from_job);
    if (!existsSync(join(teacher, 'model', 'config.json'))) {
      return { problem: `job ${jobId} distils from job ${queued.teacher_from_job}'s model, which is not on worker ${worker} (looked in ${join(teacher, 'model')}); ${SHARED_HINT}` };
    }
  }
  let model: string | undefined;
  if (queued.model_from_job !== undefined) {
    model = workFolder(root, queued.run_id, queued.model_from_job);
    if (!existsSync(join(model, 'model', 'config.json'))) {
      return { problem: `job ${jobId} starts from job ${queued.model_from_job}'s model, which is not on worker ${worker} (looked in ${join(model, 'model')}); ${SHARED_HINT}` };
    }
  }
  return {
    apply: (spec) => ({
      ...spec,
      ...(model !== undefined && { model: { ...spec.model, from: model } }),
      ...(init !== undefined && { init_checkpoint: init }),
      ...(teacher !== undefined && spec.train.distill && { train: { ...spec.train, distill: { ...spec.train.distill, teacher } } }),
    }),
  };
}

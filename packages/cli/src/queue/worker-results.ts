/**
 * What `gbp worker` sends to Redis: QueueEvents on the run's stream (XADD, capped), and a finished
 * job's files into runKeys(run).files(job) together with the 'result' event that lists them, in one
 * MULTI so a submitter never sees the event without the files.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Redis } from 'ioredis';
import { EVENTS_MAXLEN, runKeys, type QueueEvent, type ResultFile } from './protocol.js';

/** Appends one event to the run's stream. */
export async function publishEvent(redis: Redis, runId: string, event: QueueEvent): Promise<void> {
  await redis.xadd(runKeys(runId).events, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'data', JSON.stringify(event));
}

/** The job folder's files, '/'-separated relative paths, sorted; checkpoints/ only when asked. */
export async function jobFiles(dir: string, options: { checkpoints: boolean }): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((path) => options.checkpoints || !(path === 'checkpoints' || path.startsWith('checkpoints/')))
    .sort();
}

/** Uploads the job folder's files (HSET path -> bytes) and publishes the 'result' event listing them. */
export async function uploadResult(
  redis: Redis,
  runId: string,
  jobId: string,
  dir: string,
  options: { checkpoints: boolean; worker: string },
): Promise<ResultFile[]> {
  const key = runKeys(runId).files(jobId);
  const files: ResultFile[] = [];
  const multi = redis.multi().del(key);
  for (const path of await jobFiles(dir, options)) {
    const bytes = await readFile(join(dir, ...path.split('/')));
    files.push({ path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    multi.hset(key, path, bytes);
  }
  const event: QueueEvent = { kind: 'result', worker: options.worker, job_id: jobId, files, time: Date.now() };
  multi.xadd(runKeys(runId).events, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'data', JSON.stringify(event));
  const replies = await multi.exec();
  const failed = replies?.find(([error]) => error !== null)?.[0];
  if (!replies || failed) throw new Error(`cannot upload the files of job ${jobId} to ${key}: ${failed?.message ?? 'transaction aborted'}`);
  return files;
}

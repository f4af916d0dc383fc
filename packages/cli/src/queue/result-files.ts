/**
 * A finished job's files, from the run's files hash into the job's folder, where a local run would
 * have written them: every path and sha256 is checked before the first file is written (a bad one
 * fails the job and writes nothing), each file is written atomically, then the hash is deleted.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { writeFileAtomic } from '@gbp/core';
import type { Redis } from 'ioredis';
import { runKeys, type ResultFile } from './protocol.js';

export class ResultFileError extends Error {
  override name = 'ResultFileError';
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The reason `path` may not be written under a job folder, or undefined when it may. */
export function unsafeResultPath(path: string): string | undefined {
  if (path === '' || isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.includes('\\')) return 'not a relative /-separated path';
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) return "has an empty, '.' or '..' part";
  return undefined;
}

/**
 * Writes the job's result files into `outputDir`; returns the paths written. Files `hold` picks
 * (checked like the others) are not written but returned, for the caller to place.
 */
export async function fetchResultFiles(
  redis: Redis,
  runId: string,
  jobId: string,
  outputDir: string,
  files: readonly ResultFile[],
  hold: (path: string) => boolean = () => false,
): Promise<{ written: string[]; held: Map<string, Buffer> }> {
  const key = runKeys(runId).files(jobId);
  const stored = await redis.hgetallBuffer(key);
  const checked: { file: ResultFile; bytes: Buffer | undefined }[] = [];
  for (const file of files) {
    const unsafe = unsafeResultPath(file.path);
    if (unsafe) throw new ResultFileError(`job ${jobId}: result file '${file.path}' ${unsafe}; nothing was written to ${outputDir}`);
    const bytes = stored[file.path];
    if (bytes === undefined) {
      // Written by an earlier submitter that stopped before deleting the hash (--resume); a held
      // file (job.log, merged into the run's own) cannot match its sha256 and was placed then.
      if (hold(file.path) || (await alreadyWritten(join(outputDir, file.path), file.sha256))) {
        checked.push({ file, bytes: undefined });
        continue;
      }
      throw new ResultFileError(`job ${jobId}: result file '${file.path}' is missing from Redis key ${key}; nothing was written to ${outputDir}`);
    }
    const got = sha256(bytes);
    if (bytes.length !== file.bytes || got !== file.sha256) {
      throw new ResultFileError(`job ${jobId}: result file '${file.path}' is damaged: expected ${file.bytes} bytes with sha256 ${file.sha256}, got ${bytes.length} bytes with sha256 ${got}; nothing was written to ${outputDir}`);
    }
    checked.push({ file, bytes });
  }
  const written: string[] = [];
  const held = new Map<string, Buffer>();
  for (const { file, bytes } of checked) {
    if (hold(file.path)) {
      if (bytes) held.set(file.path, bytes);
      continue;
    }
    const target = join(outputDir, file.path);
    if (bytes) await writeFileAtomic(target, bytes);
    written.push(target);
  }
  await redis.del(key);
  return { written, held };
}

async function alreadyWritten(path: string, expected: string): Promise<boolean> {
  try {
    return sha256(await readFile(path)) === expected;
  } catch {
    return false;
  }
}

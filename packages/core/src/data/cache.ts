import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where Hub downloads and trained vocabularies are cached: GBP_CACHE_DIR, else ~/.cache/gbp. */
export function defaultCacheDir(): string {
  return process.env.GBP_CACHE_DIR || join(homedir(), '.cache', 'gbp');
}

/** A unique sibling of `path` to write first and rename over it, so readers never see half a file. */
export const tempPathFor = (path: string): string => `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** Writes `data` to `path` atomically (temp file + rename), creating the folder. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

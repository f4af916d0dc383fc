/**
 * The one atomic file write of gbp (core's results, caches, and the CLI's plan.json and plots):
 * a temporary sibling, then a rename, so readers never see half a file and a crash leaves the
 * previous version. A failure removes the temporary file and names the file meant.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A unique sibling of `path` to write first and rename over it. */
export const tempPathFor = (path: string): string => `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** A failed write of `path`; `code` is the system's (ENOSPC, EACCES, ...). */
export class FileWriteError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const error = cause as NodeJS.ErrnoException;
    // Node's "ENOSPC: no space left on device, write" names a syscall, and for open the temp file.
    const reason = error.code && error.message.startsWith(`${error.code}:`) ? error.message.split(',')[0]! : error.message;
    super(`cannot write ${path}: ${reason}`, { cause });
    this.name = 'FileWriteError';
    this.code = error.code;
  }
}

/** Writes `data` to `path` atomically, creating its folder. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new FileWriteError(path, error);
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes the folder `dir` as a whole: `files` (name -> contents) into a temporary sibling, then
 * renamed over `dir`, so a reader sees the old folder or the new one, never a mix. A previous
 * `dir` is moved aside first (a folder cannot be renamed over a non-empty one) and put back if
 * the swap fails.
 */
export async function writeFolderAtomic(dir: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<void> {
  const temp = tempPathFor(dir);
  const old = tempPathFor(dir);
  try {
    await mkdir(dirname(dir), { recursive: true });
    await mkdir(temp);
    for (const [name, data] of files) await writeFile(join(temp, name), data);
    const hadPrevious = existsSync(dir);
    if (hadPrevious) await rename(dir, old);
    await rename(temp, dir);
    if (hadPrevious) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    if (existsSync(old) && !existsSync(dir)) await rename(old, dir).catch(() => undefined);
    throw new FileWriteError(dir, error);
  }
}

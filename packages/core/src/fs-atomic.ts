/**
 * The one atomic file write of gbp (core's results, caches, and the CLI's plan.json and plots):
 * a temporary sibling, then a rename, so readers never see half a file and a crash leaves the
 * previous version. A failure removes the temporary file and names the file meant.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
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

/** A file written in pieces that appears at its path whole or not at all. */
export interface AtomicFile {
  readonly path: string;
  write(text: string): Promise<void>;
  /** Renames the finished temporary file over `path`. */
  commit(): Promise<void>;
  /** Removes the temporary file; whatever was at `path` stays. */
  abort(): Promise<void>;
}

/**
 * writeFileAtomic for output too large to hold in memory (e.g. `gbp infer`'s JSONL): pieces go
 * to a temporary sibling, commit() renames it over `path`. A failure removes the temporary file
 * and names the file meant.
 */
export async function openAtomicFile(path: string): Promise<AtomicFile> {
  const temp = tempPathFor(path);
  let handle: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    handle = await open(temp, 'wx');
  } catch (error) {
    throw new FileWriteError(path, error);
  }
  let handleOpen = true;
  const discard = async () => {
    if (handleOpen) await handle.close().catch(() => undefined);
    handleOpen = false;
    await rm(temp, { force: true }).catch(() => undefined);
  };
  const guarded = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      await discard();
      throw new FileWriteError(path, error);
    }
  };
  return {
    path,
    // writeFile on a handle writes at the current position, all of it (write() may stop short)
    write: (text) => guarded(() => handle.writeFile(text)),
    commit: () =>
      guarded(async () => {
        await handle.close();
        handleOpen = false;
        await rename(temp, path);
      }),
    abort: discard,
  };
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

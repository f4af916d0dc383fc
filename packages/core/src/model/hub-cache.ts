/**
 * The Hugging Face cache layout that Python's huggingface_hub and @huggingface/hub share:
 * `<cache>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
 * refs/<revision> (the commit)}`. Reading it needs no network (offline mode); writing it is
 * atomic at every step, so two gbp workers fetching one model at once, or a download cut off
 * halfway, never leave a file in the cache that looks complete and is not.
 *
 * The blob and pointer writes are here rather than @huggingface/hub's downloadFileToCacheDir
 * because that one writes a fixed `<blob>.incomplete` name (two processes would write one file),
 * checks neither the size nor the hash of what arrived, and prints to console.debug (stdout,
 * where `gbp infer` writes its results). Paths and the cache location still come from the library.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { getHFHubCachePath, getRepoFolderName } from '@huggingface/hub';
import { tempPathFor, writeFileAtomic } from '../fs-atomic.js';

/** A full git commit id: a revision that names one snapshot forever. */
export const isCommitHash = (revision: string): boolean => /^[0-9a-f]{40}$/.test(revision);

/** The hub cache folder: `explicit`, else HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (as huggingface_hub resolves it, XDG_CACHE_HOME included). */
export const hubCacheDir = (explicit?: string): string => explicit || getHFHubCachePath();

/** `<cache>/models--org--name`: one model repository's folder. */
export const repoCacheDir = (cacheDir: string, id: string): string => join(cacheDir, getRepoFolderName({ type: 'model', name: id }));

export const snapshotDir = (repoDir: string, commit: string): string => join(repoDir, 'snapshots', commit);

const isFile = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isFile(); // follows the snapshot's symlink: a dangling one is missing
  } catch {
    return false;
  }
};

export const hasCachedFile = (snapshot: string, file: string): Promise<boolean> => isFile(join(snapshot, file));

/** The commit `revision` names in the cache (a commit hash is its own; a branch or tag is read from refs/), or undefined. */
export async function cachedCommit(repoDir: string, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await readFile(join(repoDir, 'refs', revision), 'utf8')).trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/** Records that `revision` is `commit` now (refs/<revision>), as huggingface_hub does. */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (revision !== commit) await writeFileAtomic(join(repoDir, 'refs', revision), commit);
}

/** What the Hub says a file is: its blob name (LFS sha256, else xet hash, else git oid) and size. */
export interface BlobInfo {
  etag: string;
  size: number;
  /** The LFS sha256 of the content, checked after download when known. */
  sha256?: string;
}

export const blobPath = (repoDir: string, etag: string): string => join(repoDir, 'blobs', etag);

export const hasBlob = (repoDir: string, etag: string): Promise<boolean> => isFile(blobPath(repoDir, etag));

/** An interrupted or corrupted download: nothing of it was kept in the cache. */
export class BlobCheckError extends Error {
  override name = 'BlobCheckError';
}

/**
 * Writes `body` as blobs/<etag> through a temporary file of this process, checking its size and
 * (for LFS files) its sha256 before the rename; `onBytes` sees the running byte count.
 */
export async function storeBlob(repoDir: string, blob: BlobInfo, body: ReadableStream<Uint8Array>, label: string, onBytes?: (bytes: number) => void): Promise<void> {
  const dest = blobPath(repoDir, blob.etag);
  await mkdir(dirname(dest), { recursive: true });
  const temp = tempPathFor(dest);
  const hash = blob.sha256 ? createHash('sha256') : undefined;
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(body as WebReadableStream<Uint8Array>),
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          hash?.update(chunk);
          bytes += chunk.byteLength;
          onBytes?.(bytes);
          yield chunk;
        }
      },
      createWriteStream(temp),
    );
    if (bytes !== blob.size) throw new BlobCheckError(`${label}: received ${bytes} bytes, the Hub announced ${blob.size} (download cut off?); nothing was kept, try again`);
    const digest = hash?.digest('hex');
    if (digest !== undefined && digest !== blob.sha256) {
      throw new BlobCheckError(`${label}: the content's sha256 is ${digest}, the Hub announced ${blob.sha256}; nothing was kept, try again`);
    }
    await rename(temp, dest);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    // The library aborts its stream with a bare message string: give it back as an Error.
    throw error instanceof Error ? error : new Error(`${label}: ${String(error)}`);
  }
}

/**
 * snapshots/<commit>/<file> as a relative link to blobs/<etag> (a copy where links are not
 * allowed), made under a temporary name and renamed into place.
 */
export async function linkSnapshotFile(repoDir: string, commit: string, file: string, etag: string): Promise<void> {
  const pointer = join(snapshotDir(repoDir, commit), file);
  const blob = blobPath(repoDir, etag);
  await mkdir(dirname(pointer), { recursive: true });
  const temp = tempPathFor(pointer);
  try {
    try {
      await symlink(relative(dirname(pointer), blob), temp);
    } catch {
      await copyFile(blob, temp);
    }
    await rename(temp, pointer);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

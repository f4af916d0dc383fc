/**
 * The Hugging Face Hub as a data source: the parquet export of nyu-mll/glue, downloaded once into
 * the cache (temp file + rename, so an interrupted download never leaves a truncated file that
 * later looks valid) and read from there afterwards.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { TaskName } from '../spec.js';
import { tempPathFor } from '../fs-atomic.js';
import { DataError, LOCAL_DATA_HINT } from './errors.js';
import { parquetFileName } from './parquet.js';

export const HUB_DATASET = 'nyu-mll/glue';

/** HF_ENDPOINT (a mirror) or https://huggingface.co. */
export const hubEndpoint = (): string => (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');

export const hubUrl = (task: TaskName, split: string): string =>
  `${hubEndpoint()}/datasets/${HUB_DATASET}/resolve/main/${task}/${parquetFileName(split)}`;

export const hubCachePath = (cacheDir: string, task: TaskName, split: string): string =>
  join(cacheDir, 'hub', ...HUB_DATASET.split('/'), task, parquetFileName(split));

/** HF_HUB_OFFLINE as huggingface_hub reads it (1, true, yes, on). */
export const hubOfflineFromEnv = (): boolean => /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? '');

const PARQUET_MAGIC = 'PAR1';

/** Downloads `url` to `dest` atomically and checks that it is a parquet file. */
export async function downloadParquet(url: string, dest: string, onProgress?: (msg: string) => void): Promise<void> {
  onProgress?.(`downloading ${url}`);
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new DataError(`could not download ${url}: ${reason}\n${LOCAL_DATA_HINT}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new DataError(`could not download ${url}: HTTP ${response.status} ${response.statusText}\n${LOCAL_DATA_HINT}`);
  }
  await mkdir(dirname(dest), { recursive: true });
  const temp = tempPathFor(dest);
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(temp));
    const size = await checkParquetMagic(temp, url);
    await rename(temp, dest);
    onProgress?.(`downloaded ${(size / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${dest}`);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** A parquet file starts and ends with PAR1; an HTML error page or a cut-off body does not. */
async function checkParquetMagic(path: string, url: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(4), tail = Buffer.alloc(4);
    if (size >= 8) {
      await handle.read(head, 0, 4, 0);
      await handle.read(tail, 0, 4, size - 4);
    }
    if (head.toString('latin1') !== PARQUET_MAGIC || tail.toString('latin1') !== PARQUET_MAGIC) {
      throw new DataError(`${url} did not return a parquet file (${size} bytes without the PAR1 markers)`);
    }
    return size;
  } finally {
    await handle.close();
  }
}

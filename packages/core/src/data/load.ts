/**
 * loadSplit: finds a split wherever it is (local JSONL, Parquet or GLUE TSV under data.dir, else
 * the Hub cache, else a download) and returns validated examples.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSpec, TaskName } from '../spec.js';
import { defaultCacheDir } from './cache.js';
import { DataError, LOCAL_DATA_HINT } from './errors.js';
import { downloadParquet, hubCachePath, hubOfflineFromEnv, hubUrl } from './hub.js';
import { readJsonl } from './jsonl.js';
import { DEFAULT_MAX_LINE_BYTES, type ReadLinesOptions } from './lines.js';
import { parquetFileName, readParquet } from './parquet.js';
import type { Example } from './rows.js';
import { getTask, taskSplits, type TaskInfo } from './tasks.js';
import { readTsv, tsvPath } from './tsv.js';

export interface LoadSplitOptions {
  /** Read only the first N examples (stops reading early). */
  limit?: number;
  onProgress?: (msg: string) => void;
  /** Stops reading a text file between chunks with an AbortError. */
  signal?: AbortSignal;
}

type Reader = (file: string, task: TaskInfo, split: string, limit?: number, options?: ReadLinesOptions) => Promise<Example[]>;
interface Candidate {
  format: 'jsonl' | 'parquet' | 'tsv';
  path: string;
  read: Reader;
}

/** The files that may hold a split under a local GLUE root, in the order they are tried. */
export function localCandidates(dir: string, task: TaskName, split: string): Candidate[] {
  const candidates: Candidate[] = [
    { format: 'jsonl', path: join(dir, task, `${split}.jsonl`), read: readJsonl },
    { format: 'parquet', path: join(dir, task, parquetFileName(split)), read: readParquet },
  ];
  const tsv = tsvPath(dir, task, split);
  if (tsv) candidates.push({ format: 'tsv', path: tsv, read: readTsv });
  return candidates;
}

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/**
 * The examples of one split of a GLUE task, from the first source that has it:
 * 1. data.dir (or GBP_DATA_DIR) unless data.source is 'hub': <task>/<split>.jsonl, then
 *    <task>/<split>-00000-of-00001.parquet, then the GLUE TSV folder (validation -> dev.tsv);
 * 2. unless data.source is 'local': the Hub cache under data.cache_dir (default ~/.cache/gbp);
 * 3. a download of nyu-mll/glue's parquet file into that cache, unless data.offline or HF_HUB_OFFLINE=1.
 * Throws a DataError naming file, line and field for a bad row, and listing the paths tried
 * (with how to point gbp at local data) when nothing is found.
 */
export async function loadSplit(
  task: TaskName,
  split: string,
  data: DataSpec,
  opts: LoadSplitOptions = {},
): Promise<Example[]> {
  const info = getTask(task);
  const splits = taskSplits(info);
  if (!splits.includes(split)) throw new DataError(`unknown split '${split}' for ${task}; expected one of ${splits.join(', ')}`);
  const limit = opts.limit ?? Infinity;
  if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
    throw new DataError(`loadSplit: limit must be a non-negative integer, got ${limit}`);
  }
  const maxLineBytes = data.max_line_bytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!(Number.isInteger(maxLineBytes) && maxLineBytes >= 1)) {
    throw new DataError(`data.max_line_bytes must be a positive integer (bytes), got ${maxLineBytes}`);
  }
  const onProgress = opts.onProgress;
  const source = data.source ?? 'auto';
  const dir = data.dir || process.env.GBP_DATA_DIR || undefined;
  const tried: string[] = [];

  const read = async (candidate: Candidate): Promise<Example[]> => {
    const started = performance.now();
    const examples = await candidate.read(candidate.path, info, split, limit, { maxLineBytes, signal: opts.signal });
    if (examples.length === 0 && limit > 0) throw new DataError(`${candidate.path}: no examples in ${task}/${split}`);
    const ms = (performance.now() - started).toFixed(0);
    onProgress?.(`read ${examples.length} ${task}/${split} examples from ${candidate.path} (${candidate.format}, ${ms} ms)`);
    return examples;
  };

  if (source !== 'hub' && dir) {
    for (const candidate of localCandidates(dir, task, split)) {
      tried.push(candidate.path);
      if (await isFile(candidate.path)) return read(candidate);
    }
  }
  const triedList = () => `Tried:\n${tried.map((p) => `  ${p}`).join('\n')}`;
  if (source === 'local') {
    const why = dir ? `no ${task}/${split} data under ${dir}` : "data.source is 'local' but no data dir is set";
    throw new DataError(`${why}.\n${LOCAL_DATA_HINT}${tried.length ? `\n${triedList()}` : ''}`);
  }
  if (dir) onProgress?.(`${task}/${split} not found under ${dir}; using the Hub (${hubUrl(task, split)})`);

  const cached = hubCachePath(data.cache_dir || defaultCacheDir(), task, split);
  tried.push(cached);
  if (!(await isFile(cached))) {
    const offlineBy = data.offline ? 'data.offline is set' : hubOfflineFromEnv() ? 'HF_HUB_OFFLINE is set' : undefined;
    if (offlineBy) {
      throw new DataError(`no ${task}/${split} data found and downloads are off (${offlineBy}).\n${LOCAL_DATA_HINT}\n${triedList()}`);
    }
    await downloadParquet(hubUrl(task, split), cached, onProgress);
  }
  return read({ format: 'parquet', path: cached, read: readParquet });
}

/**
 * Checkpoints: a JSON manifest plus one binary file holding every typed array of the state.
 * Any JSON value may carry typed arrays as leaves (weights, masks, optimizer moments, pruner
 * scores); they are replaced in the manifest by { "$bin": n } references into `tensors.bin`.
 *
 * Integrity: the manifest records tensors.bin's size and each array's offset, byte size and
 * sha256; reading verifies them all, so a truncated, emptied or corrupted file is refused instead
 * of read as zeros. Both files are fsynced in a temporary folder which is then renamed into place,
 * so a crash leaves either the previous set or the new one. The last `keep` are kept.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { processExists } from '../process-alive.js';

export type BinaryArray = Float32Array | Int32Array | Uint8Array;
const DTYPES = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array } as const;
type DType = keyof typeof DTYPES;

interface BinRef {
  $bin: number;
  dtype: DType;
  length: number;
}

/** Where one array lies in tensors.bin and the sha256 (hex) of its bytes. */
interface ArrayEntry {
  offset: number;
  bytes: number;
  sha256: string;
}

const FORMAT = 'gbp-checkpoint';
/** 2: sizes and checksums (there were no users of version 1, so it is not read). */
const VERSION = 2;

interface Manifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  step: number;
  written_at: string;
  /** Size of tensors.bin. */
  bin_bytes: number;
  /** By $bin index. */
  arrays: ArrayEntry[];
  state: unknown;
}

const CHECKPOINT_DIR = /^step-(\d+)$/;
/**
 * A write in progress: `.gbp-tmp-step-<9 digits>-<pid>-<6 characters of mkdtemp>`. Only folders of
 * exactly this form are ever removed as leftovers, and only when their process is gone.
 */
const TEMP_PREFIX = '.gbp-tmp-';
const TEMP_DIR = /^\.gbp-tmp-step-\d{9}-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * A checkpoint that cannot be written (CHECKPOINT_WRITE_FAILED) or read back as it was written
 * (CHECKPOINT_INVALID); the message names the file and what is wrong.
 */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly code: 'CHECKPOINT_INVALID' | 'CHECKPOINT_WRITE_FAILED' = 'CHECKPOINT_INVALID',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

const dtypeOf = (a: BinaryArray): DType => (a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint8');
const bytesOf = (a: BinaryArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const stepName = (step: number) => `step-${String(step).padStart(9, '0')}`;

/** Replaces typed arrays by references; returns the JSON skeleton and the arrays in order. */
function encode(value: unknown, arrays: BinaryArray[], path: string): unknown {
  if (value instanceof Float32Array || value instanceof Int32Array || value instanceof Uint8Array) {
    arrays.push(value);
    return { $bin: arrays.length - 1, dtype: dtypeOf(value), length: value.length } satisfies BinRef;
  }
  if (ArrayBuffer.isView(value)) throw new Error(`checkpoint: ${path} is a ${value.constructor.name}; only Float32Array, Int32Array and Uint8Array are stored`);
  if (Array.isArray(value)) return value.map((v, i) => encode(v, arrays, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    if ('$bin' in value) throw new Error(`checkpoint: ${path} uses the reserved key '$bin'`);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v, arrays, `${path}.${k}`)]));
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
  return value;
}

interface DecodeContext {
  bin: Buffer;
  binPath: string;
  arrays: readonly ArrayEntry[];
}

/** Rebuilds the state, checking each array's size and sha256 against the manifest. */
function decode(value: unknown, ctx: DecodeContext, path: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => decode(v, ctx, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    if ('$bin' in value) {
      const ref = value as BinRef;
      const Ctor = DTYPES[ref.dtype];
      const entry = ctx.arrays[ref.$bin];
      if (Ctor === undefined || entry === undefined || entry.bytes !== ref.length * Ctor.BYTES_PER_ELEMENT) {
        throw new CheckpointError(`checkpoint ${ctx.binPath}: manifest.json's entry for ${path} is inconsistent (array ${ref.$bin}, ${ref.length} ${ref.dtype})`);
      }
      const bytes = ctx.bin.subarray(entry.offset, entry.offset + entry.bytes);
      if (bytes.length !== entry.bytes || sha256(bytes) !== entry.sha256) {
        throw new CheckpointError(
          `checkpoint ${ctx.binPath}: bytes ${entry.offset}..${entry.offset + entry.bytes} (${path}) do not match their sha256 in manifest.json; the file is corrupted`,
        );
      }
      // Copy: the file buffer's offset is not necessarily aligned for the element type.
      const out = new Ctor(ref.length);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    if ('$num' in value) return Number((value as { $num: string }).$num);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v, ctx, `${path}.${k}`)]));
  }
  return value;
}

/** Writes the arrays one after another into `path`, hashing each; fsyncs before returning. */
async function writeTensors(path: string, arrays: readonly BinaryArray[]): Promise<{ entries: ArrayEntry[]; total: number }> {
  const handle = await open(path, 'wx');
  try {
    const entries: ArrayEntry[] = [];
    let total = 0;
    for (const array of arrays) {
      const bytes = bytesOf(array);
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, total + done);
        done += bytesWritten;
      }
      entries.push({ offset: total, bytes: bytes.length, sha256: sha256(bytes) });
      total += bytes.length;
    }
    await handle.sync();
    return { entries, total };
  } finally {
    await handle.close();
  }
}

async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename in `dir` durable; not every platform can fsync a folder, and then the rename stays as the OS left it. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // e.g. Windows: folders cannot be opened for fsync
  }
}

const describeError = (error: unknown) => {
  const e = error as NodeJS.ErrnoException;
  // node's own messages already start with the code ("ENOSPC: no space left on device, write")
  return e.code && !e.message.startsWith(e.code) ? `${e.code}: ${e.message}` : String(e?.message ?? error);
};

/** Writes `state` as checkpoint `step` under `dir` (atomically) and prunes old ones; returns its path. */
export async function writeCheckpoint(dir: string, step: number, state: unknown, keep = 2): Promise<string> {
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`checkpoint: step must be a non-negative integer, got ${step}`);
  const arrays: BinaryArray[] = [];
  const skeleton = encode(state, arrays, 'state');
  const name = stepName(step);
  const target = join(dir, name);
  let tmp: string | undefined;
  try {
    await mkdir(dir, { recursive: true });
    tmp = await mkdtemp(join(dir, `${TEMP_PREFIX}${name}-${process.pid}-`));
    const { entries, total } = await writeTensors(join(tmp, 'tensors.bin'), arrays);
    const manifest: Manifest = { format: FORMAT, version: VERSION, step, written_at: new Date().toISOString(), bin_bytes: total, arrays: entries, state: skeleton };
    await writeSynced(join(tmp, 'manifest.json'), JSON.stringify(manifest));
    // Same step written again (e.g. abort right after an epoch checkpoint): replace it.
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (error) {
    if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw new CheckpointError(
      `checkpoint ${target}: could not write it (${describeError(error)})${tmp ? `; removed the partial copy ${tmp}` : ''}; earlier checkpoints are untouched`,
      'CHECKPOINT_WRITE_FAILED',
      { cause: error },
    );
  }
  await syncDir(dir);
  await pruneCheckpoints(dir, keep);
  return target;
}

/** The step-* folders under `dir` (none read), oldest first; [] when `dir` does not exist. */
export async function listCheckpoints(dir: string): Promise<{ name: string; step: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, match: CHECKPOINT_DIR.exec(name) }))
    .filter((e) => e.match !== null)
    .map((e) => ({ name: e.name, step: Number(e.match![1]) }))
    .sort((a, b) => a.step - b.step);
}

async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) {
    await rm(join(dir, old.name), { recursive: true, force: true });
  }
  // Leftovers of writes whose process died (a failed write removes its own). Anything else is not ours.
  for (const name of await readdir(dir)) {
    const pid = TEMP_DIR.exec(name)?.[1];
    if (pid !== undefined && !processExists(Number(pid))) await rm(join(dir, name), { recursive: true, force: true });
  }
}

async function readManifest(path: string): Promise<Manifest> {
  const manifestPath = join(path, 'manifest.json');
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Partial<Manifest>;
  } catch (error) {
    const why = error instanceof SyntaxError ? `not valid JSON, probably truncated (${error.message})` : describeError(error);
    throw new CheckpointError(`checkpoint ${manifestPath}: cannot read the manifest: ${why}`, 'CHECKPOINT_INVALID', { cause: error });
  }
  if (manifest?.format !== FORMAT || manifest.version !== VERSION) {
    throw new CheckpointError(
      `checkpoint ${manifestPath}: format ${String(manifest?.format)} version ${String(manifest?.version)}; this gbp reads ${FORMAT} version ${VERSION}`,
    );
  }
  if (!Number.isSafeInteger(manifest.step) || !Number.isSafeInteger(manifest.bin_bytes) || !Array.isArray(manifest.arrays)) {
    throw new CheckpointError(`checkpoint ${manifestPath}: step, bin_bytes or arrays missing or not numbers`);
  }
  const folderStep = CHECKPOINT_DIR.exec(basename(path))?.[1];
  if (folderStep !== undefined && Number(folderStep) !== manifest.step) {
    throw new CheckpointError(`checkpoint ${manifestPath}: the manifest is for step ${manifest.step}, the folder for step ${Number(folderStep)}`);
  }
  return manifest as Manifest;
}

/** Reads and verifies one checkpoint folder; a CheckpointError names the file and what is wrong. */
export async function readCheckpoint(path: string): Promise<{ step: number; state: unknown }> {
  const manifest = await readManifest(path);
  const binPath = join(path, 'tensors.bin');
  let bin: Buffer;
  try {
    bin = await readFile(binPath);
  } catch (error) {
    throw new CheckpointError(`checkpoint ${binPath}: cannot read it (${describeError(error)})`, 'CHECKPOINT_INVALID', { cause: error });
  }
  if (bin.length !== manifest.bin_bytes) {
    throw new CheckpointError(
      `checkpoint ${binPath}: ${bin.length} bytes, but manifest.json expects ${manifest.bin_bytes}; the file is ${bin.length < manifest.bin_bytes ? 'truncated' : 'not the one written'}`,
    );
  }
  return { step: manifest.step, state: decode(manifest.state, { bin, binPath, arrays: manifest.arrays }, 'state') };
}

export interface LatestCheckpointOptions {
  /** Told about each newer checkpoint that failed its check and was passed over. */
  onSkip?: (path: string, error: CheckpointError) => void;
}

/**
 * The newest checkpoint under `dir` that reads back intact, walking back from the newest; null when
 * there is none at all. Throws a CheckpointError naming the folder (and why each failed) when
 * there are checkpoints but none is intact.
 */
export async function readLatestCheckpoint(
  dir: string,
  options: LatestCheckpointOptions = {},
): Promise<{ path: string; step: number; state: unknown } | null> {
  const all = await listCheckpoints(dir);
  if (all.length === 0) return null;
  const failures: string[] = [];
  for (const { name } of all.reverse()) {
    const path = join(dir, name);
    try {
      return { path, ...(await readCheckpoint(path)) };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      failures.push(`  ${name}: ${error.message}`);
      options.onSkip?.(path, error);
    }
  }
  throw new CheckpointError(
    `no intact checkpoint in ${dir}; each one failed its check:\n${failures.join('\n')}\n` +
      'Move the folder aside to start over without it (its files are left as they are).',
  );
}

/** Path of the newest intact checkpoint under `dir`, or null (see readLatestCheckpoint). */
export async function latestCheckpoint(dir: string, options: LatestCheckpointOptions = {}): Promise<string | null> {
  return (await readLatestCheckpoint(dir, options))?.path ?? null;
}

/**
 * Checkpoints: a JSON manifest plus one binary file holding every typed array of the state.
 * Any JSON value may carry typed arrays as leaves (weights, masks, optimizer moments, pruner
 * scores); they are replaced in the manifest by { "$bin": n } references into `tensors.bin`.
 * A checkpoint is written into a temporary folder and renamed into place, so a crash leaves either
 * the previous set or the new one, never half a checkpoint. The last `keep` are kept.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type BinaryArray = Float32Array | Int32Array | Uint8Array;
const DTYPES = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array } as const;
type DType = keyof typeof DTYPES;

interface BinRef {
  $bin: number;
  dtype: DType;
  length: number;
}

interface Manifest {
  format: 'gbp-checkpoint';
  version: 1;
  step: number;
  written_at: string;
  /** Byte offset of each array in tensors.bin, by $bin index. */
  offsets: number[];
  state: unknown;
}

const CHECKPOINT_DIR = /^step-(\d+)$/;
const dtypeOf = (a: BinaryArray): DType => (a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint8');

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

function decode(value: unknown, buffer: Buffer, offsets: number[]): unknown {
  if (Array.isArray(value)) return value.map((v) => decode(v, buffer, offsets));
  if (value !== null && typeof value === 'object') {
    if ('$bin' in value) {
      const ref = value as BinRef;
      const Ctor = DTYPES[ref.dtype];
      const start = offsets[ref.$bin]!;
      // Copy: the file buffer's offset is not necessarily aligned for the element type.
      const bytes = buffer.subarray(start, start + ref.length * Ctor.BYTES_PER_ELEMENT);
      const out = new Ctor(ref.length);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    if ('$num' in value) return Number((value as { $num: string }).$num);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v, buffer, offsets)]));
  }
  return value;
}

/** Writes `state` as checkpoint `step` under `dir` (atomically) and prunes old ones; returns its path. */
export async function writeCheckpoint(dir: string, step: number, state: unknown, keep = 2): Promise<string> {
  await mkdir(dir, { recursive: true });
  const arrays: BinaryArray[] = [];
  const skeleton = encode(state, arrays, 'state');
  const offsets: number[] = [];
  let total = 0;
  for (const a of arrays) {
    offsets.push(total);
    total += a.byteLength;
  }
  const bin = Buffer.alloc(total);
  arrays.forEach((a, i) => bin.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offsets[i]!));
  const manifest: Manifest = { format: 'gbp-checkpoint', version: 1, step, written_at: new Date().toISOString(), offsets, state: skeleton };

  const name = `step-${String(step).padStart(9, '0')}`;
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  const target = join(dir, name);
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'tensors.bin'), bin);
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest));
  // Same step written again (e.g. abort right after an epoch checkpoint): replace it.
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
  await pruneCheckpoints(dir, keep);
  return target;
}

async function listCheckpoints(dir: string): Promise<{ name: string; step: number }[]> {
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
  // Leftovers of interrupted writes.
  for (const name of await readdir(dir)) {
    if (name.startsWith('.tmp-step-') && !name.includes(`-${process.pid}-`)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

export async function readCheckpoint(path: string): Promise<{ step: number; state: unknown }> {
  const manifestPath = join(path, 'manifest.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  } catch (error) {
    throw new Error(`checkpoint ${manifestPath}: cannot read manifest (${(error as Error).message})`);
  }
  if (manifest.format !== 'gbp-checkpoint' || manifest.version !== 1) {
    throw new Error(`checkpoint ${manifestPath}: unknown format ${String(manifest.format)} v${String(manifest.version)}`);
  }
  const bin = await readFile(join(path, 'tensors.bin'));
  return { step: manifest.step, state: decode(manifest.state, bin, manifest.offsets) };
}

/** Path of the newest complete checkpoint under `dir`, or null. */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  const all = await listCheckpoints(dir);
  return all.length === 0 ? null : join(dir, all[all.length - 1]!.name);
}

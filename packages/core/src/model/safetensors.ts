/**
 * The safetensors format (https://huggingface.co/docs/safetensors), written as F32 or F16 (exports),
 * read as F32, F16 or BF16: an 8-byte
 * little-endian header length N, N bytes of JSON ({name: {dtype, shape, data_offsets}, and an
 * optional "__metadata__" of strings}), then the raw little-endian tensor bytes.
 *
 * Written here rather than taken from npm: the only package of the name ('safetensors' 0.0.1) is
 * an unmaintained placeholder, and the format is this small.
 */
import { endianness } from 'node:os';
import { readCheckpointFile } from './read-checkpoint-file.js';
import { decodeFloats, DTYPE_BYTES, isFloatDtype } from './dtypes.js';
import { Float16Array } from '@petamoriken/float16';

export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function assertLittleEndian(): void {
  // Float32Array views use the host's byte order; the format is little-endian.
  if (endianness() !== 'LE') throw new Error('safetensors: only little-endian hosts are supported');
}

/** The dtypes gbp writes: F32, or F16 (half the bytes) for exports. */
export type SafetensorsDtype = 'F32' | 'F16';

export interface EncodeOptions {
  /** The dtype every tensor is stored in; default F32. F16 rounds to nearest even. */
  dtype?: SafetensorsDtype;
}

/**
 * `data` rounded to float16 (nearest even), as its bit patterns, and the index of the first finite
 * value float16 cannot hold (it became Infinity), if any: the caller refuses it, naming the tensor.
 */
export function toFloat16Bits(data: Float32Array): { bits: Uint16Array; overflow?: number } {
  const half = new Float16Array(data);
  // Read the bits, not half[i]: element access on a Float16Array goes through a Proxy (~40x slower).
  const bits = new Uint16Array(half.buffer, half.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    // Exponent all ones: Infinity (or NaN, which only a NaN input gives).
    if ((bits[i]! & 0x7c00) === 0x7c00 && Number.isFinite(data[i]!)) return { bits, overflow: i };
  }
  return { bits };
}

/** `data` as the bytes of `dtype`; refuses a finite value that float16 cannot hold (it would become Infinity). */
function tensorBytes(name: string, data: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const { bits, overflow } = toFloat16Bits(data);
  if (overflow !== undefined) {
    throw new Error(`safetensors: tensor '${name}' holds ${data[overflow]} at index ${overflow}, outside float16's range (largest 65504); store it as F32`);
  }
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
}

/** The bytes of a safetensors file holding `tensors` (in the order given) and string `metadata`. */
export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}, options: EncodeOptions = {}): Uint8Array {
  assertLittleEndian();
  const dtype = options.dtype ?? 'F32';
  const header: Record<string, HeaderEntry | Record<string, string>> = { __metadata__: metadata };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== sizeOf(t.shape)) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}]`);
    const bytes = tensorBytes(name, t.data, dtype);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const bytes of blobs) {
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  metadata: Record<string, string>;
  tensors: Map<string, NamedTensor & { dtype: string }>;
}

/**
 * Parses safetensors `bytes`; `file` names the file in errors. F32, F16 and BF16 tensors come back
 * as float32 data with their source `dtype`; tensors of other dtypes are returned with an empty
 * `data` and their dtype, so the caller can say which tensor has the wrong type.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): DecodedSafetensors {
  assertLittleEndian();
  const fail = (what: string): never => {
    throw new Error(`${file}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    return fail(`header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, NamedTensor & { dtype: string }>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = raw as Partial<HeaderEntry>;
    const shape = entry.shape;
    const offsets = entry.data_offsets;
    if (typeof entry.dtype !== 'string' || !Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0) || !Array.isArray(offsets) || offsets.length !== 2) {
      fail(`tensor '${name}' needs dtype, shape and data_offsets, got ${JSON.stringify(raw)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && begin <= end && end <= dataLength)) {
      fail(`tensor '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    }
    const dtype = entry.dtype!;
    if (!isFloatDtype(dtype)) {
      tensors.set(name, { dtype, shape: shape!, data: new Float32Array(0) });
      continue;
    }
    const size = DTYPE_BYTES[dtype] * sizeOf(shape!);
    if (end - begin !== size) fail(`tensor '${name}' of dtype ${dtype} and shape [${shape!.join(', ')}] needs ${size} bytes, data_offsets give ${end - begin}`);
    const data = decodeFloats(bytes.subarray(dataStart + begin, dataStart + end), dtype, sizeOf(shape!));
    tensors.set(name, { dtype, shape: shape!, data });
  }
  return { metadata, tensors };
}

/** Reads and decodes a safetensors file; a missing file says what it should have held (`missingHint`). */
export async function readSafetensorsFile(file: string, missingHint: string): Promise<DecodedSafetensors> {
  return decodeSafetensors(await readCheckpointFile(file, missingHint), file);
}

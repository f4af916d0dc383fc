/**
 * Element types of checkpoint tensors, named as safetensors names them (torch's storage types map
 * onto the same names in torch-bin.ts), and the decoding of the floating ones into float32: gbp
 * computes in float32, so F16 and BF16 checkpoints are widened on read (exactly: every F16 and
 * BF16 value is a float32 value).
 */
import { getFloat16 } from '@petamoriken/float16';

/** Bytes per element of each dtype gbp knows the size of. */
export const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;

export type Dtype = keyof typeof DTYPE_BYTES;

/** The dtypes whose values gbp reads (into float32). */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

export const isFloatDtype = (dtype: string): dtype is FloatDtype => (FLOAT_DTYPES as readonly string[]).includes(dtype);

/** `count` little-endian values of `dtype` starting at `bytes[0]`, as float32. */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype, count: number): Float32Array {
  const size = DTYPE_BYTES[dtype];
  if (bytes.length < size * count) throw new Error(`internal: ${count} ${dtype} values need ${size * count} bytes, got ${bytes.length}`);
  if (dtype === 'F32') {
    // A copy: the source may not be 4-byte aligned (and its buffer may be shared with other tensors).
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 4 * count));
  }
  // Copied to be 2-byte aligned for the Uint16Array view (host order is little-endian: see decodeTorchBin, decodeSafetensors).
  const halves = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 2 * count));
  const out = new Float32Array(count);
  if (dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
  } else {
    // bfloat16 is the top half of a float32: shift its 16 bits into place.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
  }
  return out;
}

let halfValues: Float32Array | undefined;

/** The float32 value of each of the 65,536 float16 bit patterns: one lookup per value (getFloat16 per value takes microseconds). */
function halfTable(): Float32Array {
  if (halfValues === undefined) {
    const view = new DataView(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer);
    halfValues = Float32Array.from({ length: 65536 }, (_, i) => getFloat16(view, 2 * i, true));
  }
  return halfValues;
}

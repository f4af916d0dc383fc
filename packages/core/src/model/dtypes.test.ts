import { describe, expect, it } from 'vitest';
import { decodeFloats } from './dtypes.js';

/** IEEE 754 binary16 by its definition, independently of the decoder's table. */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

describe('decodeFloats', () => {
  it('decodes every one of the 65,536 F16 bit patterns to its value, from an unaligned buffer', () => {
    const bytes = new Uint8Array(1 + 2 * 65536).subarray(1); // odd byteOffset
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    for (let bits = 0; bits < 65536; bits++) view.setUint16(2 * bits, bits, true);
    const values = decodeFloats(bytes, 'F16', 65536);
    const wrong: string[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      if (!Object.is(values[bits], halfValue(bits))) wrong.push(`0x${bits.toString(16)}: ${values[bits]} not ${halfValue(bits)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('decodes BF16 as the top 16 bits of a float32 and F32 as is, from unaligned buffers', () => {
    const floats = Float32Array.from([1, -3.140625, 2 ** -126, -Infinity, 65280]);
    const bits = new Uint32Array(floats.buffer);
    const bf16 = new Uint8Array(1 + 2 * floats.length).subarray(1);
    const f32 = new Uint8Array(1 + 4 * floats.length).subarray(1);
    floats.forEach((_, i) => {
      new DataView(bf16.buffer, bf16.byteOffset).setUint16(2 * i, bits[i]! >>> 16, true);
      new DataView(f32.buffer, f32.byteOffset).setFloat32(4 * i, floats[i]!, true);
    });
    expect(decodeFloats(bf16, 'BF16', floats.length)).toEqual(floats);
    expect(decodeFloats(f32, 'F32', floats.length)).toEqual(floats);
  });
});

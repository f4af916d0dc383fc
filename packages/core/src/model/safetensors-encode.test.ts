/** The encode side of safetensors.ts: F32 as before, and F16 (IEEE half precision bits, round to nearest even). */
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

/** Header and data bytes of an encoded file, read by hand (not with decodeSafetensors). */
function parts(bytes: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>; data: Buffer } {
  const buffer = Buffer.from(bytes);
  const n = Number(buffer.readBigUInt64LE(0));
  return { header: JSON.parse(buffer.subarray(8, 8 + n).toString('utf8')), data: buffer.subarray(8 + n) };
}

describe('encodeSafetensors', () => {
  it('stores F16 as IEEE half-precision bits, rounding to nearest even, at 2 bytes a value', () => {
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties go to the even one, 1.
    const values = [1, -2, 65504, 1 / 3, 0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24];
    const bytes = encodeSafetensors(new Map([['t', { shape: [2, 4], data: Float32Array.from(values) }]]), { format: 'pt' }, { dtype: 'F16' });
    const { header, data } = parts(bytes);
    expect(header.t).toEqual({ dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] });
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const bits = Array.from({ length: values.length }, (_, i) => data.readUInt16LE(2 * i));
    expect(bits).toEqual([0x3c00, 0xc000, 0x7bff, 0x3555, 0x0000, 0x3c00, 0x3c02, 0x0001]);
  });

  it('refuses an F16 value beyond float16 (it would become Infinity), naming the tensor, the value and its index', () => {
    const tensors = new Map([['encoder.w', { shape: [3], data: Float32Array.from([0, 70000, 1]) }]]);
    expect(() => encodeSafetensors(tensors, {}, { dtype: 'F16' })).toThrow("safetensors: tensor 'encoder.w' holds 70000 at index 1, outside float16's range (largest 65504); store it as F32");
  });

  it('stores F32 by default, offsets following each other, readable by decodeSafetensors', () => {
    const tensors = new Map([
      ['a', { shape: [2], data: Float32Array.from([1.5, -3]) }],
      ['b', { shape: [1, 3], data: Float32Array.from([0.25, 7, 9]) }],
    ]);
    const bytes = encodeSafetensors(tensors);
    const { header } = parts(bytes);
    expect(header.a!.data_offsets).toEqual([0, 8]);
    expect(header.b).toEqual({ dtype: 'F32', shape: [1, 3], data_offsets: [8, 20] });
    const decoded = decodeSafetensors(bytes, 'mem');
    expect([...decoded.tensors.get('b')!.data]).toEqual([0.25, 7, 9]);
  });
});

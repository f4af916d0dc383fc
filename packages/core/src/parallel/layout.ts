/**
 * Where each parameter lives in the flat Float32Array that threads share (weights one way,
 * gradients the other): `specs` order, packed.
 */
import type { ParamSpec } from '../model/config.js';

export interface ParamLayout {
  readonly names: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  /** Start of parameter i, in floats. */
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
  /** Floats in all. */
  readonly total: number;
}

export function paramLayout(specs: readonly ParamSpec[]): ParamLayout {
  const offsets: number[] = [];
  const sizes: number[] = [];
  let total = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    offsets.push(total);
    sizes.push(size);
    total += size;
  }
  return { names: specs.map((s) => s.name), shapes: specs.map((s) => [...s.shape]), offsets, sizes, total };
}

/** Parameter i's floats in `flat` (a view, not a copy). */
export function paramView(flat: Float32Array, layout: ParamLayout, i: number): Float32Array {
  return flat.subarray(layout.offsets[i]!, layout.offsets[i]! + layout.sizes[i]!);
}

/** A zeroed Float32Array over shared memory, big enough for every parameter. */
export function sharedParams(layout: ParamLayout): Float32Array {
  return new Float32Array(new SharedArrayBuffer(layout.total * Float32Array.BYTES_PER_ELEMENT));
}

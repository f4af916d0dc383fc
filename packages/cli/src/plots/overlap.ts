/**
 * Lines and markers with identical data hide each other. Each of them gets a wider stroke and a
 * larger marker than the identical ones drawn after it, so every colour shows as a rim; a line
 * with nothing identical keeps the base width (many jobs would otherwise make every line fat).
 */

export const BASE_WIDTH = 2;
export const BASE_MARKER = 70;

export interface Stacked {
  /** Stroke width in pixels. */
  readonly width: number;
  /** Marker area in square pixels. */
  readonly size: number;
}

/** One entry per key, in draw order: items with equal keys are drawn inside each other. */
export function stackIdentical(keys: readonly string[]): Stacked[] {
  return keys.map((key, i) => {
    const above = keys.slice(i + 1).filter((k) => k === key).length;
    return { width: BASE_WIDTH + 2 * above, size: BASE_MARKER + 90 * above };
  });
}

/** vega-lite encodings that take the pixel values straight from a data field. */
export const rawWidth = (field: string) => ({ field, type: 'quantitative', scale: null, legend: null });

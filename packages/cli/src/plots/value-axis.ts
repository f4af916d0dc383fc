/**
 * A y axis for a metric or loss that cannot mislead: the domain and ticks are chosen here, not by
 * vega's `zero: false` (which zoomed to 0.555-0.590 without saying so, and for a constant 0.5575
 * showed one tick rounded to "1"). Ticks carry as many decimals as their step needs, and a zoomed
 * axis says where it starts in its title.
 */

export interface ValueAxis {
  readonly title: string;
  readonly scale: { readonly domain: [number, number]; readonly nice: false; readonly zero: false };
  readonly axis: { readonly values: number[]; readonly format: string };
}

const TARGET_TICKS = 5;

/** The smallest of 1, 2, 2.5, 5 (times a power of ten) that is at least `raw`. */
export function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = [1, 2, 2.5, 5, 10].find((k) => k * power >= raw * (1 - 1e-9)) ?? 10;
  return round(m * power, 15);
}

/** Decimals a step needs: 0.0025 -> 4, 0.5 -> 1, 2 -> 0. */
export function decimalsOf(step: number): number {
  const text = String(round(step, 12));
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

const round = (v: number, decimals: number) => Number(v.toFixed(decimals));

/**
 * The axis for `values` (non-finite ones ignored). Values all in [0, 1] (accuracy, sparsity) keep
 * the domain inside [0, 1]; values all >= 0 keep it >= 0.
 */
export function valueAxis(values: readonly (number | undefined)[], title: string, minSpan = 0): ValueAxis {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  let lo = finite.length > 0 ? Math.min(...finite) : 0;
  let hi = finite.length > 0 ? Math.max(...finite) : 1;
  // A constant gets a small window around it, so its one line sits mid-plot with readable ticks.
  const span = Math.max(minSpan, hi - lo < 1e-12 ? Math.max(Math.abs(lo) * 0.02, 2e-3) : 0);
  if (hi - lo < span) {
    const mid = (lo + hi) / 2;
    lo = mid - span / 2;
    hi = mid + span / 2;
  }
  const step = niceStep((hi - lo) / TARGET_TICKS);
  const decimals = decimalsOf(step);
  let from = round(Math.floor(lo / step + 1e-9) * step, decimals);
  let to = round(Math.ceil(hi / step - 1e-9) * step, decimals);
  if (finite.length > 0 && finite.every((v) => v >= 0)) from = Math.max(0, from);
  if (finite.length > 0 && finite.every((v) => v >= 0 && v <= 1)) to = Math.min(1, to);
  const ticks: number[] = [];
  for (let i = 0; from + i * step <= to + step * 1e-6; i++) ticks.push(round(from + i * step, decimals));
  const zoomed = from > 0 && finite.every((v) => v >= 0);
  return {
    title: zoomed ? `${title} (from ${from.toFixed(decimals)}, not 0)` : title,
    scale: { domain: [from, to], nice: false, zero: false },
    axis: { values: ticks, format: `.${decimals}f` },
  };
}

/**
 * The plots that answer "which method keeps the most accuracy at which sparsity, and what speed
 * does it buy": final metric against final sparsity (one line per method), and final metric
 * against measured speedup (one point per compacted job).
 */
import type { TopLevelSpec } from 'vega-lite';
import { isCompacted, type JobOutcome } from './job-outcomes.js';
import { valueAxis } from './value-axis.js';
import { bottomLegend, PLOT_FRAME } from './charts.js';
import { rawWidth, stackIdentical } from './overlap.js';

const DENSE_COLOR = '#555555';
/**
 * Final metrics of jobs on a few hundred evaluation examples differ by noise of a point or two: a
 * y window at least 5 points tall keeps a 0.2-point gap from looking like a cliff.
 */
const MIN_METRIC_SPAN = 0.05;
/** vega's tableau10, fixed here so a method has the same colour in both plots (dense is grey). */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** The pruned jobs' series in the order both plots give them colours. */
const prunedSeries = (outcomes: readonly JobOutcome[]) => [...new Set(outcomes.filter((o) => !o.dense).map((o) => o.series))];

export interface SparsityPoint {
  readonly series: string;
  readonly job: string;
  readonly sparsity: number;
  readonly value: number;
  /** Stroke width and marker area: stacked where series are identical (overlap.ts). */
  readonly width: number;
  readonly size: number;
}
export interface DenseLine {
  readonly label: string;
  readonly value: number;
}

/** The points (pruned jobs, by series then sparsity) and the dense reference lines. */
export function sparsityPoints(outcomes: readonly JobOutcome[]): { points: SparsityPoint[]; dense: DenseLine[] } {
  const pruned = outcomes.filter((o) => !o.dense && Number.isFinite(o.value));
  const series = prunedSeries(outcomes);
  const sorted = pruned
    .map((o) => ({ series: o.series, job: o.job.label, sparsity: o.sparsity, value: o.value }))
    .sort((a, b) => series.indexOf(a.series) - series.indexOf(b.series) || a.sparsity - b.sparsity);
  const lineOf = (name: string) => JSON.stringify(sorted.filter((p) => p.series === name).map((p) => [p.sparsity, p.value]));
  const stacked = stackIdentical(series.map(lineOf));
  const points = sorted.map((p) => ({ ...p, ...stacked[series.indexOf(p.series)]! }));
  const denseJobs = outcomes.filter((o) => o.dense && Number.isFinite(o.value));
  const dense = denseJobs.map((o) => ({
    label: denseJobs.length === 1 ? `dense baseline ${o.value.toFixed(4)}` : `dense ${o.job.label} ${o.value.toFixed(4)}`,
    value: o.value,
  }));
  return { points, dense };
}

/** Colour and marker shape per series, in one legend; widths and marker sizes from the data (overlap.ts). */
function seriesEncodings(series: readonly string[]) {
  const legend = bottomLegend(series);
  const range = series.map((name, i) => (name === 'dense' ? DENSE_COLOR : PALETTE[i % PALETTE.length]!));
  return {
    color: { field: 'series', type: 'nominal', title: 'method', scale: { domain: series, range }, legend },
    shape: { field: 'series', type: 'nominal', title: 'method', scale: { domain: series }, legend },
    strokeWidth: rawWidth('width'),
    size: rawWidth('size'),
  };
}

export function accuracyVsSparsitySpec(outcomes: readonly JobOutcome[], title: string): TopLevelSpec {
  const metric = outcomes[0]?.metric ?? 'metric';
  const { points, dense } = sparsityPoints(outcomes);
  const series = prunedSeries(outcomes).filter((name) => points.some((p) => p.series === name));
  const { color, shape, strokeWidth, size } = seriesEncodings(series);
  const x = {
    field: 'sparsity',
    type: 'quantitative',
    title: 'final sparsity (fraction of gated weights removed, measured)',
    scale: { domain: [0, 1], nice: false },
    axis: { values: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], format: '.0%' },
  };
  const yAxis = valueAxis([...points.map((p) => p.value), ...dense.map((d) => d.value)], `final ${metric}`, MIN_METRIC_SPAN);
  const y = { field: 'value', type: 'quantitative', ...yAxis };
  const layers: unknown[] = [
    { data: { values: points }, mark: { type: 'line' }, encoding: { x, y, color, strokeWidth, detail: { field: 'series' }, order: { field: 'sparsity' } } },
    { data: { values: points }, mark: { type: 'point', filled: false, strokeWidth: 2 }, encoding: { x, y, color, shape, size } },
  ];
  if (dense.length > 0) {
    layers.push(
      { data: { values: dense }, mark: { type: 'rule', strokeDash: [8, 4], color: DENSE_COLOR, strokeWidth: 1.5 }, encoding: { y } },
      {
        data: { values: dense },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -4, dy: -3, color: DENSE_COLOR, fontSize: 12 },
        encoding: { y, x: { datum: 1, type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  return {
    ...PLOT_FRAME,
    title: { text: `${title}: final ${metric} against final sparsity`, subtitle: 'one line per method across jobs; dashed grey: the dense model' },
    layer: layers,
  } as TopLevelSpec;
}

export interface SpeedPoint {
  readonly series: string;
  readonly job: string;
  readonly speedup: number;
  readonly value: number;
  /** Next to the point: its sparsity, e.g. "50%"; "dense" for the baseline. */
  readonly tag: string;
  /** Marker area: larger under an identical point drawn later (overlap.ts). */
  readonly size: number;
}

/** One point per compacted job with a measured speedup, plus dense jobs (their speedup, 1.0x when first). */
export function speedPoints(outcomes: readonly JobOutcome[]): SpeedPoint[] {
  const shown = outcomes.filter((o) => o.speed && Number.isFinite(o.value) && (o.dense || isCompacted(o)));
  const sizes = stackIdentical(shown.map((o) => `${o.speed!.speedup},${o.value}`));
  return shown.map((o, i) => ({
    series: o.dense ? 'dense' : o.series,
    job: o.job.label,
    speedup: o.speed!.speedup,
    value: o.value,
    tag: o.dense ? 'dense' : `${Math.round(o.sparsity * 100)}%`,
    size: sizes[i]!.size,
  }));
}

/** Why jobs are missing from the speedup plot, for its subtitle. */
function speedCaption(outcomes: readonly JobOutcome[], points: readonly SpeedPoint[]): string {
  const shapes = new Set(outcomes.flatMap((o) => (o.speed ? [`batch ${o.speed.batch} x seq ${o.speed.seq} on ${o.speed.backend}`] : [])));
  const parts = [`measured by gbp bench, ${[...shapes].join('; ')}; labels: sparsity`];
  const unstructured = outcomes.filter((o) => !o.dense && o.compaction && !isCompacted(o)).length;
  if (unstructured > 0) parts.push(`${unstructured} job(s) removed no whole heads or neurons: not shown`);
  const unmeasured = outcomes.filter((o) => (o.dense || isCompacted(o)) && !o.speed).length;
  if (unmeasured > 0) parts.push(`${unmeasured} job(s) not in bench.json: not shown`);
  return parts.join(' · ') + (points.length === 0 ? ' · no point to show' : '');
}

export function accuracyVsSpeedupSpec(outcomes: readonly JobOutcome[], title: string): TopLevelSpec {
  const metric = outcomes[0]?.metric ?? 'metric';
  const points = speedPoints(outcomes);
  // Every pruned series keeps its colour from accuracy_vs_sparsity.png, shown or not.
  const series = [...prunedSeries(outcomes), 'dense'];
  const { color, shape, size } = seriesEncodings(series);
  const top = Math.max(2, ...points.map((p) => p.speedup));
  const step = top <= 4 ? 0.5 : top <= 10 ? 1 : 2;
  const to = Math.ceil((top * 1.08) / step) * step;
  const ticks = Array.from({ length: Math.round(to / step) + 1 }, (_, i) => i * step);
  const x = {
    field: 'speedup',
    type: 'quantitative',
    title: 'measured speedup over the dense model (x)',
    scale: { domain: [0, to], nice: false },
    axis: { values: ticks, labelExpr: "format(datum.value, '.1f') + 'x'" },
  };
  const y = { field: 'value', type: 'quantitative', ...valueAxis(points.map((p) => p.value), `final ${metric}`, MIN_METRIC_SPAN) };
  return {
    ...PLOT_FRAME,
    title: { text: `${title}: final ${metric} against measured speedup`, subtitle: speedCaption(outcomes, points) },
    layer: [
      { data: { values: [{ speedup: 1 }] }, mark: { type: 'rule', strokeDash: [8, 4], color: DENSE_COLOR }, encoding: { x } },
      {
        data: { values: [{ speedup: 1, text: 'dense = 1.0x' }] },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -4, color: DENSE_COLOR, fontSize: 12 },
        encoding: { x, y: { value: { expr: 'height' } }, text: { field: 'text' } },
      },
      { data: { values: points }, mark: { type: 'point', filled: false, strokeWidth: 2 }, encoding: { x, y, color, shape, size } },
      // Sparsity labels, one layer per series at its own height, so two methods at one spot both read.
      ...series.map((name, i) => ({
        data: { values: points },
        transform: [{ filter: { field: 'series', equal: name } }],
        mark: { type: 'text', align: 'left', dx: 10, dy: i % 2 === 0 ? -9 - 5 * i : 14 + 5 * i, fontSize: 12 },
        encoding: { x, y, color, text: { field: 'tag' } },
      })),
    ],
  } as TopLevelSpec;
}

/** The vega-lite specs of gbp's plots: a metric or losses against sparsity over epochs (two y axes). */
import type { TopLevelSpec } from 'vega-lite';
import { BASE_CONFIG } from './render.js';
import type { LabelledJob } from './job-labels.js';
import type { JobResults } from './results-files.js';
import { rawWidth, stackIdentical } from './overlap.js';
import { valueAxis } from './value-axis.js';

export const PLOT_WIDTH = 900;
export const PLOT_HEIGHT = 500;

/**
 * A legend under the plot in as many columns (at most 3) as the longest label allows on one line
 * (~7 px a character at the legend's 12 px), never cut: job ids that differ only at their end
 * (magnitude_..._0.5 and magnitude_..._0.75) were both shown as 'magnitude_sst2_end_sparsit…'.
 */
export function bottomLegend(labels: readonly string[]): { orient: 'bottom'; columns: number; labelLimit: number } {
  const widest = Math.max(0, ...labels.map((l) => l.length)) * 7 + 40;
  return { orient: 'bottom', columns: Math.max(1, Math.min(3, Math.floor((PLOT_WIDTH - 60) / widest))), labelLimit: 0 };
}
const SPARSITY_COLOR = '#d62728';

/** 'fit' with 'padding': the whole picture (axes, legend, title) is exactly PLOT_WIDTH x PLOT_HEIGHT. */
export const PLOT_FRAME = {
  width: PLOT_WIDTH,
  height: PLOT_HEIGHT,
  autosize: { type: 'fit', contains: 'padding' },
  padding: 12,
  config: BASE_CONFIG,
} as const;

/** The epoch axis: whole epochs only (vega's nice ticks would say 1.4). */
function epochAxis(epochs: readonly number[]) {
  const last = Math.max(1, ...epochs);
  const every = Math.ceil(last / 15);
  const values = Array.from({ length: Math.floor(last / every) }, (_, i) => (i + 1) * every);
  return { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [Math.min(1, ...epochs), last], nice: false }, axis: { values, format: 'd' } };
}

/** 0..1 with a margin, so a sparsity of 0 (a dense job) is a line above the x axis, not hidden in it. */
const SPARSITY_AXIS = {
  field: 'sparsity',
  type: 'quantitative',
  title: 'sparsity',
  scale: { domain: [-0.03, 1.03], nice: false },
  axis: { orient: 'right', values: [0, 0.2, 0.4, 0.6, 0.8, 1], format: '.1f' },
} as const;

const sparsityLayer = (data: { epoch: number }[]) => ({
  data: { values: data },
  mark: { type: 'line', point: { color: SPARSITY_COLOR }, strokeDash: [6, 4], color: SPARSITY_COLOR },
  encoding: {
    x: epochAxis(data.map((d) => d.epoch)),
    y: { ...SPARSITY_AXIS, axis: { ...SPARSITY_AXIS.axis, titleColor: SPARSITY_COLOR } },
  },
});

/** A job's metric (left) and sparsity (right, dashed) per epoch. */
export function metricSparsitySpec(job: JobResults): TopLevelSpec {
  const values = job.rows.map((r) => ({ epoch: r.epoch, value: r[job.metric], sparsity: r.sparsity }));
  return {
    ...PLOT_FRAME,
    title: `${job.id}: ${job.metric} and sparsity`,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, color: '#1f77b4' },
        encoding: {
          x: epochAxis(values.map((v) => v.epoch)),
          y: { field: 'value', type: 'quantitative', ...yAxis(values.map((v) => v.value), job.metric, { titleColor: '#1f77b4' }) },
        },
      },
      sparsityLayer(values),
    ],
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** A job's train and eval loss (left) and sparsity (right, dashed) per epoch. */
export function lossSparsitySpec(job: JobResults): TopLevelSpec {
  // An unknown loss (empty cell: a search job trains nothing) is no point, not a point at 0.
  const losses = job.rows.flatMap((r) =>
    [
      { epoch: r.epoch, loss: r.train_loss, kind: 'train loss' },
      { epoch: r.epoch, loss: r.eval_loss, kind: 'eval loss' },
    ].filter((point): point is { epoch: number; loss: number; kind: string } => point.loss !== undefined),
  );
  return {
    ...PLOT_FRAME,
    title: `${job.id}: loss and sparsity`,
    layer: [
      {
        data: { values: losses },
        mark: { type: 'line', point: true },
        encoding: {
          x: epochAxis(losses.map((v) => v.epoch)),
          y: { field: 'loss', type: 'quantitative', ...yAxis(losses.map((v) => v.loss), 'loss') },
          color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'top-left' } },
        },
      },
      sparsityLayer(job.rows.map((r) => ({ epoch: r.epoch, sparsity: r.sparsity }))),
    ],
    resolve: { scale: { y: 'independent', color: 'independent' } },
  } as TopLevelSpec;
}

/**
 * Every job's metric (solid, left axis) and sparsity (dashed, right axis) per epoch, one colour and
 * marker shape per job label. Jobs often share values (same seed, same schedule): identical lines
 * are stacked (overlap.ts) so each shows, and the subtitle names jobs with identical metrics.
 */
export function comparisonSpec(jobs: readonly LabelledJob[], title: string): TopLevelSpec {
  const metric = jobs[0]?.metric ?? 'metric';
  const metricStack = stackIdentical(jobs.map((job) => JSON.stringify(job.rows.map((r) => [r.epoch, r[job.metric]]))));
  const sparsityStack = stackIdentical(jobs.map((job) => JSON.stringify(job.rows.map((r) => [r.epoch, r.sparsity]))));
  const values = jobs.flatMap((job, i) =>
    job.rows.map((r) => ({
      job: job.label,
      epoch: r.epoch,
      value: r[job.metric],
      sparsity: r.sparsity,
      metricWidth: metricStack[i]!.width,
      markerSize: metricStack[i]!.size,
      sparsityWidth: sparsityStack[i]!.width,
    })),
  );
  const x = epochAxis(values.map((v) => v.epoch));
  const order = jobs.map((j) => j.label);
  // Same field, title and legend for colour and shape: vega-lite merges them into one legend.
  const legend = bottomLegend(order);
  const color = { field: 'job', type: 'nominal', title: 'job', scale: { domain: order }, legend };
  const shape = { field: 'job', type: 'nominal', title: 'job', scale: { domain: order }, legend };
  const y = { field: 'value', type: 'quantitative', ...yAxis(values.map((v) => v.value), metric) };
  const sparsityY = { ...SPARSITY_AXIS };
  return {
    ...PLOT_FRAME,
    title: { text: `${title}: ${metric} (solid) and sparsity (dashed)`, ...sameLines(jobs) },
    data: { values },
    layer: [
      {
        // One y scale for a job's line and its markers.
        layer: [
          { mark: { type: 'line' }, encoding: { x, y, color, strokeWidth: rawWidth('metricWidth'), order: { field: 'epoch' } } },
          { mark: { type: 'point', filled: false, strokeWidth: 2 }, encoding: { x, y, color, shape, size: rawWidth('markerSize') } },
        ],
      },
      { mark: { type: 'line', strokeDash: [6, 4] }, encoding: { x, y: sparsityY, color, shape, strokeWidth: rawWidth('sparsityWidth'), order: { field: 'epoch' } } },
    ],
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** A subtitle naming jobs whose metric lines are identical (so drawn inside each other), if any. */
export function sameLines(jobs: readonly LabelledJob[]): { subtitle?: string } {
  const groups = new Map<string, string[]>();
  for (const job of jobs) {
    const key = JSON.stringify(job.rows.map((r) => [r.epoch, r[job.metric]]));
    groups.set(key, [...(groups.get(key) ?? []), job.label]);
  }
  const same = [...groups.values()].filter((labels) => labels.length > 1);
  if (same.length === 0) return {};
  return { subtitle: `same ${jobs[0]?.metric ?? 'metric'} every epoch, drawn inside each other: ${same.map((labels) => labels.join(' = ')).join('; ')}` };
}

/** A metric or loss axis with explicit ticks (see value-axis.ts), as vega-lite encoding fields. */
function yAxis(values: readonly (number | undefined)[], title: string, extra: Record<string, unknown> = {}) {
  const { title: axisTitle, scale, axis } = valueAxis(values, title);
  return { title: axisTitle, scale, axis: { ...axis, ...extra } };
}

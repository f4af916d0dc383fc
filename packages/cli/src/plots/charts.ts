/** The vega-lite specs of gbp's plots: a metric or losses against sparsity over epochs (two y axes). */
import type { TopLevelSpec } from 'vega-lite';
import { BASE_CONFIG } from './render.js';
import type { LabelledJob } from './job-labels.js';
import type { JobResults } from './results-files.js';

export const PLOT_WIDTH = 900;
export const PLOT_HEIGHT = 500;
const SPARSITY_COLOR = '#d62728';

/** 'fit' with 'padding': the whole picture (axes, legend, title) is exactly PLOT_WIDTH x PLOT_HEIGHT. */
const frame = {
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

const sparsityLayer = (data: { epoch: number }[]) => ({
  data: { values: data },
  mark: { type: 'line', point: { color: SPARSITY_COLOR }, strokeDash: [6, 4], color: SPARSITY_COLOR },
  encoding: {
    x: epochAxis(data.map((d) => d.epoch)),
    y: { field: 'sparsity', type: 'quantitative', title: 'sparsity', scale: { domain: [0, 1] }, axis: { orient: 'right', titleColor: SPARSITY_COLOR } },
  },
});

/** A job's metric (left) and sparsity (right, dashed) per epoch. */
export function metricSparsitySpec(job: JobResults): TopLevelSpec {
  const values = job.rows.map((r) => ({ epoch: r.epoch, value: r[job.metric], sparsity: r.sparsity }));
  return {
    ...frame,
    title: `${job.id}: ${job.metric} and sparsity`,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, color: '#1f77b4' },
        encoding: {
          x: epochAxis(values.map((v) => v.epoch)),
          y: { field: 'value', type: 'quantitative', title: job.metric, scale: { zero: false }, axis: { titleColor: '#1f77b4' } },
        },
      },
      sparsityLayer(values),
    ],
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** A job's train and eval loss (left) and sparsity (right, dashed) per epoch. */
export function lossSparsitySpec(job: JobResults): TopLevelSpec {
  const losses = job.rows.flatMap((r) => [
    { epoch: r.epoch, loss: r.train_loss, kind: 'train loss' },
    { epoch: r.epoch, loss: r.eval_loss, kind: 'eval loss' },
  ]);
  return {
    ...frame,
    title: `${job.id}: loss and sparsity`,
    layer: [
      {
        data: { values: losses },
        mark: { type: 'line', point: true },
        encoding: {
          x: epochAxis(losses.map((v) => v.epoch)),
          y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
          color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'top-left' } },
        },
      },
      sparsityLayer(job.rows.map((r) => ({ epoch: r.epoch, sparsity: r.sparsity }))),
    ],
    resolve: { scale: { y: 'independent', color: 'independent' } },
  } as TopLevelSpec;
}

/** Every job's metric (solid, left axis) and sparsity (dashed, right axis) per epoch, one colour (and line) per job label. */
export function comparisonSpec(jobs: readonly LabelledJob[], title: string): TopLevelSpec {
  const metric = jobs[0]?.metric ?? 'metric';
  const values = jobs.flatMap((job) => job.rows.map((r) => ({ job: job.label, epoch: r.epoch, value: r[job.metric], sparsity: r.sparsity })));
  const x = epochAxis(values.map((v) => v.epoch));
  const color = { field: 'job', type: 'nominal', title: 'job', legend: { orient: 'bottom', columns: 3 } };
  return {
    ...frame,
    title: `${title}: ${metric} (solid) and sparsity (dashed)`,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: { x, color, y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } } },
      },
      {
        mark: { type: 'line', strokeDash: [6, 4] },
        encoding: { x, color, y: { field: 'sparsity', type: 'quantitative', title: 'sparsity', scale: { domain: [0, 1] }, axis: { orient: 'right' } } },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

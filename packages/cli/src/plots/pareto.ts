/**
 * pareto.png: accuracy against measured latency, for a pipeline with search jobs. Each search job's
 * finalists (search/candidates.csv: measured_ms and fitness, the validation metric of the
 * sub-network with inherited weights; the chosen one marked) and every job measured in the
 * pipeline's bench.json (dense, pruned, searched and fine-tuned models: their final metric at the
 * bench's median latency), on the same axes. Both shapes are named on the plot: the finalists are
 * timed at search.latency's batch x seq, the jobs at gbp run's bench shape (batch 8 x max_len).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '@gbp/core';
import { bottomLegend, PLOT_FRAME } from './charts.js';
import { jobKind, type JobKind } from './job-kind.js';
import { readJobResults, type JobResults } from './results-files.js';
import { jobRow, readPipelineBench, type BenchFile } from './speed-files.js';
import { renderPng } from './render.js';
import { valueAxis } from './value-axis.js';

export const PARETO_PNG = 'pareto.png';
export const CANDIDATES_CSV = join('search', 'candidates.csv');
export const LATENCY_MODEL_JSON = join('search', 'latency_model.json');

/** What a point is: a search job's finalist (its chosen one apart), or a job's model as benched. */
export type ParetoKind = 'finalist' | 'chosen' | JobKind;

export interface ParetoPoint {
  /** The legend entry: `<search job> finalists`, or the job id. */
  readonly series: string;
  readonly kind: ParetoKind;
  /** The architecture (finalists) or the job id. */
  readonly label: string;
  readonly latency_ms: number;
  readonly metric: number;
}

export interface ParetoData {
  readonly points: readonly ParetoPoint[];
  readonly metric: string;
  /** The measurement shapes, for the subtitle: `finalists: batch 8 x seq 64 (1 thread)`, `jobs: ...`. */
  readonly shapes: readonly string[];
  readonly notes: readonly string[];
}

/** Splits one CSV line, honouring double quotes (an architecture `L2-h4,2-f512,256` is quoted). Hand-written: one reader of one gbp-written file does not warrant a dependency. */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

const TRUE = new Set(['true', '1', 'yes']);
const ARCH_COLUMNS = ['arch', 'architecture', 'key'];

/** The finalists of `<jobDir>/search/candidates.csv` (rows with a measured_ms); errors name the file and line. */
export function readFinalists(jobDir: string): { arch: string; measured_ms: number; fitness: number; chosen: boolean }[] {
  const file = join(jobDir, CANDIDATES_CSV);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = csvCells(lines[0] ?? '').map((h) => h.trim());
  for (const column of ['measured_ms', 'fitness']) if (!header.includes(column)) throw new Error(`${file}: no ${column} column in header '${lines[0] ?? ''}'`);
  const arch = header.find((h) => ARCH_COLUMNS.includes(h));
  const rows = lines.slice(1).map((line, i) => {
    const cells = csvCells(line);
    if (cells.length !== header.length) throw new Error(`${file}:${i + 2}: ${cells.length} cells, header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j]!.trim()]));
  });
  const finalists = rows
    .filter((row) => row.measured_ms !== '' && Number.isFinite(Number(row.measured_ms)))
    .map((row, i) => ({ arch: arch ? row[arch]! : `finalist ${i + 1}`, measured_ms: Number(row.measured_ms), fitness: Number(row.fitness), chosen: TRUE.has((row.chosen ?? '').toLowerCase()) }));
  // Without a chosen column the search keeps the fittest finalist.
  if (finalists.length > 0 && !header.includes('chosen')) {
    const best = finalists.reduce((a, b) => (b.fitness > a.fitness ? b : a));
    best.chosen = true;
  }
  return finalists;
}

/** `batch 8 x seq 64 (1 thread)` from a search job's latency_model.json, or undefined when it has none. */
function latencyShape(jobDir: string): string | undefined {
  const file = join(jobDir, LATENCY_MODEL_JSON);
  if (!existsSync(file)) return undefined;
  const model = JSON.parse(readFileSync(file, 'utf8')) as { batch?: number; seq?: number; threads?: number };
  return shapeText(model.batch, model.seq, model.threads);
}

const shapeText = (batch: unknown, seq: unknown, threads = 1) => `batch ${String(batch)} x seq ${String(seq)} (${threads} thread${threads === 1 ? '' : 's'})`;

/**
 * The points of pareto.png from the job folders of a pipeline (finished ones): search jobs'
 * finalists and the benched jobs' models. A job without results (a search job writes no epochs)
 * still gives its finalists.
 */
export function paretoPoints(jobDirs: readonly string[]): ParetoData {
  const points: ParetoPoint[] = [];
  const notes: string[] = [];
  const finalistShapes = new Set<string>();
  const jobShapes = new Set<string>();
  const backends = new Map<string, string>();
  const benches = new Map<string, BenchFile | undefined>();
  let metric: string | undefined;
  for (const dir of jobDirs) {
    const id = basename(dir).replace(/^results_/, '');
    if (existsSync(join(dir, CANDIDATES_CSV))) {
      for (const f of readFinalists(dir)) {
        points.push({ series: `${id} finalists`, kind: f.chosen ? 'chosen' : 'finalist', label: f.arch, latency_ms: f.measured_ms, metric: f.fitness });
      }
      const shape = latencyShape(dir);
      if (shape) finalistShapes.add(shape);
    }
    const folder = dirname(dir);
    if (!benches.has(folder)) benches.set(folder, readPipelineBench(folder));
    const bench = benches.get(folder);
    if (!bench) continue;
    let job: JobResults;
    try {
      job = readJobResults(dir);
    } catch {
      continue; // no epochs to take a metric from (a search job): its finalists stand for it
    }
    const maxLen = ((job.metadata.spec ?? {}) as { model?: { max_len?: number } }).model?.max_len;
    const row = jobRow(bench, { id: job.id, dir }, maxLen);
    const last = job.rows[job.rows.length - 1];
    if (!row || !last) continue;
    metric ??= job.metric;
    points.push({ series: job.id, kind: jobKind(job), label: job.id, latency_ms: row.median_ms, metric: last[job.metric]! });
    const shape = shapeText(row.batch, row.seq, row.threads);
    jobShapes.add(shape);
    backends.set(shape, bench.backend);
  }
  const shapes = [
    ...(finalistShapes.size > 0 ? [`finalists: ${[...finalistShapes].join('; ')}`] : []),
    ...(jobShapes.size > 0 ? [`jobs (gbp run's bench): ${[...jobShapes].map((shape) => `${shape}, ${backends.get(shape)}`).join('; ')}`] : []),
  ];
  const same = finalistShapes.size === jobShapes.size && [...finalistShapes].every((shape) => jobShapes.has(shape));
  if (finalistShapes.size > 0 && jobShapes.size > 0 && !same) {
    notes.push(`${PARETO_PNG}: the finalists and the jobs were timed at different shapes (${shapes.join('; ')}): compare latencies within each group`);
  }
  return { points, metric: metric ?? 'accuracy', shapes, notes };
}

const SHAPES: Record<ParetoKind, string> = { finalist: 'circle', chosen: 'diamond', dense: 'square', pruned: 'triangle-up', supernet: 'triangle-right', searched: 'cross', 'fine-tuned': 'triangle-down' };

/** Accuracy (fitness for finalists) against measured latency, one colour per job, one shape per kind. */
export function paretoSpec(data: ParetoData, title: string): TopLevelSpec {
  const series = [...new Set(data.points.map((p) => p.series))];
  const kinds = (Object.keys(SHAPES) as ParetoKind[]).filter((k) => data.points.some((p) => p.kind === k));
  const { title: yTitle, scale, axis } = valueAxis(data.points.map((p) => p.metric), data.metric);
  return {
    ...PLOT_FRAME,
    title: {
      text: `${title}: ${data.metric} vs measured latency`,
      subtitle: [`finalists: their fitness (${data.metric} with inherited weights); jobs: their final ${data.metric}`, ...data.shapes],
      anchor: 'start',
    },
    data: { values: data.points.map((p) => ({ ...p, size: p.kind === 'chosen' ? 220 : 90 })) },
    mark: { type: 'point', filled: true, opacity: 0.85 },
    encoding: {
      x: { field: 'latency_ms', type: 'quantitative', title: 'latency (ms, median forward pass)', scale: { zero: false } },
      y: { field: 'metric', type: 'quantitative', title: yTitle, scale, axis },
      color: { field: 'series', type: 'nominal', title: 'job', scale: { domain: series }, legend: bottomLegend(series) },
      shape: { field: 'kind', type: 'nominal', title: 'kind', scale: { domain: kinds, range: kinds.map((k) => SHAPES[k]) }, legend: { orient: 'right' } },
      size: { field: 'size', type: 'quantitative', scale: null, legend: null },
      tooltip: [{ field: 'label' }, { field: 'latency_ms' }, { field: 'metric' }],
    },
  } as TopLevelSpec;
}

/** Writes `<outDir>/pareto.png` (atomically) when some job searched; its path and notes, or undefined. */
export async function writePareto(outDir: string, jobDirs: readonly string[], title: string): Promise<{ png: string; notes: readonly string[] } | undefined> {
  if (!jobDirs.some((dir) => existsSync(join(dir, CANDIDATES_CSV)))) return undefined;
  const data = paretoPoints(jobDirs);
  const png = join(outDir, PARETO_PNG);
  await writeFileAtomic(png, await renderPng(paretoSpec(data, title)));
  return { png, notes: data.notes };
}

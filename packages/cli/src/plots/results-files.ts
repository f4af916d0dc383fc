/** Reads a job's results folder: the newest results_*.csv and metadata_*.json (written by runJob). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** One epoch's CSV row. An empty cell is unknown (absent), never 0: a search job trains nothing, so its train_loss is empty. */
export interface EpochRow {
  readonly epoch: number;
  readonly sparsity: number;
  readonly train_loss?: number;
  readonly eval_loss?: number;
  readonly [column: string]: number | undefined;
}
const REQUIRED = ['epoch', 'sparsity', 'train_loss', 'eval_loss'] as const;

export interface JobResults {
  readonly dir: string;
  /** The job id: the folder name without results_. */
  readonly id: string;
  readonly method: string;
  readonly timestamp: string;
  readonly task: string;
  readonly size: string;
  readonly csvPath: string;
  readonly rows: readonly EpochRow[];
  readonly metricColumns: readonly string[];
  /** The metric plotted and compared (accuracy where the task has it). */
  readonly metric: string;
  readonly metadata: Record<string, unknown>;
}

const NOT_METRICS = new Set(['epoch', 'step', 'lr', 'train_loss', 'eval_loss', 'sparsity', 'wall_time_s']);
const PREFERRED = ['accuracy', 'matthews_correlation', 'pearson', 'spearman', 'f1'];

export function parseCsv(text: string, file: string): { header: string[]; rows: EpochRow[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length > 0) throw new Error(`${file}: no ${missing.join(', ')} column in header '${lines[0] ?? ''}'`);
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== header.length) throw new Error(`${file}:${i + 2}: ${cells.length} cells, header has ${header.length}`);
    const row = header.flatMap((h, j) => {
      const cell = cells[j]!.trim();
      if (cell === '') {
        if (h === 'epoch' || h === 'sparsity') throw new Error(`${file}:${i + 2}: the ${h} cell is empty`);
        return [];
      }
      const value = Number(cell);
      if (Number.isNaN(value) && cell !== 'NaN') throw new Error(`${file}:${i + 2}: ${h}: '${cell}' is not a number`);
      return [[h, value] as const];
    });
    return Object.fromEntries(row) as unknown as EpochRow;
  });
  return { header, rows };
}

/** The metric to plot among the CSV's metric columns. */
export function primaryMetric(columns: readonly string[]): string {
  for (const name of PREFERRED) {
    const hit = columns.find((c) => c === name) ?? columns.find((c) => c.endsWith(`/${name}`) || c.endsWith(`_${name}`));
    if (hit) return hit;
  }
  const first = columns[0];
  if (!first) throw new Error('the results CSV has no metric column');
  return first;
}

/** The newest `${prefix}_{method}_{timestamp}.${ext}` in dir (timestamps sort as text). */
function newest(dir: string, prefix: string, ext: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith(`.${ext}`));
  files.sort((a, b) => stamp(a).localeCompare(stamp(b)) || statSync(join(dir, a)).mtimeMs - statSync(join(dir, b)).mtimeMs);
  const last = files[files.length - 1];
  return last && join(dir, last);
}
/** The timestamp ends the name: e.g. 20250102_030405 or 20261124T192638Z. */
const stamp = (file: string) => /_(\d{8}[T_]?\d{6}Z?)\.\w+$/.exec(file)?.[1] ?? '';

export function readJobResults(dir: string): JobResults {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  // The metadata names the method and timestamp exactly; the file names are the fallback.
  const newestMeta = newest(dir, 'metadata', 'json');
  const meta = newestMeta ? (JSON.parse(readFileSync(newestMeta, 'utf8')) as Record<string, unknown>) : undefined;
  const fromMeta =
    typeof meta?.method === 'string' && typeof meta.timestamp === 'string' ? join(dir, `results_${meta.method}_${meta.timestamp}.csv`) : undefined;
  const csvPath = fromMeta && existsSync(fromMeta) ? fromMeta : newest(dir, 'results', 'csv');
  if (!csvPath) throw new Error(`${dir}: no results_*.csv (did the job finish an epoch?)`);
  const name = basename(csvPath, '.csv').slice('results_'.length);
  const timestamp = csvPath === fromMeta ? String(meta!.timestamp) : stamp(basename(csvPath));
  const method = csvPath === fromMeta ? String(meta!.method) : timestamp ? name.slice(0, -(timestamp.length + 1)) : name;
  const { header, rows } = parseCsv(readFileSync(csvPath, 'utf8'), csvPath);
  const metaPath = join(dir, `metadata_${method}_${timestamp}.json`);
  const metadata = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as Record<string, unknown>) : {};
  const spec = (metadata.spec ?? {}) as { task?: string; model?: { size?: string } };
  const metricColumns = header.filter((h) => !NOT_METRICS.has(h));
  return {
    dir,
    id: basename(dir).replace(/^results_/, ''),
    method,
    timestamp,
    task: spec.task ?? String(metadata.task ?? ''),
    size: spec.model?.size ?? '',
    csvPath,
    rows,
    metricColumns,
    metric: primaryMetric(metricColumns),
    metadata,
  };
}

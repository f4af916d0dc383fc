/**
 * What a job's `model/compaction.json` (written by core's compaction) and its pipeline folder's
 * `bench.json` (written by `gbp bench --json` and at the end of `gbp run`) say about size and speed.
 * Only the fields the plots and summary use are read and checked; a malformed file is an error
 * naming the file and field, never a silently missing column.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const COMPACTION_JSON = join('model', 'compaction.json');
export const BENCH_JSON = 'bench.json';

export interface CompactionFacts {
  readonly file: string;
  readonly params_after: number;
  readonly flops_per_token_after: number;
  readonly max_len: number;
  readonly structures_removed: boolean;
}

export interface BenchRow {
  readonly target: string;
  readonly path?: string;
  readonly job?: string;
  readonly batch: number;
  readonly seq: number;
  readonly median_ms: number;
  readonly speedup: number;
}

export interface BenchFile {
  readonly file: string;
  readonly backend: string;
  readonly rows: readonly BenchRow[];
}

/** A job's measured speedup and the shape it was measured at. */
export interface JobSpeed {
  readonly speedup: number;
  readonly batch: number;
  readonly seq: number;
  readonly backend: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not readable JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function field<T>(file: string, record: Record<string, unknown>, name: string, kind: 'number' | 'boolean' | 'string', where = ''): T {
  const value = record[name];
  const ok = kind === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === kind;
  if (!ok) throw new Error(`${file}: ${where}"${name}" should be a ${kind === 'number' ? 'finite number' : kind}, got ${JSON.stringify(value)}`);
  return value as T;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `<jobDir>/model/compaction.json`, or undefined when the job wrote none. */
export function readCompactionFacts(jobDir: string): CompactionFacts | undefined {
  const file = join(jobDir, COMPACTION_JSON);
  if (!existsSync(file)) return undefined;
  const json = readJson(file);
  if (!isRecord(json)) throw new Error(`${file}: expected a JSON object`);
  return {
    file,
    params_after: field(file, json, 'params_after', 'number'),
    flops_per_token_after: field(file, json, 'flops_per_token_after', 'number'),
    max_len: field(file, json, 'max_len', 'number'),
    structures_removed: field(file, json, 'structures_removed', 'boolean'),
  };
}

/** `<pipelineDir>/bench.json`, or undefined when there is none. */
export function readBenchFile(pipelineDir: string): BenchFile | undefined {
  const file = join(pipelineDir, BENCH_JSON);
  if (!existsSync(file)) return undefined;
  const json = readJson(file);
  if (!isRecord(json) || !Array.isArray(json.rows)) throw new Error(`${file}: expected an object with a "rows" array`);
  const rows = json.rows.map((row: unknown, i): BenchRow => {
    const where = `rows[${i}].`;
    if (!isRecord(row)) throw new Error(`${file}: rows[${i}] should be an object`);
    const optional = (name: 'path' | 'job') => (row[name] === undefined ? {} : { [name]: field<string>(file, row, name, 'string', where) });
    return {
      target: field(file, row, 'target', 'string', where),
      ...optional('path'),
      ...optional('job'),
      batch: field(file, row, 'batch', 'number', where),
      seq: field(file, row, 'seq', 'number', where),
      median_ms: field(file, row, 'median_ms', 'number', where),
      speedup: field(file, row, 'speedup', 'number', where),
    };
  });
  return { file, backend: typeof json.backend === 'string' ? json.backend : 'unknown backend', rows };
}

/** Whether a bench row measured this job: by job id, or by a path naming the job or its model/ folder. */
function rowIsJob(row: BenchRow, benchDir: string, job: { id: string; dir: string }): boolean {
  if (row.job !== undefined) return row.job === job.id;
  if (row.path === undefined) return false;
  const path = resolve(benchDir, row.path);
  return path === resolve(job.dir) || path === resolve(job.dir, 'model');
}

/** The job's bench rows at batch 8 x seq `maxLen` (the shape `gbp run` measures), else batch 8 and the longest seq, else its first. */
function jobRow(bench: BenchFile, job: { id: string; dir: string }, maxLen: number | undefined): BenchRow | undefined {
  const rows = bench.rows.filter((row) => rowIsJob(row, dirname(bench.file), job));
  const batch8 = rows.filter((r) => r.batch === 8).sort((a, b) => b.seq - a.seq);
  return rows.find((r) => r.batch === 8 && r.seq === maxLen) ?? batch8[0] ?? rows[0];
}

/**
 * The job's speedup from bench.json. Against the dense job's median at the same shape when bench.json
 * measured it (bench.json's own `speedup` is against its first target, which need not be the dense
 * job when the user benched a preset first), else bench.json's `speedup`.
 */
export function jobSpeed(bench: BenchFile, job: { id: string; dir: string }, maxLen: number | undefined, dense?: { id: string; dir: string }): JobSpeed | undefined {
  const row = jobRow(bench, job, maxLen);
  if (!row) return undefined;
  const reference = dense && bench.rows.find((r) => rowIsJob(r, dirname(bench.file), dense) && r.batch === row.batch && r.seq === row.seq);
  const speedup = reference ? reference.median_ms / row.median_ms : row.speedup;
  return { speedup, batch: row.batch, seq: row.seq, backend: bench.backend };
}

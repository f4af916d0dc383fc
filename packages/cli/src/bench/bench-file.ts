/**
 * bench.json: what `gbp bench --json FILE` writes, and what `gbp run` leaves in a pipeline's output
 * folder for the summary and `gbp compare` to read. One row per target and shape.
 */
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '@gbp/core';

export const BENCH_JSON = 'bench.json';

export interface BenchRow {
  /** The preset name, the job id, or the model folder's path. */
  readonly target: string;
  /** The model folder measured (absent for a preset). */
  readonly path?: string;
  /** The job id, when the model folder is a job's model/. */
  readonly job?: string;
  readonly method?: string;
  readonly batch: number;
  readonly seq: number;
  readonly median_ms: number;
  readonly p90_ms: number;
  /** Sequences per second at the median: batch / median. */
  readonly seq_per_s: number;
  readonly params: number;
  readonly weight_bytes: number;
  /** The first target's median over this target's median at the same shape (1 for the first). */
  readonly speedup: number;
}

export interface BenchFile {
  /** The TF.js backend measured (wasm, cpu, tensorflow). */
  readonly backend: string;
  /** Timed rounds per target and shape. */
  readonly repeats: number;
  readonly rows: readonly BenchRow[];
}

/** Writes `file` atomically: a reader sees the old file or the whole new one. */
export async function writeBenchFile(file: string, bench: BenchFile): Promise<void> {
  await writeJsonAtomic(file, bench);
}

const NUMBER_FIELDS = ['batch', 'seq', 'median_ms', 'p90_ms', 'seq_per_s', 'params', 'weight_bytes', 'speedup'] as const;

/** Reads and checks a bench.json; errors name the file and the first field that is wrong. */
export function readBenchFile(file: string): BenchFile {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: cannot read bench results: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bad = (what: string) => new Error(`${file}: ${what}`);
  if (typeof value !== 'object' || value === null) throw bad('expected a JSON object with backend, repeats and rows');
  const bench = value as Record<string, unknown>;
  if (typeof bench.backend !== 'string') throw bad('"backend" must be a string');
  if (typeof bench.repeats !== 'number') throw bad('"repeats" must be a number');
  if (!Array.isArray(bench.rows)) throw bad('"rows" must be an array');
  bench.rows.forEach((row: unknown, i) => {
    if (typeof row !== 'object' || row === null) throw bad(`rows[${i}] must be an object`);
    const r = row as Record<string, unknown>;
    if (typeof r.target !== 'string') throw bad(`rows[${i}].target must be a string`);
    for (const field of NUMBER_FIELDS) if (typeof r[field] !== 'number') throw bad(`rows[${i}].${field} must be a number`);
  });
  return value as BenchFile;
}

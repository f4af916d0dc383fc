/**
 * bench.json: what `gbp bench --json FILE` writes, and what `gbp run` leaves in a pipeline's output
 * folder for the summary and `gbp compare` to read. One row per target and shape.
 */
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '@gbp/core';
import { BENCH_RUNTIMES, type BenchRuntime } from './runtimes.js';

export const BENCH_JSON = 'bench.json';

export interface BenchRow {
  /** The preset name, the job id, or the model folder's path. */
  readonly target: string;
  /** The model folder measured (absent for a preset). */
  readonly path?: string;
  /** The job id, when the model folder is a job's model/. */
  readonly job?: string;
  readonly method?: string;
  /** What ran the model: gbp's TF.js forward pass or onnxruntime-node (files from before runtimes existed read as tfjs). */
  readonly runtime: BenchRuntime;
  /** onnxruntime's intra-op threads (onnx rows only). */
  readonly threads?: number;
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
  /** The TF.js backend of the tfjs rows (wasm, cpu, tensorflow). */
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

/**
 * Reads and checks a bench.json; errors name the file and the first field that is wrong. A row
 * without `runtime` (written before onnx rows existed) is a tfjs row.
 */
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
    if (r.runtime !== undefined && !(BENCH_RUNTIMES as readonly unknown[]).includes(r.runtime)) throw bad(`rows[${i}].runtime must be one of ${BENCH_RUNTIMES.join(', ')}, got ${JSON.stringify(r.runtime)}`);
    if (r.threads !== undefined && typeof r.threads !== 'number') throw bad(`rows[${i}].threads must be a number`);
  });
  const rows = (bench.rows as Record<string, unknown>[]).map((r) => ({ ...r, runtime: r.runtime ?? 'tfjs' }));
  return { ...(value as BenchFile), rows: rows as unknown as BenchRow[] };
}

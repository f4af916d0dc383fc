/**
 * What a job's `model/compaction.json` (written by core's compaction) and its pipeline folder's
 * `bench.json` (written by `gbp bench --json` and at the end of `gbp run`) say about size and speed.
 * The readers are core's (compaction.json) and bench-file.ts's (bench.json): a malformed file is an
 * error naming the file and field, never a silently missing column.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MODEL_FILES, readCompactionReport, type CompactionReport } from '@gbp/core';
import { BENCH_JSON, readBenchFile, type BenchFile as BenchResults, type BenchRow } from '../bench/bench-file.js';

export const COMPACTION_JSON = join('model', MODEL_FILES.compaction);

/** A job's compaction.json, and where it was read. */
export type CompactionFacts = CompactionReport & { readonly file: string };

/** A pipeline folder's bench.json, and where it was read. */
export type BenchFile = BenchResults & { readonly file: string };

/** A job's measured speedup and the shape it was measured at. */
export interface JobSpeed {
  readonly speedup: number;
  readonly batch: number;
  readonly seq: number;
  readonly backend: string;
}

/** `<jobDir>/model/compaction.json` (read and checked by core), or undefined when the job wrote none. */
export function readCompactionFacts(jobDir: string): CompactionFacts | undefined {
  const report = readCompactionReport(join(jobDir, 'model'));
  return report && { ...report, file: join(jobDir, COMPACTION_JSON) };
}

/** `<pipelineDir>/bench.json` (read and checked by bench-file.ts), or undefined when there is none. */
export function readPipelineBench(pipelineDir: string): BenchFile | undefined {
  const file = join(pipelineDir, BENCH_JSON);
  return existsSync(file) ? { ...readBenchFile(file), file } : undefined;
}

/** Whether a bench row measured this job: by job id, or by a path naming the job or its model/ folder. */
function rowIsJob(row: BenchRow, benchDir: string, job: { id: string; dir: string }): boolean {
  if (row.job !== undefined) return row.job === job.id;
  if (row.path === undefined) return false;
  const path = resolve(benchDir, row.path);
  return path === resolve(job.dir) || path === resolve(job.dir, 'model');
}

/** Rows of gbp's own forward pass: the speed plotted is on bench.backend (onnx rows, from --runtime onnx, are another runtime). */
const tfjsRows = (bench: BenchFile) => bench.rows.filter((row) => row.runtime === 'tfjs');

/** The job's bench rows at batch 8 x seq `maxLen` (the shape `gbp run` measures), else batch 8 and the longest seq, else its first. */
export function jobRow(bench: BenchFile, job: { id: string; dir: string }, maxLen: number | undefined): BenchRow | undefined {
  const rows = tfjsRows(bench).filter((row) => rowIsJob(row, dirname(bench.file), job));
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
  const reference = dense && tfjsRows(bench).find((r) => rowIsJob(r, dirname(bench.file), dense) && r.batch === row.batch && r.seq === row.seq);
  const speedup = reference ? reference.median_ms / row.median_ms : row.speedup;
  return { speedup, batch: row.batch, seq: row.seq, backend: bench.backend };
}

/**
 * The bench at the end of `gbp run`: when a finished job's compaction removed whole heads or
 * neurons, every finished job's model/ is measured at batch 8 x the job's max_len on the run's
 * backend, and `<output>/bench.json` says how much faster each is than the dense baseline.
 */
import { join } from 'node:path';
import { isModelFolder, readCompactionReport, type BackendName } from '@gbp/core';
import { BENCH_JSON, writeBenchFile, type BenchFile, type BenchRow } from './bench-file.js';
import { progressLine } from './report.js';
import { runBench } from './run-bench.js';
import { denseFirst, jobTarget, MODEL_DIR } from './targets.js';

/** A job that finished (or was finished by an earlier run): its folder, max_len and backend request. */
export interface FinishedJob {
  readonly dir: string;
  readonly maxLen: number;
  readonly backend: BackendName;
}

/** Shape and effort of the run's bench: one shape, few rounds, so it costs seconds next to training. */
export const RUN_BENCH = { batch: 8, repeats: 5, warmup: 1 } as const;

export interface JobBenchOptions {
  /** Progress and the outcome, for the run's log or dashboard. */
  readonly note: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** Whether a job's compaction cut out a structure (a model/ without compaction.json: no). */
const structuresRemoved = (jobDir: string) => readCompactionReport(join(jobDir, MODEL_DIR))?.structures_removed === true;

/**
 * Measures the finished jobs' models and writes `<outputDir>/bench.json`; returns its path, or
 * undefined when no job removed structures (nothing to gain from measuring). Throws on failure:
 * the caller reports it, the jobs' results are untouched.
 */
export async function benchFinishedJobs(outputDir: string, jobs: readonly FinishedJob[], options: JobBenchOptions): Promise<string | undefined> {
  const withModel = jobs.filter((j) => isModelFolder(join(j.dir, MODEL_DIR)));
  if (!withModel.some((j) => structuresRemoved(j.dir))) return undefined;
  const backend = withModel[0]!.backend;
  if (withModel.some((j) => j.backend !== backend)) options.note(`bench: jobs ask for different backends; measuring all on '${backend}' (the first job's)`);
  // Jobs of different max_len run at different shapes: each length is its own comparison.
  const lengths = [...new Set(withModel.map((j) => j.maxLen))];
  const benches: BenchFile[] = [];
  for (const maxLen of lengths) {
    const sources = denseFirst(withModel.filter((j) => j.maxLen === maxLen).map((j) => jobTarget(j.dir)));
    options.note(`bench: ${sources.map((s) => s.label).join(', ')} at batch ${RUN_BENCH.batch} x seq ${maxLen} (${RUN_BENCH.repeats} rounds)`);
    const bench = await runBench(sources, [{ batch: RUN_BENCH.batch, seq: maxLen }], {
      backend,
      repeats: RUN_BENCH.repeats,
      warmup: RUN_BENCH.warmup,
      command: 'gbp run: bench',
      onProgress: (progress) => {
        if (progress.phase === 'round') options.note(`bench: ${progressLine(progress)}`);
      },
      ...(options.signal && { signal: options.signal }),
    });
    const [reference, ...others] = bench.rows;
    options.note(`bench: speedup vs ${reference!.target} at batch ${RUN_BENCH.batch} x seq ${maxLen}: ${others.map((r) => `${r.target} ${r.speedup.toFixed(2)}x`).join(', ') || 'no other job'}`);
    benches.push(bench);
  }
  const file = join(outputDir, BENCH_JSON);
  const rows: BenchRow[] = benches.flatMap((b) => b.rows);
  await writeBenchFile(file, { backend: benches[0]!.backend, repeats: RUN_BENCH.repeats, rows });
  return file;
}

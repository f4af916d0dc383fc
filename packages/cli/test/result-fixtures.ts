/**
 * Job results folders as runJob, compaction and `gbp bench` leave them (CSV, metadata,
 * model/compaction.json, the pipeline's bench.json), with chosen numbers, for plot and summary tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FixtureJob {
  readonly id: string;
  readonly method: string;
  /** Final sparsity; the CSV ramps to it. */
  readonly sparsity: number;
  /** Metric per epoch; the last is the final one. */
  readonly accuracy: readonly number[];
  readonly granularity?: string;
  readonly task?: string;
  readonly size?: string;
  /** Written as model/compaction.json when given. */
  readonly compaction?: { params_after: number; flops_per_token_after: number; structures_removed: boolean };
  /** Spec sections beside task/model/pruning (search, supernet), and model fields over the default (from). */
  readonly spec?: Record<string, unknown>;
  readonly model?: Record<string, unknown>;
  /** CSV rows as written (e.g. a search job's one epoch-0 row with an empty train_loss), instead of the ramp. */
  readonly csvRows?: readonly string[];
}

export const FIXTURE_MAX_LEN = 64;

export function writeFixtureJob(pipelineDir: string, job: FixtureJob): string {
  const dir = join(pipelineDir, `results_${job.id}`);
  mkdirSync(dir, { recursive: true });
  const epochs = job.accuracy.length;
  const rows = job.csvRows ?? job.accuracy.map((acc, i) => {
    const e = i + 1;
    return [e, e * 10, 1e-4, 0.7 / e, 0.8 / e, acc, (job.sparsity * e) / epochs, 2 * e].join(',');
  });
  const stamp = '20260101T000000Z';
  writeFileSync(join(dir, `results_${job.method}_${stamp}.csv`), `epoch,step,lr,train_loss,eval_loss,accuracy,sparsity,wall_time_s\n${rows.join('\n')}\n`);
  const spec = {
    task: job.task ?? 'sst2',
    model: job.model ?? { size: job.size ?? 'tiny', max_len: FIXTURE_MAX_LEN },
    pruning: { granularity: job.granularity ?? 'structured', end_sparsity: job.sparsity },
    ...job.spec,
  };
  writeFileSync(join(dir, `metadata_${job.method}_${stamp}.json`), JSON.stringify({ method: job.method, timestamp: stamp, spec }));
  if (job.compaction) {
    mkdirSync(join(dir, 'model'), { recursive: true });
    const report = {
      params_before: 4_400_000,
      gated_params_before: 800_000,
      gated_params_after: 400_000,
      flops_per_token_before: 2_000_000,
      max_len: FIXTURE_MAX_LEN,
      heads_kept: [2, 1],
      heads: [2, 2],
      neurons_kept: [256, 128],
      neurons: [512, 512],
      unstructured_sparsity_left: 0,
      max_abs_logit_diff: 1e-6,
      logit_diff_examples: 256,
      ...job.compaction,
    };
    writeFileSync(join(dir, 'model', 'compaction.json'), JSON.stringify(report));
  }
  return dir;
}

/** bench.json in the pipeline folder: one row per (job, batch, seq), the first job the reference. */
export function writeFixtureBench(pipelineDir: string, rows: readonly { job: string; speedup: number; batch?: number; seq?: number; median_ms?: number }[]): void {
  const bench = {
    backend: 'wasm',
    repeats: 5,
    rows: rows.map((r) => ({
      target: `results_${r.job}`,
      path: join(pipelineDir, `results_${r.job}`),
      job: r.job,
      batch: r.batch ?? 8,
      seq: r.seq ?? FIXTURE_MAX_LEN,
      median_ms: r.median_ms ?? 100 / r.speedup,
      p90_ms: 110 / r.speedup,
      seq_per_s: 80 * r.speedup,
      params: 1000,
      weight_bytes: 4000,
      speedup: r.speedup,
    })),
  };
  writeFileSync(join(pipelineDir, 'bench.json'), JSON.stringify(bench));
}

/** A structured pipeline: dense, magnitude and movement at 50 % and 75 %, compacted. */
export function writeStructuredPipeline(pipelineDir: string, withBench: boolean): string[] {
  const compacted = (params: number, flops: number) => ({ params_after: params, flops_per_token_after: flops, structures_removed: true });
  const dirs = [
    writeFixtureJob(pipelineDir, { id: 'baseline_sst2', method: 'baseline', sparsity: 0, accuracy: [0.7, 0.8, 0.82], granularity: 'weight', compaction: { params_after: 4_400_000, flops_per_token_after: 2_000_000, structures_removed: false } }),
    writeFixtureJob(pipelineDir, { id: 'magnitude_s50', method: 'magnitude', sparsity: 0.5, accuracy: [0.7, 0.79, 0.81], compaction: compacted(4_000_000, 1_200_000) }),
    writeFixtureJob(pipelineDir, { id: 'magnitude_s75', method: 'magnitude', sparsity: 0.75, accuracy: [0.7, 0.74, 0.76], compaction: compacted(3_800_000, 800_000) }),
    writeFixtureJob(pipelineDir, { id: 'movement_s50', method: 'movement', sparsity: 0.5, accuracy: [0.7, 0.8, 0.81], compaction: compacted(4_000_000, 1_200_000) }),
    writeFixtureJob(pipelineDir, { id: 'movement_s75', method: 'movement', sparsity: 0.75, accuracy: [0.7, 0.77, 0.79], compaction: compacted(3_800_000, 800_000) }),
  ];
  if (withBench) {
    writeFixtureBench(pipelineDir, [
      { job: 'baseline_sst2', speedup: 1 },
      { job: 'magnitude_s50', speedup: 1.9 },
      { job: 'magnitude_s75', speedup: 3.1 },
      { job: 'movement_s50', speedup: 1.85 },
      { job: 'movement_s75', speedup: 3.2 },
      // Another shape: not the one the summary and plot use (batch 8 x max_len).
      { job: 'magnitude_s50', speedup: 9, batch: 1, seq: 128 },
    ]);
  }
  return dirs;
}

/**
 * A search pipeline as pipelines/search.yaml leaves it (numbers from a real run): the dense job, the
 * supernet, two search jobs (one epoch-0 row, empty train_loss), a fine-tune of each searched model
 * (baseline, model.from the search job's folder, no size) and a movement job (structured; the others
 * carry the spec's default granularity, weight, as a real run's do); bench.json in gbp
 * run's order, the dense job first, the speedups against it.
 */
export function writeSearchPipeline(pipelineDir: string): string[] {
  const compacted = (params: number, flops: number, removed = true) => ({ params_after: params, flops_per_token_after: flops, structures_removed: removed });
  const search = { search: { budget: { speedup: 2 }, method: 'evolutionary' } };
  const searchRow = (accuracy: number, sparsity: number) => [`0,15,0,,0.92,${accuracy},${sparsity},20.3`];
  const fromJob = (id: string) => ({ from: join(pipelineDir, `results_${id}`), max_len: FIXTURE_MAX_LEN });
  const dirs = [
    writeFixtureJob(pipelineDir, { id: 'dense', method: 'baseline', sparsity: 0, granularity: 'weight', accuracy: [0.7, 0.73], compaction: compacted(3_200_000, 2_400_000, false) }),
    writeFixtureJob(pipelineDir, { id: 'supernet', method: 'baseline', sparsity: 0, granularity: 'weight', accuracy: [0.72, 0.706], spec: { supernet: { random_subnets: 2 } }, compaction: compacted(3_200_000, 2_400_000, false) }),
    writeFixtureJob(pipelineDir, { id: 'speedup2_search', method: 'baseline', sparsity: 0.5, granularity: 'weight', accuracy: [0.706], spec: search, csvRows: searchRow(0.706, 0.5), compaction: compacted(2_680_000, 1_280_000) }),
    writeFixtureJob(pipelineDir, { id: 'speedup4_search', method: 'baseline', sparsity: 0.78, granularity: 'weight', accuracy: [0.706], spec: search, csvRows: searchRow(0.706, 0.78), compaction: compacted(2_380_000, 520_000) }),
    writeFixtureJob(pipelineDir, { id: 'speedup2_finetune', method: 'baseline', sparsity: 0, granularity: 'weight', accuracy: [0.698, 0.706], model: fromJob('speedup2_search'), compaction: compacted(2_680_000, 1_280_000, false) }),
    writeFixtureJob(pipelineDir, { id: 'speedup4_finetune', method: 'baseline', sparsity: 0, granularity: 'weight', accuracy: [0.7, 0.708], model: fromJob('speedup4_search'), compaction: compacted(2_380_000, 520_000, false) }),
    writeFixtureJob(pipelineDir, { id: 'movement_s50', method: 'movement', sparsity: 0.5, accuracy: [0.69, 0.698], compaction: compacted(2_680_000, 1_120_000) }),
  ];
  const medians: [string, number][] = [
    ['dense', 114.27],
    ['supernet', 113.77],
    ['speedup2_search', 66.35],
    ['speedup4_search', 30.17],
    ['speedup2_finetune', 66.8],
    ['speedup4_finetune', 30.28],
    ['movement_s50', 54.97],
  ];
  writeFixtureBench(pipelineDir, medians.map(([job, median_ms]) => ({ job, median_ms, speedup: medians[0]![1] / median_ms })));
  return dirs;
}

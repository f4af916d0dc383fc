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
}

export const FIXTURE_MAX_LEN = 64;

export function writeFixtureJob(pipelineDir: string, job: FixtureJob): string {
  const dir = join(pipelineDir, `results_${job.id}`);
  mkdirSync(dir, { recursive: true });
  const epochs = job.accuracy.length;
  const rows = job.accuracy.map((acc, i) => {
    const e = i + 1;
    return [e, e * 10, 1e-4, 0.7 / e, 0.8 / e, acc, (job.sparsity * e) / epochs, 2 * e].join(',');
  });
  const stamp = '20260101T000000Z';
  writeFileSync(join(dir, `results_${job.method}_${stamp}.csv`), `epoch,step,lr,train_loss,eval_loss,accuracy,sparsity,wall_time_s\n${rows.join('\n')}\n`);
  const spec = {
    task: job.task ?? 'sst2',
    model: { size: job.size ?? 'tiny', max_len: FIXTURE_MAX_LEN },
    pruning: { granularity: job.granularity ?? 'structured', end_sparsity: job.sparsity },
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
export function writeFixtureBench(pipelineDir: string, rows: readonly { job: string; speedup: number; batch?: number; seq?: number }[]): void {
  const bench = {
    backend: 'wasm',
    repeats: 5,
    rows: rows.map((r) => ({
      target: `results_${r.job}`,
      path: join(pipelineDir, `results_${r.job}`),
      job: r.job,
      batch: r.batch ?? 8,
      seq: r.seq ?? FIXTURE_MAX_LEN,
      median_ms: 100 / r.speedup,
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

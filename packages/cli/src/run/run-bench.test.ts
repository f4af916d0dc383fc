import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelInfo } from '@gbp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactionReport, smallConfig, writeModelFixture } from '../../test/fixtures/bench-folders.js';
import { fakePlan, fakeWorker, type FakeJob } from '../../test/fixtures/fake-plan.js';
import { BENCH_JSON, readBenchFile } from '../bench/bench-file.js';
import { PREVIOUS_DIR } from './output-folder.js';
import { runPlan } from './run-plan.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-run-bench-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The fake worker copies <models>/<method>/ to each finished job's model/. fakePlan's jobs are tiny: max_len 128.
const dense = smallConfig({ max_len: 128 });
const compacted = smallConfig({ max_len: 128, heads_per_layer: [2, 1], dff_per_layer: [16, 8] });
const models = join(root, 'models');
beforeAll(async () => {
  await writeModelFixture(join(models, 'baseline'), dense, compactionReport(false));
  await writeModelFixture(join(models, 'movement'), compacted, compactionReport(true));
  await writeModelFixture(join(models, 'magnitude'), dense, compactionReport(false));
  // Compacted, but its weights are gone: loading it fails.
  await writeModelFixture(join(models, 'broken'), compacted, compactionReport(true));
  unlinkSync(join(models, 'broken', 'model.safetensors'));
});

async function run(name: string, jobs: readonly FakeJob[]) {
  const plan = fakePlan(root, name, jobs);
  const notes: string[] = [];
  const outcome = await runPlan(plan, { workerEntry: fakeWorker, plots: false, env: { GBP_FAKE_MODELS: models }, note: (m) => notes.push(m) });
  return { plan, outcome, notes };
}

describe('gbp run benches its jobs\' models', () => {
  it('after a job removed structures: every finished job\'s model/ at batch 8 x max_len, dense first, into bench.json', async () => {
    const { plan, outcome, notes } = await run('compacted', [
      { id: 'a_movement', method: 'movement' },
      { id: 'b_dense', method: 'baseline' },
      { id: 'c_failed', method: 'fail' },
    ]);
    expect(outcome.views.map((v) => v.status)).toEqual(['done', 'done', 'failed']);
    const file = join(plan.output_dir, BENCH_JSON);
    expect(outcome.bench).toBe(file);
    const bench = readBenchFile(file);
    expect(bench.repeats).toBe(5);
    expect(bench.rows.map((r) => [r.target, r.job, r.method, r.batch, r.seq, r.params])).toEqual([
      ['b_dense', 'b_dense', 'baseline', 8, 128, modelInfo(dense).num_params],
      ['a_movement', 'a_movement', 'movement', 8, 128, modelInfo(compacted).num_params],
    ]);
    expect(bench.rows[0]!.speedup).toBe(1);
    expect(notes).toContain('bench: b_dense, a_movement at batch 8 x seq 128 (5 rounds)');
    expect(notes.filter((n) => /^bench: batch 8 x seq 128: round \d\/5: b_dense [\d.]+ ms, a_movement [\d.]+ ms$/.test(n))).toHaveLength(5);
    expect(notes.at(-1)).toBe(`bench: speedup vs b_dense at batch 8 x seq 128: a_movement ${bench.rows[1]!.speedup.toFixed(2)}x`);

    // The next fresh run moves this bench.json away with the rest of the earlier run.
    const again = await run('compacted', [{ id: 'b_dense', method: 'baseline' }]);
    expect(again.outcome.bench).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    const previous = readdirSync(join(plan.output_dir, PREVIOUS_DIR));
    expect(existsSync(join(plan.output_dir, PREVIOUS_DIR, previous[0]!, BENCH_JSON))).toBe(true);
  });

  it('measures nothing when no job removed a structure', async () => {
    const { plan, outcome, notes } = await run('dense', [
      { id: 'a', method: 'baseline' },
      { id: 'b', method: 'magnitude' },
    ]);
    expect(outcome.bench).toBeUndefined();
    expect(existsSync(join(plan.output_dir, BENCH_JSON))).toBe(false);
    expect(notes.filter((n) => n.startsWith('bench'))).toEqual([]);
  });

  it('a bench that fails is reported; the jobs stay done with their results', async () => {
    const { plan, outcome, notes } = await run('broken', [
      { id: 'a', method: 'baseline' },
      { id: 'b', method: 'broken' },
    ]);
    expect(outcome.views.map((v) => v.status)).toEqual(['done', 'done']);
    expect(outcome.failed).toBe(0);
    expect(outcome.bench).toBeUndefined();
    expect(notes).toContain(`bench failed (the jobs' results are kept): gbp run: bench: b: ${join(plan.output_dir, 'results_b', 'model', 'model.safetensors')}: missing (the model's weights)`);
    expect(existsSync(join(plan.output_dir, 'results_b', 'results_broken_20250101_000000.csv'))).toBe(true);
    expect(existsSync(join(plan.output_dir, BENCH_JSON))).toBe(false);
  });
});

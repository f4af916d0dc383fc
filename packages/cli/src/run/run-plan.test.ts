import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakePlan, fakeWorker, type FakeJob } from '../../test/fixtures/fake-plan.js';
import { OUTPUT_MARKER } from './output-folder.js';
import { readPlanFile } from './plan-file.js';
import { runPlan } from './run-plan.js';
import type { RunStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const makePlan = (name: string, jobs: readonly FakeJob[], concurrency = 2) => fakePlan(root, name, jobs, concurrency);

/** Records the largest number of jobs running at once. */
const watchConcurrency = (store: RunStore, peak: { value: number }) =>
  store.subscribe((views) => {
    peak.value = Math.max(peak.value, views.filter((v) => v.status === 'running').length);
  });

describe('runPlan with worker processes', () => {
  it('runs jobs at most N at a time, each with its own log, and records their status in plan.json', async () => {
    const plan = makePlan('ok', ['a', 'b', 'c'].map((id) => ({ id, method: 'baseline' })));
    const peak = { value: 0 };
    const outcome = await runPlan(plan, { workerEntry: fakeWorker, plots: false, onStore: (s) => watchConcurrency(s, peak) });
    expect(outcome.views.map((v) => v.status)).toEqual(['done', 'done', 'done']);
    expect(outcome.failed).toBe(0);
    expect(peak.value).toBe(2);
    for (const id of ['a', 'b', 'c']) {
      const log = readFileSync(join(plan.output_dir, `results_${id}`, 'job.log'), 'utf8');
      expect(log).toContain(`fake worker ${id}`);
      expect(log).toMatch(/epoch 2: .*"accuracy"/);
      // Two jobs at a time: each gets half the cores (unless GBP_THREADS says otherwise).
      expect(log).toContain(`GBP_THREADS=${process.env.GBP_THREADS || Math.max(1, Math.floor(availableParallelism() / 2))} `);
    }
    expect(readPlanFile(plan.output_dir)!.status).toMatchObject({ a: { status: 'done' }, b: { status: 'done' }, c: { status: 'done' } });
    const view = outcome.views[0]!;
    expect(view).toMatchObject({ epoch: 2, step: 8, totalSteps: 8, metric: { name: 'accuracy', value: 0.75 } });
  });

  it('draws pareto.png for a run with a search job, and the comparison and job plots of the jobs with epochs only', async () => {
    const plan = makePlan('searched', [{ id: 'dense', method: 'baseline' }, { id: 'search', method: 'search' }]);
    const notes: string[] = [];
    const outcome = await runPlan(plan, { workerEntry: fakeWorker, bench: false, note: (n) => notes.push(n) });
    expect(outcome.views.map((v) => v.status)).toEqual(['done', 'done']);
    expect(outcome.pareto).toBe(join(plan.output_dir, 'pareto.png'));
    expect(existsSync(outcome.pareto!)).toBe(true);
    expect(outcome.comparison?.png).toBe(join(plan.output_dir, 'pruning_methods_comparison_dual_axis.png'));
    // No 'plots failed' or 'comparison failed' for the search job's missing epochs.
    expect(notes).toEqual([]);
  });

  it('marks a failing job failed with its error and log while the others go on; its dependants are blocked', async () => {
    const plan = makePlan('fail', [
      { id: 'bad', method: 'fail' },
      { id: 'good', method: 'baseline' },
      { id: 'after', method: 'baseline', needs: ['bad'] },
    ]);
    const outcome = await runPlan(plan, { workerEntry: fakeWorker, plots: false });
    const [bad, good, after] = outcome.views;
    expect(bad).toMatchObject({ status: 'failed', error: { message: 'pruner fail, hook afterStep: boom', plugin: 'fail' } });
    expect(bad!.logPath).toBe(join(plan.output_dir, 'results_bad', 'job.log'));
    expect(readFileSync(bad!.logPath, 'utf8')).toContain('Error: boom');
    expect(good!.status).toBe('done');
    expect(after).toMatchObject({ status: 'blocked', error: { message: 'needs job bad, which did not finish' } });
    expect(outcome.failed).toBe(2);
  });

  it('stops workers on abort (they checkpoint) and --resume skips finished jobs and continues the others', async () => {
    const plan = makePlan('abort', [
      { id: 'quick', method: 'baseline' },
      { id: 'slow', method: 'slow', epochs: 3 },
    ]);
    const controller = new AbortController();
    const first = await runPlan(plan, {
      workerEntry: fakeWorker,
      plots: false,
      signal: controller.signal,
      onStore: (store) =>
        store.subscribe((views, { message }) => {
          // Abort once the slow job has finished an epoch (and the quick one is done).
          if (message?.type === 'epoch' && views[1]!.epoch >= 1 && views[0]!.status === 'done') controller.abort();
        }),
    });
    expect(first.views.map((v) => v.status)).toEqual(['done', 'aborted']);
    expect(first.aborted).toBe(true);
    expect(readPlanFile(plan.output_dir)!.status.slow!.status).toBe('aborted');

    const starts: number[] = [];
    const second = await runPlan(plan, {
      workerEntry: fakeWorker,
      plots: false,
      resume: true,
      onStore: (store) =>
        store.subscribe((_views, { message }) => {
          if (message?.type === 'start') starts.push(message.start_step);
        }),
    });
    expect(second.views.map((v) => v.status)).toEqual(['skipped', 'done']);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toBeGreaterThanOrEqual(4);
    const csv = readFileSync(join(plan.output_dir, 'results_slow', 'results_slow_20250101_000000.csv'), 'utf8').trim().split('\n');
    expect(csv.map((l) => l.split(',')[0])).toEqual(['epoch', '1', '2', '3']);
  });

  it('starts an init_from job from its source job\'s folder (core takes its newest intact checkpoint) and gives each job a GPU', async () => {
    const plan = makePlan('init', [
      { id: 'dense', method: 'baseline' },
      { id: 'pruned', method: 'baseline', needs: ['dense'], initFrom: 'dense' },
    ]);
    await runPlan(plan, { workerEntry: fakeWorker, plots: false, gpus: [3, 5] });
    const log = readFileSync(join(plan.output_dir, 'results_pruned', 'job.log'), 'utf8');
    expect(log).toContain(`init=${join(plan.output_dir, 'results_dense')}\n`);
    expect(log).toMatch(/CUDA_VISIBLE_DEVICES=[35]/);
    expect(existsSync(join(plan.output_dir, 'plan.json'))).toBe(true);
  });

  it('fails a job whose folder cannot be made, with the reason, and runs the others', async () => {
    const plan = makePlan('nofolder', [{ id: 'blocked', method: 'baseline' }, { id: 'fine', method: 'baseline' }]);
    mkdirSync(plan.output_dir, { recursive: true });
    // A file where the job's folder should go.
    const blocked = plan.jobs[0]!;
    const spec = { ...blocked.spec, output_dir: join(plan.output_dir, 'a-file', 'results_blocked') };
    writeFileSync(join(plan.output_dir, 'a-file'), '');
    writeFileSync(join(plan.output_dir, OUTPUT_MARKER), '{}\n');
    const outcome = await runPlan({ ...plan, jobs: [{ ...blocked, spec }, plan.jobs[1]!] }, { workerEntry: fakeWorker, plots: false });
    expect(outcome.views.map((v) => v.status)).toEqual(['failed', 'done']);
    expect(outcome.views[0]!.error?.message).toMatch(/^cannot start: ENOTDIR: not a directory, mkdir '.*a-file\/results_blocked'$/);
    expect(readPlanFile(plan.output_dir)!.status.blocked!.status).toBe('failed');
  });

  it('reports a job.log it cannot write and runs the job anyway', async () => {
    const plan = makePlan('nolog', [{ id: 'a', method: 'baseline' }]);
    // A folder where job.log should go (resume: the job folder already has something in it).
    mkdirSync(join(plan.output_dir, 'results_a', 'job.log'), { recursive: true });
    writeFileSync(join(plan.output_dir, OUTPUT_MARKER), '{}\n');
    const notes: string[] = [];
    const outcome = await runPlan(plan, { workerEntry: fakeWorker, plots: false, resume: true, note: (m) => notes.push(m) });
    expect(outcome.views.map((v) => v.status)).toEqual(['done']);
    expect(notes).toEqual([expect.stringMatching(new RegExp(`^\\[a\\] cannot write ${join(plan.output_dir, 'results_a', 'job.log')}: EISDIR: illegal operation on a directory`))]);
  });
});

/**
 * The comparison of a search pipeline (dense, supernet, search jobs, fine-tunes of the searched
 * models with model.from, a pruned job): which job is the dense reference, the speedups against it,
 * and the summary's cells for jobs that train nothing or whose model comes from another job.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFixtureJob, writeSearchPipeline } from '../../test/result-fixtures.js';
import { jobTarget } from '../bench/targets.js';
import { lossSparsitySpec } from './charts.js';
import { labelJobs } from './job-labels.js';
import { jobKind } from './job-kind.js';
import { jobOutcomes } from './job-outcomes.js';
import { accuracyVsSpeedupSpec, sparsityPoints, speedPoints } from './outcome-charts.js';
import { paretoPoints } from './pareto.js';
import { writeComparison } from './results.js';
import { parseCsv, readJobResults } from './results-files.js';
import { readPipelineBench } from './speed-files.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-search-compare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const outcomesOf = (dirs: readonly string[]) => jobOutcomes(labelJobs(dirs.map(readJobResults)));
/** The summary's table as cells by job and column name. */
function summaryTable(file: string): Map<string, Record<string, string>> {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('| '));
  const cells = (line: string) => line.slice(2, -2).split(' | ');
  const header = cells(lines[0]!);
  return new Map(lines.slice(1).map((line) => { const row = cells(line); return [row[0]!, Object.fromEntries(header.map((h, i) => [h, row[i]!]))]; }));
}

describe('a search pipeline in the comparison', () => {
  const dir = join(root, 'search');
  const dirs = writeSearchPipeline(dir);
  const medians = new Map(readPipelineBench(dir)!.rows.map((r) => [r.job!, r.median_ms]));
  const against = (job: string) => medians.get('dense')! / medians.get(job)!;

  it('only the dense job is the dense reference: not the supernet, the search jobs or the fine-tunes of their models', () => {
    const { outcomes } = outcomesOf(dirs);
    expect(outcomes.filter((o) => o.dense).map((o) => o.job.id)).toEqual(['dense']);
    expect(sparsityPoints(outcomes).dense.map((d) => d.label)).toEqual(['dense baseline 0.7300']);
    // `gbp bench <pipeline>` and gbp run's bench measure the dense jobs first: the reference of their speedups.
    for (const job of dirs) writeFileSync(join(job, 'model', 'config.json'), JSON.stringify({ format: 'gbp-model' }));
    expect(dirs.map(jobTarget).filter((t) => t.dense).map((t) => t.target.job)).toEqual(['dense']);
    const kinds = Object.fromEntries(paretoPoints(dirs).points.map((p) => [p.label, p.kind]));
    expect(kinds).toEqual({
      dense: 'dense',
      supernet: 'supernet',
      speedup2_search: 'searched',
      speedup4_search: 'searched',
      speedup2_finetune: 'fine-tuned',
      speedup4_finetune: 'fine-tuned',
      movement_s50: 'pruned',
    });
  });

  it('a fine-tuned searched model\'s speedup is against the dense job (not itself, not the other fine-tune)', async () => {
    const { outcomes } = outcomesOf(dirs);
    const speedups = Object.fromEntries(outcomes.map((o) => [o.job.id, o.speed?.speedup]));
    for (const job of medians.keys()) expect(speedups[job], job).toBeCloseTo(against(job), 6);
    // The searched models and their fine-tunes are their own series on the speedup plot, not dense references.
    expect(speedPoints(outcomes).map((p) => [p.job, p.series])).toEqual([
      ['dense', 'dense'],
      ['speedup2_search', 'searched'],
      ['speedup4_search', 'searched'],
      ['speedup2_finetune', 'fine-tuned'],
      ['speedup4_finetune', 'fine-tuned'],
      ['movement_s50', 'movement'],
    ]);
    const { summary } = await writeComparison(dir, dirs, 'search');
    const table = summaryTable(summary);
    expect(table.get('speedup2_finetune')!.speedup).toBe(`${against('speedup2_finetune').toFixed(2)}x`);
    expect(table.get('speedup4_finetune')!.speedup).toBe(`${against('speedup4_finetune').toFixed(2)}x`);
  });

  it('a fine-tune of a searched model is drawn at its measured speedup and at its source\'s sparsity; granularity names no series of a job that pruned nothing', async () => {
    const { outcomes } = outcomesOf(dirs);
    const caption = (accuracyVsSpeedupSpec(outcomes, 'search') as unknown as { title: { subtitle: string } }).title.subtitle;
    // Only the supernet (the full model) is left out of the speedup plot.
    expect(caption).toContain('1 job(s) removed no whole heads or neurons: not shown');
    const sparsity = (id: string) => readJobResults(dirs.find((d) => d.endsWith(`results_${id}`))!).rows.at(-1)!.sparsity;
    // Series in the order the jobs come, points by sparsity; no series is named '(weight)' or '(structured)'.
    expect(sparsityPoints(outcomes).points.map((p) => [p.series, p.sparsity])).toEqual([
      ['supernet', 0],
      ['searched', sparsity('speedup2_search')],
      ['searched', sparsity('speedup4_search')],
      ['fine-tuned', sparsity('speedup2_search')],
      ['fine-tuned', sparsity('speedup4_search')],
      ['movement', sparsity('movement_s50')],
    ]);
    const { summary } = await writeComparison(dir, dirs, 'search');
    expect(summaryTable(summary).get('speedup4_finetune')!['final sparsity']).toBe(sparsity('speedup4_search').toFixed(3));
  });

  it('an empty train_loss cell (a search job trains nothing) stays unknown: "-" in summary.md, left out of the loss plot', async () => {
    const { rows } = parseCsv('epoch,step,lr,train_loss,eval_loss,accuracy,sparsity,wall_time_s\n0,15,0,,0.92,0.706,0.5,20.3\n', 'x.csv');
    expect(rows[0]!.train_loss).toBeUndefined();
    expect(rows[0]!.eval_loss).toBe(0.92);
    const { summary } = await writeComparison(dir, dirs, 'search');
    const table = summaryTable(summary);
    expect(table.get('speedup2_search')!['train loss']).toBe('-');
    expect(table.get('speedup2_search')!['eval loss']).toBe('0.9200');
    const spec = lossSparsitySpec(readJobResults(dirs[2]!)) as unknown as { layer: { data: { values: { kind: string }[] } }[] };
    expect(spec.layer[0]!.data.values.map((v) => v.kind)).toEqual(['eval loss']);
  });

  it('a cell that is not a number is an error naming the file, line and column', () => {
    expect(() => parseCsv('epoch,train_loss,eval_loss,sparsity\n1,abc,0.5,0\n', 'r.csv')).toThrow("r.csv:2: train_loss: 'abc' is not a number");
  });

  it('size names the source job of a model.from job; epochs is "-" for a search job', async () => {
    const { summary } = await writeComparison(dir, dirs, 'search');
    const table = summaryTable(summary);
    expect(table.get('speedup2_finetune')!.size).toBe('from speedup2_search');
    expect(table.get('speedup4_finetune')!.size).toBe('from speedup4_search');
    expect(table.get('dense')!.size).toBe('tiny');
    expect(table.get('speedup2_search')!.epochs).toBe('-');
    expect(table.get('speedup2_finetune')!.epochs).toBe('2');
  });

  it('a moved pipeline folder: model.from names the old path, the source is the job folder of that name beside the job', () => {
    const before = join(root, 'before-move');
    const moved = join(root, 'moved');
    const written = writeSearchPipeline(before);
    cpSync(before, moved, { recursive: true });
    rmSync(before, { recursive: true });
    const { outcomes } = outcomesOf(written.map((d) => join(moved, basename(d))));
    const finetune = outcomes.find((o) => o.job.id === 'speedup2_finetune')!;
    expect([finetune.kind, finetune.model]).toEqual(['fine-tuned', 'from speedup2_search']);
    expect(finetune.speed?.speedup).toBeCloseTo(against('speedup2_finetune'), 6);
  });
});

describe('model.from that is not a job', () => {
  it('a baseline job fine-tuning a Hub model or a model folder of its own is the dense reference', () => {
    const dir = join(root, 'pretrained');
    const hub = writeFixtureJob(dir, { id: 'hub', method: 'baseline', sparsity: 0, accuracy: [0.9], model: { from: 'google/bert_uncased_L-2_H-128_A-2', max_len: 64 } });
    const folder = writeFixtureJob(dir, { id: 'folder', method: 'baseline', sparsity: 0, accuracy: [0.9], model: { from: join(root, 'no-such-model'), max_len: 64 } });
    expect([hub, folder].map((d) => jobKind(readJobResults(d)))).toEqual(['dense', 'dense']);
    expect(outcomesOf([hub]).outcomes[0]!.model).toBe('google/bert_uncased_L-2_H-128_A-2');
  });
});

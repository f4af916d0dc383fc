import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, inkedPixels } from '../../test/png.js';
import { bottomLegend, comparisonSpec, PLOT_HEIGHT, PLOT_WIDTH } from './charts.js';
import { labelJobs } from './job-labels.js';
import { svgToPng } from './render.js';
import { COMPARISON_PNG, findJobDirs, writeComparison, writeJobPlots } from './results.js';
import { readJobResults } from './results-files.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-plots-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeJob(id: string, method: string, epochs: number, finalSparsity: number, pipeline = 'pipe'): string {
  const dir = join(root, pipeline, `results_${id}`);
  mkdirSync(dir, { recursive: true });
  const rows = Array.from({ length: epochs }, (_, i) => {
    const e = i + 1;
    return [e, e * 10, 1e-4, 0.7 / e, 0.8 / e, 0.6 + 0.05 * e, 0.9 - 0.1 * e, (finalSparsity * e) / epochs, 3.5 * e].join(',');
  });
  writeFileSync(join(dir, `results_${method}_20250102_030405.csv`), `epoch,step,lr,train_loss,eval_loss,accuracy,f1,sparsity,wall_time_s\n${rows.join('\n')}\n`);
  writeFileSync(join(dir, `metadata_${method}_20250102_030405.json`), JSON.stringify({ spec: { task: 'mrpc', model: { size: 'tiny' } } }));
  return dir;
}

describe('plots', () => {
  it('renders text with the shipped font (not just lines)', () => {
    const svg = (text: string) =>
      `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><text x="10" y="40" font-family="sans-serif" font-size="30">${text}</text></svg>`;
    const blank = inkedPixels(decodePng(svgToPng(svg(''))));
    const inked = inkedPixels(decodePng(svgToPng(svg('Accuracy'))));
    expect(blank).toBe(0);
    expect(inked).toBeGreaterThan(300);
  });

  it('reads a job folder: newest CSV, metric columns, the primary metric, metadata', () => {
    const dir = fakeJob('magnitude_mrpc', 'magnitude', 3, 0.5);
    const job = readJobResults(dir);
    expect(job).toMatchObject({ id: 'magnitude_mrpc', method: 'magnitude', timestamp: '20250102_030405', task: 'mrpc', size: 'tiny', metric: 'accuracy' });
    expect(job.metricColumns).toEqual(['accuracy', 'f1']);
    expect(job.rows.map((r) => r.epoch)).toEqual([1, 2, 3]);
  });

  it("writes a job's accuracy and loss plots as PNGs of the plot size", async () => {
    const dir = fakeJob('spt_mrpc', 'spt', 4, 0.9);
    const { accuracy, loss } = await writeJobPlots(dir);
    expect(accuracy).toBe(join(dir, 'accuracy_sparsity_spt_20250102_030405.png'));
    expect(loss).toBe(join(dir, 'loss_sparsity_spt_20250102_030405.png'));
    for (const file of [accuracy, loss]) {
      const png = decodePng(readFileSync(file));
      expect([png.width, png.height]).toEqual([PLOT_WIDTH, PLOT_HEIGHT]);
      expect(inkedPixels(png)).toBeGreaterThan(5000);
    }
  });

  it('writes the comparison across jobs and a markdown summary', async () => {
    fakeJob('baseline_mrpc', 'baseline', 4, 0);
    const dirs = findJobDirs(join(root, 'pipe'));
    expect(dirs.map((d) => d.split('/').pop())).toEqual(['results_baseline_mrpc', 'results_magnitude_mrpc', 'results_spt_mrpc']);
    const out = join(root, 'pipe');
    const { png, summary } = await writeComparison(out, dirs, 'pipe');
    expect(png).toBe(join(out, COMPARISON_PNG));
    const image = decodePng(readFileSync(png));
    expect([image.width, image.height]).toEqual([PLOT_WIDTH, PLOT_HEIGHT]);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('| spt_mrpc | spt | mrpc | tiny | 4 | accuracy 0.8000 | 0.8000 | 0.900 | 0.1750 | 0.2000 | 14.0 |');
    expect(md.split('\n').filter((l) => l.startsWith('| ') && l.includes('_mrpc'))).toHaveLength(3);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keys jobs by pipeline and id: same ids from two pipelines are two lines and two summary rows', async () => {
    const a = [fakeJob('baseline_rte', 'baseline', 3, 0, 'pipeA'), fakeJob('spt_rte', 'spt', 3, 0.5, 'pipeA')];
    const b = [fakeJob('baseline_rte', 'baseline', 2, 0, 'pipeB'), fakeJob('spt_rte', 'spt', 2, 0.5, 'pipeB')];
    const jobs = labelJobs([...a, ...b].map(readJobResults));
    expect(jobs.map((j) => j.label)).toEqual(['pipeA/baseline_rte', 'pipeA/spt_rte', 'pipeB/baseline_rte', 'pipeB/spt_rte']);
    // One line per job: each label's points are that job's epochs, in order.
    const values = (comparisonSpec(jobs, 'x') as { data: { values: { job: string; epoch: number }[] } }).data.values;
    const epochsOf = (label: string) => values.filter((v) => v.job === label).map((v) => v.epoch);
    expect([epochsOf('pipeA/baseline_rte'), epochsOf('pipeB/baseline_rte')]).toEqual([[1, 2, 3], [1, 2]]);

    const out = join(root, 'both');
    // The same job folder given twice counts once.
    const { summary } = await writeComparison(out, [...a, ...b, b[0]!], 'both');
    const rows = readFileSync(summary, 'utf8').split('\n').filter((l) => /^\| pipe/.test(l));
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['| pipeA/baseline_rte', '| pipeA/spt_rte', '| pipeB/baseline_rte', '| pipeB/spt_rte']);
    // Ids that differ keep their plain names.
    expect(labelJobs([readJobResults(a[0]!), readJobResults(b[1]!)]).map((j) => j.label)).toEqual(['baseline_rte', 'spt_rte']);
  });

  it('never cuts legend labels: long job ids that differ at their end get fewer columns', () => {
    const legendOf = (ids: string[]) => {
      const jobs = labelJobs(ids.map((id, i) => readJobResults(fakeJob(id, 'magnitude', 2, 0.5, `legend${i}`))));
      type Spec = { layer: { layer: { encoding: { color: { legend: { columns: number; labelLimit: number } } } }[] }[] };
      return (comparisonSpec(jobs, 'x') as unknown as Spec).layer[0]!.layer[0]!.encoding.color.legend;
    };
    expect(legendOf(['a_sst2', 'b_sst2', 'c_sst2'])).toEqual({ orient: 'bottom', columns: 3, labelLimit: 0 });
    const long = legendOf(['magnitude_sst2_end_sparsity0.5_pruned', 'magnitude_sst2_end_sparsity0.75_pruned']);
    expect(long.labelLimit).toBe(0);
    expect(long.columns).toBe(2);
    expect(bottomLegend(['x'.repeat(120)]).columns).toBe(1);
  });

  it('labels same-named pipelines under different roots by their paths', () => {
    const jobs = labelJobs([fakeJob('baseline_rte', 'baseline', 1, 0, 'x/pipe'), fakeJob('baseline_rte', 'baseline', 1, 0, 'y/pipe')].map(readJobResults));
    expect(jobs.map((j) => j.label)).toEqual(['x/pipe/baseline_rte', 'y/pipe/baseline_rte']);
  });
});

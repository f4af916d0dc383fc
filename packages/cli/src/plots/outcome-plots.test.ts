import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, inkedPixels } from '../../test/png.js';
import { FIXTURE_MAX_LEN, writeFixtureBench, writeFixtureJob, writeStructuredPipeline } from '../../test/result-fixtures.js';
import { comparisonSpec, metricSparsitySpec, PLOT_HEIGHT, PLOT_WIDTH } from './charts.js';
import { labelJobs } from './job-labels.js';
import { jobOutcomes } from './job-outcomes.js';
import { accuracyVsSparsitySpec, accuracyVsSpeedupSpec, sparsityPoints, speedPoints } from './outcome-charts.js';
import { ACCURACY_VS_SPARSITY_PNG, ACCURACY_VS_SPEEDUP_PNG, COMPARISON_PNG, writeComparison } from './results.js';
import { readJobResults } from './results-files.js';
import { valueAxis } from './value-axis.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-outcomes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const outcomesOf = (dirs: readonly string[]) => jobOutcomes(labelJobs(dirs.map(readJobResults)));
type Layer = { data?: { values: Record<string, unknown>[] }; mark: { type: string }; encoding: Record<string, { field?: string; [k: string]: unknown }> };
type Y = { title: string; scale: { domain: number[] }; axis: { values: number[]; format: string } };
const layersOf = (spec: unknown) => (spec as { layer: Layer[] }).layer;

describe('accuracy vs sparsity', () => {
  it('one line per method through its jobs by sparsity, the dense model as a labelled reference line', () => {
    const { outcomes } = outcomesOf(writeStructuredPipeline(join(root, 'sparsity'), false));
    const { points, dense } = sparsityPoints(outcomes);
    expect(points.map((p) => [p.series, p.sparsity, p.value])).toEqual([
      ['magnitude', 0.5, 0.81],
      ['magnitude', 0.75, 0.76],
      ['movement', 0.5, 0.81],
      ['movement', 0.75, 0.79],
    ]);
    expect(dense).toEqual([{ label: 'dense baseline 0.8200', value: 0.82 }]);

    const layers = layersOf(accuracyVsSparsitySpec(outcomes, 'structured'));
    const line = layers.find((l) => l.mark.type === 'line')!;
    expect([line.encoding.x!.field, line.encoding.y!.field, line.encoding.color!.field]).toEqual(['sparsity', 'value', 'series']);
    expect(layers.find((l) => l.mark.type === 'point')!.encoding.shape!.field).toBe('series');
    const rule = layers.find((l) => l.mark.type === 'rule')!;
    expect(rule.data!.values).toEqual(dense);
    expect(layers.find((l) => l.mark.type === 'text')!.encoding.text!.field).toBe('label');
    // The y axis holds the points and the dense line, and says it does not start at 0.
    const y = line.encoding.y as unknown as Y;
    expect(y.scale.domain[0]).toBeLessThanOrEqual(0.76);
    expect(y.scale.domain[1]).toBeGreaterThanOrEqual(0.82);
    expect(y.title).toBe(`final accuracy (from ${y.axis.values[0]!.toFixed(2)}, not 0)`);
  });

  it('identical method lines are stacked (first widest), distinct ones keep the base width', () => {
    const dir = join(root, 'same-sparsity');
    const dirs = ['magnitude', 'movement', 'spt', 'random'].map((method) =>
      writeFixtureJob(dir, { id: method, method, sparsity: 0.5, accuracy: [method === 'random' ? 0.5 : 0.5575] }),
    );
    const { points } = sparsityPoints(outcomesOf(dirs).outcomes);
    expect(points.map((p) => [p.series, p.width, p.size])).toEqual([
      ['magnitude', 6, 250],
      ['movement', 4, 160],
      ['spt', 2, 70],
      ['random', 2, 70],
    ]);
  });

  it('keeps a y window at least 5 points tall, so a 0.2-point gap does not look like a cliff', () => {
    const dir = join(root, 'close');
    const dirs = [
      writeFixtureJob(dir, { id: 'baseline', method: 'baseline', sparsity: 0, accuracy: [0.706] }),
      writeFixtureJob(dir, { id: 'magnitude', method: 'magnitude', sparsity: 0.5, accuracy: [0.704] }),
    ];
    const y = layersOf(accuracyVsSparsitySpec(outcomesOf(dirs).outcomes, 'close'))[0]!.encoding.y as unknown as Y;
    expect(y.scale.domain).toEqual([0.68, 0.73]);
    expect(y.axis).toEqual({ values: [0.68, 0.69, 0.7, 0.71, 0.72, 0.73], format: '.2f' });
  });

  it('names a series by what varies besides the method (granularity of pruned jobs only)', () => {
    const dir = join(root, 'granularity');
    const dirs = [
      writeFixtureJob(dir, { id: 'baseline', method: 'baseline', sparsity: 0, accuracy: [0.8], granularity: 'weight' }),
      writeFixtureJob(dir, { id: 'mag_w', method: 'magnitude', sparsity: 0.5, accuracy: [0.79], granularity: 'weight' }),
      writeFixtureJob(dir, { id: 'mag_s', method: 'magnitude', sparsity: 0.5, accuracy: [0.75], granularity: 'structured' }),
    ];
    expect(outcomesOf(dirs).outcomes.map((o) => [o.job.id, o.series, o.dense])).toEqual([
      ['baseline', 'baseline', true],
      ['mag_w', 'magnitude (weight)', false],
      ['mag_s', 'magnitude (structured)', false],
    ]);
    // Granularity that differs only between dense and pruned jobs is no distinction.
    expect(outcomesOf([dirs[0]!, dirs[2]!]).outcomes.map((o) => o.series)).toEqual(['baseline', 'magnitude']);
  });
});

describe('accuracy vs speedup', () => {
  it('one point per compacted job at its bench.json speedup for batch 8 x max_len; dense at 1.0x', () => {
    const dir = join(root, 'speed');
    const dirs = writeStructuredPipeline(dir, true);
    // A model/ with no whole structure removed (too little pruned) is not a point.
    dirs.push(
      writeFixtureJob(dir, {
        id: 'spt_s',
        method: 'spt',
        sparsity: 0.5,
        accuracy: [0.8],
        compaction: { params_after: 4_400_000, flops_per_token_after: 2_000_000, structures_removed: false },
      }),
    );
    const { outcomes } = outcomesOf(dirs);
    expect(speedPoints(outcomes).map((p) => [p.series, p.speedup, p.value, p.tag])).toEqual([
      ['dense', 1, 0.82, 'dense'],
      ['magnitude', 1.9, 0.81, '50%'],
      ['magnitude', 3.1, 0.76, '75%'],
      ['movement', 1.85, 0.81, '50%'],
      ['movement', 3.2, 0.79, '75%'],
    ]);
    const spec = accuracyVsSpeedupSpec(outcomes, 'structured') as unknown as { title: { subtitle: string }; layer: Layer[] };
    expect(spec.title.subtitle).toBe(
      `measured by gbp bench, batch 8 x seq ${FIXTURE_MAX_LEN} on wasm; labels: sparsity · 1 job(s) removed no whole heads or neurons: not shown`,
    );
    const points = spec.layer.find((l) => l.mark.type === 'point')!;
    expect([points.encoding.x!.field, points.encoding.y!.field, points.encoding.color!.field]).toEqual(['speedup', 'value', 'series']);
    // Colours: methods as in accuracy_vs_sparsity.png (spt keeps its slot though not shown), dense grey.
    expect((points.encoding.color as unknown as { scale: { domain: string[]; range: string[] } }).scale).toEqual({
      domain: ['magnitude', 'movement', 'spt', 'dense'],
      range: ['#4c78a8', '#f58518', '#e45756', '#555555'],
    });
    expect(spec.layer.find((l) => l.mark.type === 'rule')!.data!.values).toEqual([{ speedup: 1 }]);
  });

  it("measures speedup against the dense job's median at the same shape, whatever bench.json benched first", () => {
    const dir = join(root, 'preset-first');
    const dirs = writeStructuredPipeline(dir, false);
    writeFixtureBench(dir, [
      { job: 'tiny-preset', speedup: 1 },
      { job: 'baseline_sst2', speedup: 0.5 },
      { job: 'magnitude_s50', speedup: 1 },
    ]);
    const speeds = outcomesOf(dirs).outcomes.filter((o) => o.speed).map((o) => [o.job.id, o.speed!.speedup]);
    expect(speeds).toEqual([
      ['baseline_sst2', 1],
      ['magnitude_s50', 2],
    ]);
  });

  it('says which compacted jobs bench.json does not hold', () => {
    const dir = join(root, 'partial');
    const dirs = writeStructuredPipeline(dir, false);
    writeFixtureBench(dir, [
      { job: 'baseline_sst2', speedup: 1 },
      { job: 'movement_s75', speedup: 3 },
    ]);
    const { outcomes } = outcomesOf(dirs);
    expect(speedPoints(outcomes).map((p) => p.job)).toEqual(['baseline_sst2', 'movement_s75']);
    const spec = accuracyVsSpeedupSpec(outcomes, 'p') as unknown as { title: { subtitle: string } };
    expect(spec.title.subtitle).toContain('3 job(s) not in bench.json: not shown');
  });

  it('refuses a malformed compaction.json or bench.json, naming the file and field', () => {
    const dir = join(root, 'bad');
    const job = writeFixtureJob(dir, { id: 'm', method: 'magnitude', sparsity: 0.5, accuracy: [0.8], compaction: { params_after: 1, flops_per_token_after: 1, structures_removed: true } });
    const compaction = join(job, 'model', 'compaction.json');
    writeFileSync(compaction, JSON.stringify({ ...JSON.parse(readFileSync(compaction, 'utf8')), flops_per_token_after: 'many' }));
    expect(() => outcomesOf([job])).toThrow(`${compaction}: "flops_per_token_after" should be a finite number, got "many"`);
    writeFileSync(compaction, JSON.stringify({ ...JSON.parse(readFileSync(compaction, 'utf8')), flops_per_token_after: 5 }));
    writeFileSync(join(dir, 'bench.json'), JSON.stringify({ backend: 'wasm', repeats: 5, rows: [{ target: 'a', job: 'm', batch: 8, seq: 64, median_ms: 3, p90_ms: 3, seq_per_s: 1, params: 1, weight_bytes: 4 }] }));
    expect(() => outcomesOf([job])).toThrow(`${join(dir, 'bench.json')}: rows[0].speedup must be a number`);
    writeFileSync(join(dir, 'bench.json'), '{"rows": [');
    expect(() => outcomesOf([job])).toThrow(`${join(dir, 'bench.json')}: cannot read bench results`);
  });
});

describe('axes that do not mislead', () => {
  it('a constant metric gets ticks at its precision around it, not one tick rounded to "1"', () => {
    const job = readJobResults(writeFixtureJob(join(root, 'constant'), { id: 'c', method: 'magnitude', sparsity: 0.5, accuracy: [0.5575, 0.5575, 0.5575] }));
    const y = layersOf(metricSparsitySpec(job))[0]!.encoding.y as unknown as Y;
    expect(y.axis.format).toBe('.4f');
    expect(y.axis.values).toContain(0.5575);
    expect(y.scale.domain[0]).toBeLessThan(0.5575);
    expect(y.scale.domain[1]).toBeGreaterThan(0.5575);
  });

  it('a zoomed axis says where it starts; one reaching 0 says nothing', () => {
    // Span 0.0325 over ~5 ticks: step 0.01.
    expect(valueAxis([0.5575, 0.59], 'accuracy')).toEqual({
      title: 'accuracy (from 0.55, not 0)',
      scale: { domain: [0.55, 0.59], nice: false, zero: false },
      axis: { values: [0.55, 0.56, 0.57, 0.58, 0.59], format: '.2f' },
    });
    expect(valueAxis([0.02, 0.9], 'accuracy').title).toBe('accuracy');
    expect(valueAxis([0.02, 0.9], 'accuracy').scale.domain).toEqual([0, 1]);
    expect(valueAxis([-0.1, 0.3], 'mcc').title).toBe('mcc');
  });

  it('jobs with identical metric lines are named in the subtitle and drawn widest first, with a marker shape each', () => {
    const dir = join(root, 'same');
    const jobs = labelJobs(
      ['baseline', 'magnitude', 'movement'].map((method) => readJobResults(writeFixtureJob(dir, { id: method, method, sparsity: method === 'baseline' ? 0 : 0.5, accuracy: [0.6, 0.7] }))),
    );
    const spec = comparisonSpec(jobs, 'same') as unknown as { title: { subtitle: string }; layer: ({ layer: Layer[] } | Layer)[] };
    expect(spec.title.subtitle).toBe('same accuracy every epoch, drawn inside each other: baseline = magnitude = movement');
    const [metricLine, metricPoints] = (spec.layer[0] as { layer: Layer[] }).layer;
    expect(metricLine!.encoding.strokeWidth).toEqual({ field: 'metricWidth', type: 'quantitative', scale: null, legend: null });
    expect(metricPoints!.encoding.shape!.field).toBe('job');
    expect(metricPoints!.encoding.size!.field).toBe('markerSize');
    // Drawn in job order: the first widest, so each identical line shows a rim of its colour.
    const data = (spec as unknown as { data: { values: { job: string; epoch: number; metricWidth: number; markerSize: number; sparsityWidth: number }[] } }).data.values;
    expect(data.filter((v) => v.epoch === 1).map((v) => [v.job, v.metricWidth, v.markerSize, v.sparsityWidth])).toEqual([
      ['baseline', 6, 250, 2],
      ['magnitude', 4, 160, 4],
      ['movement', 2, 70, 2],
    ]);
  });

  it('lines with nothing identical keep the base width, however many jobs', () => {
    const dir = join(root, 'distinct');
    const jobs = labelJobs([0.6, 0.65, 0.7, 0.75, 0.8].map((acc, i) => readJobResults(writeFixtureJob(dir, { id: `j${i}`, method: 'magnitude', sparsity: 0.1 * (i + 1), accuracy: [acc] }))));
    const spec = comparisonSpec(jobs, 'distinct') as unknown as { title: { subtitle?: string }; data: { values: { metricWidth: number; sparsityWidth: number }[] } };
    expect(spec.title.subtitle).toBeUndefined();
    expect(new Set(spec.data.values.flatMap((v) => [v.metricWidth, v.sparsityWidth]))).toEqual(new Set([2]));
  });
});

describe('writeComparison with compacted jobs', () => {
  it('writes the three PNGs and a summary with params, GFLOPs per sequence and measured speedup', async () => {
    const dir = join(root, 'written');
    const result = await writeComparison(dir, writeStructuredPipeline(dir, true), 'structured');
    expect(result.plots).toEqual([COMPARISON_PNG, ACCURACY_VS_SPARSITY_PNG, ACCURACY_VS_SPEEDUP_PNG].map((f) => join(dir, f)));
    expect(result.notes).toEqual([]);
    for (const file of result.plots) {
      const png = decodePng(readFileSync(file));
      expect([png.width, png.height]).toEqual([PLOT_WIDTH, PLOT_HEIGHT]);
      expect(inkedPixels(png)).toBeGreaterThan(5000);
    }
    const md = readFileSync(result.summary, 'utf8');
    expect(md).toContain('| wall time (s) | params | GFLOPs/seq | speedup |');
    // 1.2e6 FLOPs per token x 64 tokens = 0.077 GFLOPs; 1.9x at batch 8 x 64, not the batch-1 row.
    expect(md).toContain('| magnitude_s50 | magnitude | sst2 | tiny | 3 | accuracy 0.8100 | 0.8100 | 0.500 | 0.2333 | 0.2667 | 6.0 | 4.00M | 0.077 | 1.90x |');
    expect(md).toContain('| baseline_sst2 | baseline | sst2 | tiny | 3 | accuracy 0.8200 | 0.8200 | 0.000 | 0.2333 | 0.2667 | 6.0 | 4.40M | 0.128 | 1.00x |');
    expect(md).toContain(`speedup: measured by gbp bench against the dense model, batch 8 x seq ${FIXTURE_MAX_LEN} on wasm.`);
    expect(md).toContain(`![accuracy_vs_speedup](${ACCURACY_VS_SPEEDUP_PNG})`);
  });

  it('a bench.json that measured none of the compacted jobs: no speedup plot, and a note saying so', async () => {
    const dir = join(root, 'stale-bench');
    const dirs = writeStructuredPipeline(dir, false);
    writeFixtureBench(dir, [{ job: 'baseline_sst2', speedup: 1 }]);
    const result = await writeComparison(dir, dirs, 'structured');
    expect(result.plots).not.toContain(join(dir, ACCURACY_VS_SPEEDUP_PNG));
    expect(result.notes).toEqual([
      `accuracy_vs_speedup.png: not drawn: ${join(dir, 'bench.json')} measured none of the compacted jobs; run gbp bench ${dir} --batch 8 --seq ${FIXTURE_MAX_LEN} --json ${dir}/bench.json again`,
    ]);
  });

  it('without bench.json: no speedup plot, a note with the gbp bench command, and a footnoted dash', async () => {
    const dir = join(root, 'unbenched');
    const result = await writeComparison(dir, writeStructuredPipeline(dir, false), 'structured');
    expect(result.plots).toEqual([join(dir, COMPARISON_PNG), join(dir, ACCURACY_VS_SPARSITY_PNG)]);
    const command = `gbp bench ${dir} --batch 8 --seq ${FIXTURE_MAX_LEN} --json ${dir}/bench.json`;
    expect(result.notes).toEqual([`accuracy_vs_speedup.png: no measured speedups (no bench.json in ${dir}); measure them with: ${command}, then gbp compare ${dir}`]);
    const md = readFileSync(result.summary, 'utf8');
    expect(md).toContain('| 4.00M | 0.077 | —† |');
    expect(md).toContain(`† not measured: no bench.json beside the jobs; run \`${command}\`, then \`gbp compare\` again.`);
  });
});

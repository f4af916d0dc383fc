/**
 * End to end: the built `gbp` binary runs a small pipeline on the real GLUE data, and every result
 * file is checked. Skips with a message when ../shared/data/glue (or GBP_DATA_DIR) or the build is
 * missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, inkedPixels } from './png.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const dataDir = process.env.GBP_DATA_DIR ?? resolve(pkg, '../../../shared/data/glue');
const skip = !existsSync(join(dataDir, 'sst2', 'train.jsonl'))
  ? `no GLUE data at ${dataDir} (set GBP_DATA_DIR)`
  : !existsSync(bin)
    ? `${bin} is not built (npm run build -w @gbp/cli)`
    : '';
if (skip) console.warn(`e2e test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const EPOCHS = 2;
const pipelineFile = join(dir, 'e2e.yaml');
writeFileSync(
  pipelineFile,
  `# yaml-language-server: $schema=${join(pkg, 'pipeline.schema.json')}
name: e2e
defaults:
  task: sst2
  model: { size: tiny, num_layers: 1, d_model: 64, num_heads: 2, dff: 128, vocab_size: 2000, max_len: 32 }
  train: { epochs: 4, batch_size: 32, max_train_examples: 256, max_eval_examples: 128 }
  pruning: { end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 }
matrix:
  method: [baseline, magnitude]
run: { parallel: true, max_parallel_jobs: 2, output: out, backend: wasm }
`,
);
const gbp = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, GBP_EPOCHS: String(EPOCHS), CI: '1' }, timeout: 300_000 });

describe.skipIf(Boolean(skip))('gbp run (built binary, real data)', () => {
  it('rejects a bad flag with exit code 2 before anything runs', () => {
    const result = gbp('run', pipelineFile, '-s', '1.5');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("-s/--start-sparsity must be a number in [0, 1], got '1.5'");
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('runs the pipeline and leaves every result file, complete and readable', () => {
    const result = gbp('run', pipelineFile, '--data-dir', dataDir);
    expect(result.stderr).toBe('');
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toContain('2 jobs: 2 done');
    const out = join(dir, 'out', 'e2e');

    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
    expect(plan.jobs.map((j: { id: string }) => j.id)).toEqual(['baseline_sst2', 'magnitude_sst2']);
    expect(Object.values(plan.status).map((s) => (s as { status: string }).status)).toEqual(['done', 'done']);

    for (const [id, method, finalSparsity] of [['baseline_sst2', 'baseline', 0], ['magnitude_sst2', 'magnitude', 0.5]] as const) {
      const jobDir = join(out, `results_${id}`);
      const files = readdirSync(jobDir);
      const metaFile = files.find((f) => f.startsWith('metadata_') && f.endsWith('.json'))!;
      const metadata = JSON.parse(readFileSync(join(jobDir, metaFile), 'utf8'));
      expect(metadata.status).toBe('done');
      expect(metadata.spec.train.epochs).toBe(EPOCHS);
      const stamp = metaFile.slice(`metadata_${metadata.method}_`.length, -'.json'.length);
      expect(metadata.method).toBe(method);

      const csvFile = files.find((f) => f.startsWith('results_') && f.endsWith(`_${stamp}.csv`));
      expect(csvFile, `CSV in ${files.join(', ')}`).toBeDefined();
      const csv = readFileSync(join(jobDir, csvFile!), 'utf8');
      const [header, ...rows] = csv.trim().split('\n');
      const columns = header!.split(',');
      expect(columns).toEqual(expect.arrayContaining(['epoch', 'step', 'lr', 'train_loss', 'eval_loss', 'accuracy', 'sparsity', 'wall_time_s']));
      expect(rows.map((r) => Number(r.split(',')[columns.indexOf('epoch')]))).toEqual([1, 2]);
      const last = rows[rows.length - 1]!.split(',').map(Number);
      expect(last[columns.indexOf('sparsity')]).toBeCloseTo(finalSparsity, 2);
      expect(last[columns.indexOf('accuracy')]).toBeGreaterThan(0);

      for (const kind of ['accuracy_sparsity', 'loss_sparsity']) {
        const png = files.find((f) => f.startsWith(`${kind}_`) && f.endsWith(`_${stamp}.png`));
        expect(png, `${kind} plot in ${files.join(', ')}`).toBeDefined();
        const image = decodePng(readFileSync(join(jobDir, png!)));
        expect([image.width, image.height]).toEqual([900, 500]);
        expect(inkedPixels(image)).toBeGreaterThan(5000);
      }
      const events = readFileSync(join(jobDir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(events.at(-1).type).toBe('done');
      expect(events.filter((e) => e.type === 'epoch')).toHaveLength(EPOCHS);
      expect(readFileSync(join(jobDir, 'job.log'), 'utf8')).toMatch(/done \(worker exited with 0\)/);
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }

    const comparison = decodePng(readFileSync(join(out, 'pruning_methods_comparison_dual_axis.png')));
    expect([comparison.width, comparison.height]).toEqual([900, 500]);
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toContain('| baseline_sst2 |');
    expect(summary).toContain('| magnitude_sst2 |');
  });

  it('rebuilds the comparison with gbp compare', () => {
    const result = gbp('compare', join(dir, 'out', 'e2e'), '-o', 'cmp');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('2 jobs compared');
    expect(decodePng(readFileSync(join(dir, 'cmp', 'pruning_methods_comparison_dual_axis.png'))).width).toBe(900);
  });

  it('--resume skips the finished jobs', () => {
    const result = gbp('run', pipelineFile, '--data-dir', dataDir, '--resume');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('2 jobs: 2 skipped');
    expect(execFileSync('ls', [join(dir, 'out', 'e2e')], { encoding: 'utf8' })).toContain('plan.json');
  });
});

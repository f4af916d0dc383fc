/**
 * End to end: the built `gbp` runs two small jobs on the real GLUE data, then `gbp bench` times
 * the model/ folders they wrote. Skips with a message when the data or the build is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readBenchFile } from '../src/bench/bench-file.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const dataDir = process.env.GBP_DATA_DIR ?? resolve(pkg, '../../../shared/data/glue');
const skip = !existsSync(join(dataDir, 'sst2', 'train.jsonl')) ? `no GLUE data at ${dataDir} (set GBP_DATA_DIR)` : !existsSync(bin) ? `${bin} is not built` : '';
if (skip) console.warn(`bench e2e test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-bench-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'b.yaml'),
  `name: b
defaults:
  task: sst2
  model: { size: tiny, num_layers: 1, d_model: 64, num_heads: 2, dff: 128, vocab_size: 2000, max_len: 32 }
  train: { epochs: 1, batch_size: 32, max_train_examples: 128, max_eval_examples: 64 }
  pruning: { end_sparsity: 0.5, start_epoch: 1, end_epoch: 1 }
matrix:
  method: [magnitude, baseline]
run: { output: out, backend: wasm }
`,
);
const gbp = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000 });

describe.skipIf(Boolean(skip))('gbp bench on the models a run wrote (built binary, real data)', () => {
  it('times each job\'s model/ and a preset, the dense job first', () => {
    const run = gbp('run', 'b.yaml', '--data-dir', dataDir);
    expect(run.status, run.stderr).toBe(0);
    const bench = gbp('bench', 'out/b', 'tiny', '--batch', '2', '--seq', '32', '--repeats', '2', '--warmup', '1', '--backend', 'wasm', '--json', 'bench.json');
    expect(bench.status, bench.stderr).toBe(0);
    const rows = readBenchFile(join(dir, 'bench.json')).rows;
    expect(rows.map((r) => [r.target, r.method, r.path])).toEqual([
      ['baseline_sst2', 'baseline', join(dir, 'out', 'b', 'results_baseline_sst2', 'model')],
      ['magnitude_sst2', 'magnitude', join(dir, 'out', 'b', 'results_magnitude_sst2', 'model')],
      ['tiny', undefined, undefined],
    ]);
    expect(bench.stdout).toMatch(/^baseline_sst2\s+2\s+32\s/m);
    expect(bench.stderr).toContain('batch 2 x seq 32: round 2/2: baseline_sst2 ');
  });
});

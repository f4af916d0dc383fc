/**
 * Issue 12 end to end, with the built binary and a real redis-server: `gbp run --queue` with a
 * four-job pipeline, two `gbp worker` processes sharing a checkpoint folder, one of them killed
 * with -9 in the middle of a job. All four results land in the submitter's results folder, and the
 * jobs that were not interrupted have exactly the metrics of a local run with the same seeds.
 * Skips without redis-server, GLUE sst2 or the build.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing, startRedis, type TestRedis } from './fixtures/redis-server.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const dataDir = process.env.GBP_DATA_DIR ?? resolve(pkg, '../../../shared/data/glue');
const skip =
  redisMissing() ||
  (!existsSync(join(dataDir, 'sst2', 'train.jsonl')) ? `no GLUE sst2 at ${dataDir}` : '') ||
  (existsSync(bin) ? '' : `${bin} is not built (npm run build -w @gbp/cli)`);
if (skip) console.warn(`queue end-to-end test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-queue-e2e-'));
const pipelineFile = join(dir, 'four.yaml');
// Four small jobs of a few seconds each: long enough to kill a worker in the middle of one.
writeFileSync(
  pipelineFile,
  `name: four
defaults:
  task: sst2
  model: { size: tiny, num_layers: 1, d_model: 64, num_heads: 2, dff: 128, vocab_size: 2000, max_len: 32 }
  train: { epochs: 3, batch_size: 16, max_train_examples: 768, max_eval_examples: 128 }
  pruning: { end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 }
data: { dir: ${dataDir} }
matrix:
  method: [baseline, magnitude]
  seed: [1, 2]
run: { backend: wasm }
`,
);

const stagedFile = join(dir, 'staged.yaml');
// Dense, then pruned from its checkpoint with it as teacher: workers find both in the shared folder.
writeFileSync(
  stagedFile,
  `name: staged
defaults:
  task: sst2
  model: { size: tiny, num_layers: 1, d_model: 64, num_heads: 2, dff: 128, vocab_size: 2000, max_len: 32 }
  train: { epochs: 2, batch_size: 16, max_train_examples: 256, max_eval_examples: 64 }
data: { dir: ${dataDir} }
stages:
  dense: {}
  pruned:
    needs: [dense]
    init_from: dense
    defaults:
      method: magnitude
      train: { distill: { teacher: dense } }
      pruning: { granularity: structured, end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 }
run: { backend: wasm }
`,
);

let redis: TestRedis;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(async () => {
  if (!skip) redis = await startRedis();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function gbp(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...process.env, CI: '1', XDG_CACHE_HOME: join(dir, 'cache'), GBP_QUEUE_LOCK_MS: '2000', GBP_QUEUE_STALLED_MS: '1000', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => out, exited };
}

async function until(what: string, check: () => boolean, limitMs = 120_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Every epoch's numbers of each job of `results` (its results CSV), without the wall-clock column. */
function epochRows(results: string): Record<string, string[]> {
  const rows: Record<string, string[]> = {};
  for (const job of readdirSync(results).filter((n) => n.startsWith('results_'))) {
    const csv = readdirSync(join(results, job)).find((n) => /^results_.*\.csv$/.test(n))!;
    const [header, ...lines] = readFileSync(join(results, job, csv), 'utf8').trim().split('\n');
    const timed = header!.split(',').map((name) => /time|seconds/.test(name));
    rows[job] = lines.map((line) => line.split(',').filter((_, i) => !timed[i]).join(','));
  }
  return rows;
}

describe.skipIf(Boolean(skip))('gbp run --queue with two gbp workers, one killed with -9', () => {
  it('lands all four results; the jobs not interrupted match a local run', async () => {
    const shared = join(dir, 'shared-checkpoints');
    const a = gbp(['worker', '--queue', redis.url, '--name', 'wA', '--checkpoint-dir', shared]);
    const b = gbp(['worker', '--queue', redis.url, '--name', 'wB', '--checkpoint-dir', shared]);
    await until('both workers to start', () => /gbp worker wA/.test(a.output()) && /gbp worker wB/.test(b.output()), 30_000);
    const run = gbp(['run', pipelineFile, '--queue', redis.url, '--output', 'queued', '--plain']);
    // Let worker A get into its job (a checkpoint written after the first epoch), then kill it.
    await until('worker A to take a job', () => /taken /.test(a.output()));
    await until('a checkpoint of worker A\'s job', () => existsSync(shared) && readdirSync(shared, { recursive: true }).some((p) => String(p).includes('step-')));
    a.child.kill('SIGKILL');
    expect(await run.exited).toBe(0);
    const out = run.output();
    expect(out).toMatch(/4 jobs: 4 done/);
    // The killed worker's job went to the other worker after the stall, from its checkpoint.
    expect(out).toMatch(/taken by wB \(attempt \d+\): resumed from checkpoint step \d+/);

    const queued = join(dir, 'queued', 'four');
    const jobs = readdirSync(queued).filter((n) => n.startsWith('results_')).sort();
    expect(jobs).toEqual(['results_baseline_sst2_seed1', 'results_baseline_sst2_seed2', 'results_magnitude_sst2_seed1', 'results_magnitude_sst2_seed2']);
    for (const job of jobs) {
      const files = readdirSync(join(queued, job));
      expect(files.some((f) => /^metadata_.*\.json$/.test(f)), `${job}: ${files.join(', ')}`).toBe(true);
      expect(files).toContain('model');
      expect(files).toContain('events.ndjson');
    }

    const local = gbp(['run', pipelineFile, '--output', 'local', '--plain']);
    expect(await local.exited).toBe(0);
    const [remoteRows, localRows] = [epochRows(queued), epochRows(join(dir, 'local', 'four'))];
    const interrupted = jobs.filter((job) => /resumed from checkpoint|restarted from the start/.test(readFileSync(join(queued, job, 'job.log'), 'utf8')));
    expect(interrupted.length).toBeGreaterThanOrEqual(1);
    for (const job of jobs.filter((j) => !interrupted.includes(j))) {
      expect(remoteRows[job]).toHaveLength(3);
      expect(remoteRows[job], job).toEqual(localRows[job]);
    }
    b.child.kill('SIGTERM');
  }, 300_000);

  it('runs a dense-then-pruned pipeline (init_from and a teacher stage) from the shared checkpoint folder', async () => {
    const shared = join(dir, 'staged-checkpoints');
    const w = gbp(['worker', '--queue', redis.url, '--name', 'wS', '--checkpoint-dir', shared]);
    await until('the worker to start', () => /gbp worker wS/.test(w.output()), 30_000);
    const run = gbp(['run', stagedFile, '--queue', redis.url, '--output', 'queued', '--plain']);
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/2 jobs: 2 done/);
    const log = readFileSync(join(dir, 'queued', 'staged', 'results_magnitude_sst2_pruned', 'job.log'), 'utf8');
    expect(log).toContain(`initialised weights and masks from ${join(shared)}`);
    expect(log).toMatch(/teacher logits of 256 training examples computed in .* from .*baseline_sst2_dense\/model/);
    expect(readdirSync(join(dir, 'queued', 'staged', 'results_magnitude_sst2_pruned'))).toContain('model');
    w.child.kill('SIGTERM');
  }, 300_000);
});

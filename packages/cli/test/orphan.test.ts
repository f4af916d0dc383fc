/**
 * kill -9 of `gbp run` (built binary, real worker, real data): its worker must notice the closed
 * IPC channel, checkpoint and exit instead of running on as an orphan that keeps writing.
 * Linux only (finds the worker through ps --ppid and /proc).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const dataDir = process.env.GBP_DATA_DIR ?? resolve(pkg, '../../../shared/data/glue');
const skip =
  process.platform !== 'linux'
    ? 'needs Linux (/proc, ps --ppid)'
    : !existsSync(join(dataDir, 'sst2', 'train.jsonl'))
      ? `no GLUE data at ${dataDir} (set GBP_DATA_DIR)`
      : !existsSync(bin)
        ? `${bin} is not built (npm run build -w @gbp/cli)`
        : '';
if (skip) console.warn(`orphan test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-orphan-'));
const strays: number[] = [];
afterAll(() => {
  // Before the fix the orphan would run all its epochs: do not leave it behind.
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const childrenOf = (pid: number) =>
  spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);

async function waitFor(what: string, check: () => boolean, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`gave up after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(Boolean(skip))('gbp run killed with SIGKILL', () => {
  it('takes its worker down with it (the worker checkpoints and exits)', async () => {
    const file = join(dir, 'orphan.yaml');
    // Many short epochs: long enough that an orphan would outlive any wait below.
    writeFileSync(
      file,
      `name: orphan
defaults:
  task: sst2
  model: { size: tiny, num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 1000, max_len: 16 }
  train: { epochs: 500, batch_size: 16, max_train_examples: 64, max_eval_examples: 16 }
run: { output: out, backend: wasm }
`,
    );
    const parent = spawn(process.execPath, [bin, 'run', file, '--data-dir', dataDir, '-v'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    let out = '';
    parent.stdout.on('data', (d) => (out += String(d)));
    parent.stderr.on('data', (d) => (out += String(d)));
    // Training has begun once a checkpoint is reported (after epoch 1).
    await waitFor(`a checkpoint in gbp run's output:\n${out}`, () => /checkpoint/.test(out), 90_000);
    const workers = childrenOf(parent.pid!);
    expect(workers, 'one worker process').toHaveLength(1);
    const worker = workers[0]!;
    strays.push(worker);

    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    await waitFor(`worker ${worker} to exit after its parent was killed`, () => !alive(worker), 30_000);

    // It stopped as an abort would: metadata says so, and the events end with its checkpoint.
    const jobDir = join(dir, 'out', 'orphan', 'results_baseline_sst2');
    const metadataFile = readdirSync(jobDir).find((f) => f.startsWith('metadata_'))!;
    expect(JSON.parse(readFileSync(join(jobDir, metadataFile), 'utf8')).status).toBe('aborted');
  });
});

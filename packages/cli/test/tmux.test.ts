/**
 * The dashboard in a real terminal: `gbp run` (built, with the fake worker) under tmux, read back
 * with capture-pane. Skips when tmux or the build is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const fakeWorker = join(pkg, 'test', 'fixtures', 'fake-worker.mjs');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const skip = !hasTmux ? 'tmux is not installed' : !existsSync(bin) ? `${bin} is not built (npm run build -w @gbp/cli)` : '';
if (skip) console.warn(`tmux dashboard test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-tmux-'));
// One tmux server per test: killing a server's last session ends it, racing the next start.
let socket = '';
const sockets: string[] = [];
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
afterAll(() => {
  for (const s of sockets) spawnSync('tmux', ['-L', s, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
});

const screen = () => tmux('capture-pane', '-p', '-t', 'gbp');
/** Polls the screen until `test` holds (the synchroniser: no fixed sleeps). */
async function waitFor(test: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < end) {
    text = screen();
    if (test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${text}`);
}

function start(name: string, stepMs: number, extra = '') {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\ndefaults: { task: sst2, model: { size: tiny }, train: { epochs: 3 } }\nmatrix:\n  seed: [1, 2, 3]\nrun: { parallel: 2, output: ${dir} }\n`,
  );
  // A person's terminal: ink renders only the last frame when it believes it runs in CI.
  const command = `env -u CI -u CONTINUOUS_INTEGRATION GBP_WORKER=${fakeWorker} GBP_FAKE_STEP_MS=${stepMs} node ${bin} run ${file} ${extra}; echo "EXIT=$?"; sleep 60`;
  socket = `gbp-test-${process.pid}-${name}`;
  sockets.push(socket);
  tmux('new-session', '-d', '-s', 'gbp', '-x', '170', '-y', '45', command);
}

describe.skipIf(Boolean(skip))('gbp run dashboard under tmux', () => {
  it('shows a row per job with progress, switches views with v, and ends with the result', async () => {
    start('dash', 250);
    const live = await waitFor((t) => /▶ running/.test(t) && /\d+%/.test(t), 'running rows');
    expect(live).toContain('dash: 3 jobs, 2 at a time');
    expect(live).toMatch(/job\s+method\s+task\s+size\s+progress/);
    expect(live).toMatch(/baseline_sst2_seed1\s+baseline\s+sst2\s+tiny\s+[█░]+/);
    expect(live).toMatch(/baseline_sst2_seed3 .*· pending/);
    expect(live).toMatch(/3 jobs: [12] running · [12] pending · 0 done/);

    tmux('send-keys', '-t', 'gbp', 'v');
    const logs = await waitFor((t) => t.includes('view: logs'), 'the logs view');
    expect(logs).toMatch(/── baseline_sst2_seed\d \(running\) ──/);
    tmux('send-keys', '-t', 'gbp', 'v');
    await waitFor((t) => t.includes('view: both'), 'the combined view');

    const end = await waitFor((t) => t.includes('EXIT='), 'the end', 60_000);
    expect(end).toMatch(/✔ baseline_sst2_seed1 done: accuracy 0\.7500/);
    expect(end).toContain('all jobs finished');
    expect(end).toContain('3 jobs: 3 done');
    expect(end).toContain('EXIT=0');
  });

  it('stops on Ctrl-C: jobs checkpoint, the run exits 130 and says how to resume', async () => {
    start('stop', 400);
    await waitFor((t) => /▶ running/.test(t) && / [1-9]\d*%/.test(t), 'progress');
    tmux('send-keys', '-t', 'gbp', 'C-c');
    const end = await waitFor((t) => t.includes('EXIT='), 'the end after Ctrl-C');
    expect(end).toContain('EXIT=130');
    expect(end).toMatch(/■ baseline_sst2_seed1 aborted/);
    expect(end).toContain('--resume');
  });
});

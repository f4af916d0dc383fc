/**
 * Two `gbp run` on one output folder (built binary, fake worker): the second stops at once, exit 2,
 * naming the first; a user's folder is refused with the way to force it, which --help documents.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const skip = existsSync(bin) ? '' : `${bin} is not built (npm run build -w @gbp/cli)`;
if (skip) console.warn(`concurrent-runs test skipped: ${skip}`);
const dir = mkdtempSync(join(tmpdir(), 'gbp-two-'));
const started: ChildProcess[] = [];
afterAll(() => {
  // A failing assertion must not leave the 50-epoch run behind.
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const env = { ...process.env, GBP_WORKER: join(pkg, 'test', 'fixtures', 'fake-worker.mjs'), GBP_FAKE_STEP_MS: '200' };
const gbp = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8' });

describe.skipIf(Boolean(skip))('gbp run and its output folder', () => {
  it('a second run on the same folder fails at once, naming the first; the first goes on untouched', async () => {
    const file = join(dir, 'two.yaml');
    writeFileSync(file, `name: two\ndefaults: { task: sst2, model: { size: tiny }, train: { epochs: 50 } }\nrun: { output: out }\n`);
    const first = spawn(process.execPath, [bin, 'run', file, '-v'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(first);
    let out = '';
    first.stdout.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => first.on('exit', resolve));
    await expect.poll(() => /step \d+\//.test(out), { timeout: 60_000 }).toBe(true);

    const second = gbp('run', file, '--resume');
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(
      new RegExp(`^${join(dir, 'out', 'two')} is in use by gbp run ${file} \\(pid ${first.pid} on ${hostname()}, since [^)]+\\); wait for it or stop it\\n$`),
    );
    // The first was still running (50 epochs) and was not disturbed: it stops only when told to.
    expect(first.exitCode).toBeNull();
    first.kill('SIGTERM');
    expect(await exited).toBe(130);
    expect(out).toContain('1 jobs: 1 aborted');
    expect(readdirSync(join(dir, 'out', 'two')).sort()).toEqual(['.gbp-output', 'plan.json', 'results_baseline_sst2']);
  });

  it('refuses a folder gbp did not make, saying how to force; --help documents --force', () => {
    const theirs = join(dir, 'mine', 'p');
    mkdirSync(theirs, { recursive: true });
    writeFileSync(join(theirs, 'summary.md'), 'my notes\n');
    const file = join(dir, 'p.yaml');
    writeFileSync(file, `name: p\ndefaults: { task: sst2, model: { size: tiny }, train: { epochs: 1 } }\n`);
    const result = gbp('run', file, '--output', join(dir, 'mine'));
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `${theirs} is not empty and is not a gbp output folder (no .gbp-output or plan.json; it holds summary.md); ` +
        'choose another --output, or pass --force to write into it (gbp never overwrites files already there)\n',
    );
    expect(readdirSync(theirs)).toEqual(['summary.md']);
    expect(gbp('run', '--help').stdout).toMatch(/--force\s+write into a non-empty folder gbp did not make/);
  });
});

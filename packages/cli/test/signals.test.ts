/** SIGTERM to `gbp run` (built, plain reporter, fake worker): workers checkpoint, exit 130, --resume finishes. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const skip = existsSync(bin) ? '' : `${bin} is not built (npm run build -w @gbp/cli)`;
if (skip) console.warn(`signals test skipped: ${skip}`);
const dir = mkdtempSync(join(tmpdir(), 'gbp-sig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, GBP_WORKER: join(pkg, 'test', 'fixtures', 'fake-worker.mjs'), GBP_FAKE_STEP_MS: '300' };

describe.skipIf(Boolean(skip))('gbp run under SIGTERM', () => {
  it('stops workers cleanly and resumes them later', async () => {
    const file = join(dir, 'sig.yaml');
    writeFileSync(file, `name: sig\ndefaults: { task: sst2, train: { epochs: 2 } }\nmatrix: { seed: [1, 2] }\nrun: { parallel: true, output: ${dir} }\n`);
    const child = spawn(process.execPath, [bin, 'run', file, '-v'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (/step [3-9]\//.test(out) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(out).toMatch(/\[baseline_sst2_seed1\] aborted/);
    expect(out).toContain('stopped; continue with: gbp run');
    const plan = JSON.parse(readFileSync(join(dir, 'sig', 'plan.json'), 'utf8'));
    expect(Object.values(plan.status).map((s) => (s as { status: string }).status)).toEqual(['aborted', 'aborted']);

    const resumed = spawnSync(process.execPath, [bin, 'run', file, '--resume', '-v'], { env, encoding: 'utf8' });
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain('2 jobs: 2 done');
    expect(resumed.stdout).toMatch(/resuming at step \d+/);
  });
});

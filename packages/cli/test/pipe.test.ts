/** The built `gbp` writing into a pipe whose reader stops early (`| head -1`): no EPIPE crash. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const skip = existsSync(bin) ? '' : `${bin} is not built (npm run build -w @gbp/cli)`;
if (skip) console.warn(`pipe test skipped: ${skip}`);
const dir = mkdtempSync(join(tmpdir(), 'gbp-pipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, GBP_WORKER: join(pkg, 'test', 'fixtures', 'fake-worker.mjs'), GBP_FAKE_STEP_MS: '5' };

/** `gbp ARGS | head -1` in bash: gbp's exit status, its stderr, and what head printed. */
function intoHead(args: string) {
  const script = `node ${JSON.stringify(bin)} ${args} 2>${JSON.stringify(join(dir, 'stderr'))} | head -1; echo "status=\${PIPESTATUS[0]}"`;
  const result = spawnSync('bash', ['-c', script], { cwd: dir, env, encoding: 'utf8' });
  const [first, status] = result.stdout.trimEnd().split('\n');
  return { first, status, stderr: readFileSync(join(dir, 'stderr'), 'utf8') };
}

describe.skipIf(Boolean(skip))('output into a pipe closed early', () => {
  it('gbp validate stops writing quietly and exits 0', () => {
    // 2000 jobs: the table is far larger than a pipe's buffer, so gbp is still writing when head exits.
    const seeds = Array.from({ length: 2000 }, (_, i) => i + 1).join(', ');
    writeFileSync(join(dir, 'big.yaml'), `name: big\ndefaults: { task: sst2, model: { size: tiny } }\nmatrix: { seed: [${seeds}] }\nrun: { max_jobs_warning: 5000 }\n`);
    expect(intoHead('validate big.yaml')).toEqual({ first: 'big.yaml: valid; 2000 jobs, 1 at a time', status: 'status=0', stderr: '' });
  });

  it('gbp run keeps running its jobs to the end and writes their results', () => {
    writeFileSync(join(dir, 'run.yaml'), `name: run\ndefaults: { task: sst2, train: { epochs: 2 } }\nmatrix: { seed: [1, 2] }\nrun: { output: ${dir} }\n`);
    const { first, status, stderr } = intoHead('run run.yaml -v');
    expect(first).toMatch(/^gbp run run: 2 jobs/);
    expect({ status, stderr }).toEqual({ status: 'status=0', stderr: '' });
    const plan = JSON.parse(readFileSync(join(dir, 'run', 'plan.json'), 'utf8'));
    expect(Object.values(plan.status).map((s) => (s as { status: string }).status)).toEqual(['done', 'done']);
  });
});

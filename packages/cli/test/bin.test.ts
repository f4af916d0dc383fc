/**
 * The `gbp` command as npm installs it: package.json `bin` names a committed, executable launcher
 * (so `npm ci` links it before any build and a fresh clone gets it executable), the workspace's
 * node_modules/.bin/gbp runs it, and without a build it says what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('..', import.meta.url));
const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = (JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.gbp!;
const launcher = join(cli, bin);
const scratch = mkdtempSync(join(tmpdir(), 'gbp-bin-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the gbp bin', () => {
  it('is a committed file with git mode 100755 and a node shebang, outside the build output', () => {
    expect(relative(cli, launcher).split(/[\\/]/)[0]).not.toBe('dist');
    const entry = execFileSync('git', ['ls-files', '--stage', '--', relative(repo, launcher)], { cwd: repo, encoding: 'utf8' });
    expect(entry, `${launcher} is not committed (git ls-files prints nothing)`).toMatch(/^100755 /);
    expect(readFileSync(launcher, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('is linked as node_modules/.bin/gbp and runs from there (gbp --help)', () => {
    const link = join(repo, 'node_modules', '.bin', 'gbp');
    expect(realpathSync(link)).toBe(realpathSync(launcher));
    // Run as the shell would: the link itself, not `node <file>` (a 0644 target fails here with EACCES).
    const run = spawnSync(link, ['--help'], { cwd: repo, encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage:\n  gbp run FILE [options]');
  });

  it('without dist/ says that the CLI must be built, and exits 2', () => {
    const copy = join(scratch, 'bin', 'gbp.js');
    mkdirSync(join(scratch, 'bin'));
    copyFileSync(launcher, copy);
    const run = spawnSync(process.execPath, [copy, '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`gbp: ${join(scratch, 'dist', 'bin.js')} is missing: build the CLI first (npm run build at the repository root, or npx nx run @gbp/cli:build)\n`);
  });
});

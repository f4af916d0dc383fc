/**
 * A real full disk (a small tmpfs, filled): `gbp run` says which file it could not write, never
 * crashes with a stack trace, leaves every status true and no temporary files of its own.
 * Skips with the reason where mounting a tmpfs is not permitted (not root).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveJobSpec } from '@gbp/core';
import { fillDisk, mountTinyDisk } from '@gbp/core/testing';
import { main } from '../cli.js';
import type { CommandIO } from '../commands/io.js';
import type { Plan } from '../pipeline/plan.js';
import { readPlanFile } from './plan-file.js';
import { runPlan } from './run-plan.js';

const fakeWorker = fileURLToPath(new URL('../../test/fixtures/fake-worker.mjs', import.meta.url));
const disk = mountTinyDisk(1024);
if (!disk.mounted) console.warn(`full-disk tests skipped: ${disk.skip}`);
afterAll(() => (disk.mounted ? disk.unmount() : undefined));

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new Writable({ write: (chunk, _enc, done) => (into.push(String(chunk)), done()) });
  const value: CommandIO = { stdout: sink(out), stderr: sink(err), stdin: new PassThrough(), env: {}, isTTY: false, cwd: disk.mounted ? disk.dir : '.', onSignals: () => () => undefined };
  return { value, out: () => out.join(''), err: () => err.join('') };
}

describe.skipIf(!disk.mounted)('gbp run on a full disk', () => {
  it('refuses to start when its output folder cannot be written: the path in one line, no stack, nothing left behind', async () => {
    if (!disk.mounted) return;
    const file = join(disk.dir, 'full.yaml');
    writeFileSync(file, `name: full\ndefaults: { task: sst2, model: { size: tiny } }\nrun: { output: ${join(disk.dir, 'out')} }\n`);
    const output = join(disk.dir, 'out', 'full');
    const filler = fillDisk(disk.dir);
    try {
      const t = io();
      expect(await main(['run', file], t.value), t.err()).toBe(1);
      expect(t.err()).toMatch(new RegExp(`^gbp: cannot write ${output}/[^ ]+: ENOSPC: no space left on device\\n$`));
      expect(filesUnder(join(disk.dir, 'out'))).toEqual([]);
    } finally {
      rmSync(filler);
    }
  });

  it('survives plan.json failing mid-run: says so, carries on, and ends with true statuses and no temp files', async () => {
    if (!disk.mounted) return;
    const output = join(disk.dir, 'mid');
    const plan: Plan = {
      version: 1,
      pipeline: 'mid',
      file: 'mid.yaml',
      output_dir: output,
      concurrency: 1,
      reports: [],
      jobs: [
        { id: 'slow', stage: 'main', axes: {}, needs: [], spec: resolveJobSpec({ id: 'slow', method: 'slow', task: 'sst2', model: { size: 'tiny' }, train: { epochs: 2 }, output_dir: join(output, 'results_slow') }) },
      ],
    };
    mkdirSync(output, { recursive: true });
    let filler: string | undefined;
    const notes: string[] = [];
    const outcome = await runPlan(plan, {
      workerEntry: fakeWorker,
      plots: false,
      // The disk fills up once the job is running; the fake worker then dies on its next write.
      onStore: (store) => store.subscribe((_views, { message }) => void (message?.type === 'start' && !filler && (filler = fillDisk(disk.dir)))),
      note: (message) => {
        notes.push(message);
        // Space comes back once gbp has said it could not write plan.json: the end retries it.
        if (message.includes('plan.json') && filler) rmSync(filler, { force: true });
      },
    });
    expect(notes.find((n) => n.includes('plan.json'))).toMatch(new RegExp(`^cannot write ${output}/plan\\.json: ENOSPC: no space left on device; its statuses are behind`));
    expect(outcome.views.map((v) => v.status)).toEqual(['failed']);
    expect(outcome.planFileError).toBeUndefined();
    expect(readPlanFile(output)!.status.slow).toMatchObject({ status: 'failed', error: { message: expect.stringContaining(join(output, 'results_slow', 'job.log')) } });
    expect(filesUnder(output).filter((f) => !f.startsWith('results_slow/'))).toEqual(['.gbp-output', 'plan.json']);
  });
});

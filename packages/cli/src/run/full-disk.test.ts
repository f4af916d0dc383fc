/**
 * A real full disk (a small tmpfs, filled): `gbp run` says which file it could not write, never
 * crashes with a stack trace, leaves every status true and no temporary files of its own.
 * Skips with the reason where mounting a tmpfs is not permitted (not root).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveJobSpec } from '@gbp/core';
import { fillDisk, mountTinyDisk } from '@gbp/core/testing';
import { main } from '../cli.js';
import type { Plan } from '../pipeline/plan.js';
import { readPlanFile } from './plan-file.js';
import { runPlan } from './run-plan.js';
import { captureIO } from '../../test/fixtures/capture-io.js';

const fakeWorker = fileURLToPath(new URL('../../test/fixtures/fake-worker.mjs', import.meta.url));
const realWorker = fileURLToPath(new URL('../../dist/run/worker.js', import.meta.url));
const dataDir = process.env.GBP_DATA_DIR ?? resolve(fileURLToPath(new URL('../../../../../shared/data/glue', import.meta.url)));
const noRealJob = !existsSync(join(dataDir, 'sst2', 'train.jsonl')) ? `no GLUE data at ${dataDir}` : !existsSync(realWorker) ? `${realWorker} is not built` : '';
if (noRealJob) console.warn(`full-disk test with the real worker skipped: ${noRealJob}`);
const disk = mountTinyDisk(1024);
if (!disk.mounted) console.warn(`full-disk tests skipped: ${disk.skip}`);
afterAll(() => (disk.mounted ? disk.unmount() : undefined));

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

const io = () => captureIO(disk.mounted ? disk.dir : '.');

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
    exports: [],
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

  it.skipIf(Boolean(noRealJob))('a real job that cannot write its results fails naming the file, and the run says so truly', async () => {
    if (!disk.mounted) return;
    const output = join(disk.dir, 'real');
    const jobDir = join(output, 'results_baseline');
    const spec = resolveJobSpec({
      id: 'baseline',
      task: 'sst2',
      backend: 'wasm',
      model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 1000, max_len: 16 },
      train: { epochs: 2, batch_size: 16, max_train_examples: 64, max_eval_examples: 16 },
      data: { dir: dataDir },
      output_dir: jobDir,
    });
    const plan: Plan = { version: 1, pipeline: 'real', file: 'real.yaml', output_dir: output, concurrency: 1, reports: [],
    exports: [], jobs: [{ id: 'baseline', stage: 'main', axes: {}, needs: [], spec }] };
    let filler: string | undefined;
    const outcome = await runPlan(plan, {
      workerEntry: realWorker,
      plots: false,
      // Full from the moment training starts: the first epoch's CSV is the first file that cannot be written.
      onStore: (store) => store.subscribe((_views, { message }) => void (message?.type === 'start' && !filler && (filler = fillDisk(disk.dir)))),
      // Room again once gbp has said plan.json could not be written: the end retries it.
      note: (message) => void (message.includes('plan.json') && filler && rmSync(filler, { force: true })),
    });
    if (filler) rmSync(filler, { force: true });
    expect(outcome.views.map((v) => v.status)).toEqual(['failed']);
    expect(outcome.views[0]!.error?.message).toMatch(new RegExp(`^cannot write ${jobDir}/results_baseline_\\w+\\.csv: ENOSPC: no space left on device$`));
    expect(readPlanFile(output)!.status.baseline).toMatchObject({ status: 'failed', error: { message: outcome.views[0]!.error!.message } });
    expect(filesUnder(output).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

/** Who may write a pipeline output folder: one run at a time, never a user's folder, never over an earlier run. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakePlan, fakeWorker } from '../../test/fixtures/fake-plan.js';
import type { Plan } from '../pipeline/plan.js';
import { OUTPUT_MARKER, PREVIOUS_DIR } from './output-folder.js';
import { LOCK_FILE } from './output-lock.js';
import { readPlanFile } from './plan-file.js';
import { runPlan } from './run-plan.js';
import { RunRefusedError } from './run-refused.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-owner-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const makePlan = (name: string, methods: string[] = ['baseline']) => fakePlan(root, name, methods.map((method) => ({ id: method, method })));
const run = (plan: Plan, extra: Parameters<typeof runPlan>[1] = {}) => runPlan(plan, { workerEntry: fakeWorker, plots: false, ...extra });

describe('one gbp run per output folder', () => {
  it('refuses a second run while one holds the folder, naming the holder, and leaves the first alone', async () => {
    const plan = makePlan('busy', ['slow']);
    // The second run's outcome: what it threw, or 'ran'.
    let second: Promise<unknown> | undefined;
    const first = run(plan, {
      command: 'gbp run busy.yaml',
      onStore: (store) =>
        store.subscribe((_views, { message }) => {
          // The first run is under way: its worker has started the job.
          if (message?.type === 'start' && !second) second = run(makePlan('busy', ['slow']), { resume: true }).then(() => 'ran', (error: unknown) => error);
        }),
    });
    await expect.poll(() => second !== undefined, { timeout: 60_000 }).toBe(true);
    const refusal = await second;
    expect(refusal).toBeInstanceOf(RunRefusedError);
    expect((refusal as Error).message).toMatch(
      new RegExp(`^${plan.output_dir} is in use by gbp run busy\\.yaml \\(pid ${process.pid} on ${hostname()}, since \\d{4}-\\d\\d-\\d\\dT[^)]+\\); wait for it or stop it$`),
    );
    const outcome = await first;
    expect(outcome.views.map((v) => v.status)).toEqual(['done']);
    expect(readPlanFile(plan.output_dir)!.status.slow!.status).toBe('done');
    expect(existsSync(join(plan.output_dir, LOCK_FILE)), 'lock released at the end').toBe(false);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const plan = makePlan('stale');
    mkdirSync(plan.output_dir, { recursive: true });
    writeFileSync(join(plan.output_dir, OUTPUT_MARKER), '{}\n');
    // A real pid that has exited: the holder of a gbp run killed with SIGKILL.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(plan.output_dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), since: '2025-01-01T00:00:00.000Z', command: 'gbp run old.yaml' }));
    const outcome = await run(plan);
    expect(outcome.views.map((v) => v.status)).toEqual(['done']);
    expect(existsSync(join(plan.output_dir, LOCK_FILE))).toBe(false);
  });
});

describe('a lock whose pid was reused', () => {
  it.skipIf(process.platform !== 'linux')('is stale when that pid now belongs to a process started after the lock was taken', async () => {
    const plan = makePlan('reused');
    mkdirSync(plan.output_dir, { recursive: true });
    writeFileSync(join(plan.output_dir, OUTPUT_MARKER), '{}\n');
    // A live process that started long after the lock's holder took it: not the holder.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => other.once('exit', resolve));
    try {
      writeFileSync(join(plan.output_dir, LOCK_FILE), JSON.stringify({ pid: other.pid, host: hostname(), since: '2025-01-01T00:00:00.000Z', command: 'gbp run old.yaml' }));
      expect((await run(plan)).views.map((v) => v.status)).toEqual(['done']);
    } finally {
      other.kill('SIGKILL');
      await exited;
    }
  });
});

describe('workers of a killed run', () => {
  it('are listed in the lock, and a run killed while they write holds the folder until they are gone', async () => {
    // Each running worker is in the lock file while it runs.
    const busy = makePlan('listed', ['slow']);
    let listed: number[] | undefined;
    await run(busy, {
      onStore: (store) =>
        store.subscribe((_views, { message }) => {
          if (message?.type === 'start') listed = (JSON.parse(readFileSync(join(busy.output_dir, LOCK_FILE), 'utf8')) as { workers: number[] }).workers;
        }),
    });
    expect(listed).toHaveLength(1);

    // A run killed with SIGKILL: its pid is gone, one of its workers still writes.
    const plan = makePlan('orphaned');
    mkdirSync(plan.output_dir, { recursive: true });
    writeFileSync(join(plan.output_dir, OUTPUT_MARKER), '{}\n');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const worker = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    try {
      writeFileSync(join(plan.output_dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), since: '2025-01-01T00:00:00.000Z', command: 'gbp run old.yaml', workers: [worker.pid] }));
      await expect(run(plan)).rejects.toThrow(
        `${plan.output_dir} is still written by the workers (pid ${worker.pid}) of gbp run old.yaml (pid ${dead}, which is gone); they write a checkpoint and exit; try again once they have`,
      );
    } finally {
      worker.kill('SIGKILL');
      await exited;
    }
    expect((await run(plan)).views.map((v) => v.status)).toEqual(['done']);
  });
});

describe('folders gbp did not make', () => {
  it('refuses a non-empty folder without the gbp marker, says how to force, and writes nothing there', async () => {
    const plan = makePlan('theirs');
    mkdirSync(join(plan.output_dir, 'checkpoints', '.tmp-step-mine'), { recursive: true });
    writeFileSync(join(plan.output_dir, 'summary.md'), 'my notes\n');
    await expect(run(plan)).rejects.toThrow(
      `${plan.output_dir} is not empty and is not a gbp output folder (no ${OUTPUT_MARKER} or plan.json; it holds checkpoints, summary.md); ` +
        'choose another --output, or pass --force to write into it (gbp never overwrites files already there)',
    );
    expect(readdirSync(plan.output_dir).sort()).toEqual(['checkpoints', 'summary.md']);
    expect(readFileSync(join(plan.output_dir, 'summary.md'), 'utf8')).toBe('my notes\n');
  });

  it('with --force writes beside the user\'s files, but never over one of them', async () => {
    const plan = makePlan('forced');
    mkdirSync(plan.output_dir, { recursive: true });
    writeFileSync(join(plan.output_dir, 'summary.md'), 'my notes\n');
    await expect(run(plan, { force: true })).rejects.toThrow(
      `${plan.output_dir}: --force, but gbp would overwrite files it did not write: ${join(plan.output_dir, 'summary.md')}; move them away or choose another --output`,
    );
    rmSync(join(plan.output_dir, 'summary.md'));
    writeFileSync(join(plan.output_dir, 'notes.txt'), 'mine\n');
    const outcome = await run(plan, { force: true });
    expect(outcome.views.map((v) => v.status)).toEqual(['done']);
    expect(readFileSync(join(plan.output_dir, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(plan.output_dir, OUTPUT_MARKER))).toBe(true);
  });
});

describe('a fresh run into an earlier run', () => {
  it('moves the earlier run to previous/<time>/ untouched, says where, and runs afresh', async () => {
    const plan = makePlan('again', ['baseline', 'magnitude']);
    await run(plan);
    const jobDir = join(plan.output_dir, 'results_baseline');
    const read = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f, ...(f === 'checkpoints' ? ['last.json'] : [])), 'utf8')]));
    const before = read(jobDir);
    const planBefore = readFileSync(join(plan.output_dir, 'plan.json'), 'utf8');
    const notes: string[] = [];
    const second = await run(plan, { note: (m) => notes.push(m) });
    expect(second.views.map((v) => v.status)).toEqual(['done', 'done']);
    const previous = readdirSync(join(plan.output_dir, PREVIOUS_DIR));
    expect(previous).toHaveLength(1);
    const moved = join(plan.output_dir, PREVIOUS_DIR, previous[0]!);
    expect(notes).toContain(`moved the earlier run (2 job folders, plan.json) to ${moved}; gbp run --resume continues a run instead`);
    expect(readdirSync(moved).sort()).toEqual(['plan.json', 'results_baseline', 'results_magnitude']);
    expect(read(join(moved, 'results_baseline'))).toEqual(before);
    expect(readFileSync(join(moved, 'plan.json'), 'utf8')).toBe(planBefore);
    // The new run's job folder holds only the new run: one epoch row per epoch, not two runs' rows.
    const csv = readdirSync(jobDir).filter((f) => f.endsWith('.csv'));
    expect(csv).toHaveLength(1);
    expect(readFileSync(join(jobDir, csv[0]!), 'utf8').trim().split('\n')).toHaveLength(3);
    // A third run gets its own previous folder; --resume moves nothing and skips the finished jobs.
    await run(plan, { note: () => undefined });
    expect(readdirSync(join(plan.output_dir, PREVIOUS_DIR))).toHaveLength(2);
    expect((await run(plan, { resume: true })).views.map((v) => v.status)).toEqual(['skipped', 'skipped']);
    expect(readdirSync(join(plan.output_dir, PREVIOUS_DIR))).toHaveLength(2);
  });
});


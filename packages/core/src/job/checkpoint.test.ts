import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCheckpoint } from '../train/index.js';
import { jobCheckpointsDir, latestJobCheckpoint, listJobCheckpoints, readInitCheckpoint, readJobCheckpoint, writeJobCheckpoint, type JobCheckpoint } from './checkpoint.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gbp-job-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A job checkpoint's shape with tiny arrays: what the reader checks is the layout, not a model. */
const checkpointAt = (step: number, pruner: JobCheckpoint['pruner'] = null): JobCheckpoint => ({
  job_id: 'j',
  timestamp: '20260101T000000Z',
  trainer: {
    position: { step } as never,
    weights: { w: Float32Array.from([step, 1]) },
    masks: { w: Float32Array.from([1, 0]) },
    optimizer: { step } as never,
  },
  pruner,
});

describe('job checkpoint', () => {
  it('latestJobCheckpoint: null for a job that wrote none, else the newest, typed, with path and step', async () => {
    expect(await latestJobCheckpoint(join(dir, 'never-ran'))).toBeNull();
    await writeJobCheckpoint(dir, 6, checkpointAt(6));
    const pruner = { name: 'p', state: { scores: Float32Array.from([0.5]) }, rng: { s: [1, 2, 3, 4] } as never };
    const newest = await writeJobCheckpoint(dir, 12, checkpointAt(12, pruner));
    const found = await latestJobCheckpoint(dir);
    expect(found).toMatchObject({ path: newest, step: 12 });
    expect(found!.checkpoint.trainer.weights.w).toEqual(Float32Array.from([12, 1]));
    expect(found!.checkpoint.pruner).toEqual(pruner);
    expect(await readJobCheckpoint(newest)).toEqual(found);
  });

  it('listJobCheckpoints: the step folders newest first, by name alone (a damaged one is listed; temp folders are not)', async () => {
    expect(await listJobCheckpoints(join(dir, 'never-ran'))).toEqual([]);
    const six = await writeJobCheckpoint(dir, 6, checkpointAt(6));
    const twelve = await writeJobCheckpoint(dir, 12, checkpointAt(12));
    await truncate(join(twelve, 'tensors.bin'), 3);
    await mkdir(join(jobCheckpointsDir(dir), '.gbp-tmp-step-000000018-1-abcdef'));
    expect(await listJobCheckpoints(dir)).toEqual([
      { path: twelve, step: 12 },
      { path: six, step: 6 },
    ]);
  });

  it('passes over a damaged newest checkpoint, telling why', async () => {
    const older = await writeJobCheckpoint(dir, 6, checkpointAt(6));
    const newer = await writeJobCheckpoint(dir, 12, checkpointAt(12));
    await truncate(join(newer, 'tensors.bin'), 3);
    const warnings: string[] = [];
    expect((await latestJobCheckpoint(dir, (w) => warnings.push(w)))?.path).toBe(older);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^checkpoint ${newer} failed its check and was skipped: .*truncated`))]);
  });

  it('refuses a checkpoint that is not a job checkpoint, naming the folder and the missing part', async () => {
    const path = await writeCheckpoint(jobCheckpointsDir(dir), 3, { trainer: { position: {}, masks: {}, optimizer: {} }, pruner: null });
    await expect(latestJobCheckpoint(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: `checkpoint ${path}: not a gbp job checkpoint (no trainer weights)` });
    const odd = await writeCheckpoint(join(dir, 'odd'), 1, { ...checkpointAt(1), pruner: 'movement' });
    await expect(readJobCheckpoint(odd)).rejects.toThrow(`checkpoint ${odd}: not a gbp job checkpoint (pruner is neither null nor {name, state, rng})`);
    await expect(readInitCheckpoint(odd, () => undefined)).rejects.toThrow(/not a gbp job checkpoint/);
  });

  it('readInitCheckpoint takes a step folder, a checkpoints folder or a job folder, and says what it expected', async () => {
    const path = await writeJobCheckpoint(dir, 6, checkpointAt(6));
    for (const where of [path, jobCheckpointsDir(dir), dir]) expect((await readInitCheckpoint(where, () => undefined)).trainer.weights.w).toEqual(Float32Array.from([6, 1]));
    await expect(readInitCheckpoint(join(dir, 'empty'), () => undefined)).rejects.toThrow(`init_checkpoint ${join(dir, 'empty')}: no checkpoint there (expected a step-* folder, a checkpoints folder or a job folder)`);
  });
});

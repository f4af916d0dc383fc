import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveJobSpec } from '@gbp/core';
import { defaultWorkerCache, fromOtherJobs, resumePoint, workFolder } from './worker-folder.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-wfolder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('workFolder', () => {
  it('is root/<run>/<job>', () => {
    expect(workFolder('/shared', 'sweep-1', 'magnitude_sst2.s1')).toBe(join('/shared', 'sweep-1', 'magnitude_sst2.s1'));
  });
  it.each([
    ['run_id', '..', 'job'],
    ['run_id', 'a/b', 'job'],
    ['spec.id', 'run', '../x'],
    ['spec.id', 'run', ''],
  ])('refuses a %s that is not one plain segment (%j, %j)', (field, run, job) => {
    expect(() => workFolder('/shared', run, job)).toThrow(`queued job: ${field} ${JSON.stringify(field === 'run_id' ? run : job)} is not a plain folder name`);
  });
});

describe('defaultWorkerCache', () => {
  it('is under XDG_CACHE_HOME when set', () => {
    expect(defaultWorkerCache({ XDG_CACHE_HOME: '/c' })).toBe(join('/c', 'gbp', 'worker'));
  });
});

describe('resumePoint', () => {
  it('is null without checkpoints and the newest step with them', async () => {
    expect(await resumePoint(join(dir, 'none'))).toBeNull();
    for (const step of [4, 12, 8]) mkdirSync(join(dir, 'job', 'checkpoints', `step-${String(step).padStart(9, '0')}`), { recursive: true });
    expect(await resumePoint(join(dir, 'job'))).toBe(12);
  });
});

describe('fromOtherJobs', () => {
  const spec = resolveJobSpec({ id: 'pruned', task: 'sst2', model: { size: 'tiny' }, output_dir: '/submitter/results_pruned', init_checkpoint: '/submitter/results_dense', train: { distill: { teacher: '/submitter/results_dense' } } });
  const queued = { run_id: 'run1', spec, init_from_job: 'dense', teacher_from_job: 'dense' };

  it("points init_checkpoint and the teacher at the source job's work folder on this worker", async () => {
    const root = join(dir, 'shared');
    const source = join(root, 'run1', 'dense');
    mkdirSync(join(source, 'checkpoints', 'step-000000010'), { recursive: true });
    mkdirSync(join(source, 'model'), { recursive: true });
    writeFileSync(join(source, 'model', 'config.json'), '{}');
    const from = await fromOtherJobs(queued, root, 'wA');
    if ('problem' in from) throw new Error(from.problem);
    const moved = from.apply(spec);
    expect(moved.init_checkpoint).toBe(source);
    expect(moved.train.distill).toEqual({ ...spec.train.distill, teacher: source });
    // Nothing to move: the spec is kept as it is.
    const none = await fromOtherJobs({ run_id: 'run1', spec }, root, 'wA');
    expect('apply' in none && none.apply(spec)).toEqual(spec);
  });

  it("points model.from (a stage's job) at the source job's work folder, or says this worker cannot see its model", async () => {
    const finetune = resolveJobSpec({ id: 'finetune', task: 'sst2', model: { from: '/submitter/results_search' }, output_dir: '/submitter/results_finetune' });
    const fromSearch = { run_id: 'run2', spec: finetune, model_from_job: 'search' };
    const root = join(dir, 'shared-model');
    expect(await fromOtherJobs(fromSearch, root, 'wC')).toEqual({
      problem: `job finetune starts from job search's model, which is not on worker wC (looked in ${join(root, 'run2', 'search', 'model')}); give the workers a shared --checkpoint-dir (or run the pipeline on one worker)`,
    });
    const source = join(root, 'run2', 'search');
    mkdirSync(join(source, 'model'), { recursive: true });
    writeFileSync(join(source, 'model', 'config.json'), '{}');
    const from = await fromOtherJobs(fromSearch, root, 'wC');
    if ('problem' in from) throw new Error(from.problem);
    expect(from.apply(finetune).model).toEqual({ ...finetune.model, from: source });
  });

  it('says which job and folder a worker without a shared --checkpoint-dir cannot see', async () => {
    const root = join(dir, 'own-cache');
    expect(await fromOtherJobs(queued, root, 'wB')).toEqual({
      problem: `job pruned starts from job dense's checkpoint, which is not on worker wB (looked in ${join(root, 'run1', 'dense')}); give the workers a shared --checkpoint-dir (or run the pipeline on one worker)`,
    });
    mkdirSync(join(root, 'run1', 'dense', 'checkpoints', 'step-000000010'), { recursive: true });
    expect(await fromOtherJobs(queued, root, 'wB')).toEqual({
      problem: `job pruned distils from job dense's model, which is not on worker wB (looked in ${join(root, 'run1', 'dense', 'model')}); give the workers a shared --checkpoint-dir (or run the pipeline on one worker)`,
    });
  });
});

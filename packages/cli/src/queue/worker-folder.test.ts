import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultWorkerCache, resumePoint, workFolder } from './worker-folder.js';

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

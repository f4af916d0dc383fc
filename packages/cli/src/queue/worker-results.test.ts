import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobFiles } from './worker-results.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-wresults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('jobFiles', () => {
  it("lists a job folder's files '/'-separated, checkpoints/ only when asked", async () => {
    mkdirSync(join(dir, 'model'), { recursive: true });
    mkdirSync(join(dir, 'checkpoints', 'step-000000004'), { recursive: true });
    for (const file of ['results_x.csv', 'model/weights.bin', 'checkpoints/step-000000004/manifest.json', 'checkpoints-notes.txt']) writeFileSync(join(dir, file), file);
    expect(await jobFiles(dir, { checkpoints: false })).toEqual(['checkpoints-notes.txt', 'model/weights.bin', 'results_x.csv']);
    expect(await jobFiles(dir, { checkpoints: true })).toEqual(['checkpoints-notes.txt', 'checkpoints/step-000000004/manifest.json', 'model/weights.bin', 'results_x.csv']);
  });
});

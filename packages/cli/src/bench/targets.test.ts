import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJobFolder, writeModelFixture } from '../../test/fixtures/bench-folders.js';
import { UsageError } from '../args.js';
import { findTargets } from './targets.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-bench-targets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pipeline = join(root, 'pipe');
const modelDir = join(root, 'exported');
beforeAll(async () => {
  // Ids sort with the pruned jobs before the baseline: discovery must still put the dense one first.
  await writeJobFolder(pipeline, 'a_magnitude_s50', 'magnitude', 0.5);
  await writeJobFolder(pipeline, 'b_movement_s75', 'movement', 0.75);
  await writeJobFolder(pipeline, 'c_failed', 'spt', 0.2, { model: false });
  await writeJobFolder(pipeline, 'z_baseline', 'baseline', 0);
  await writeModelFixture(modelDir);
});

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('findTargets', () => {
  it('a size preset, a model folder (labelled by its path) and a job folder (by its job id, with its method)', () => {
    const { targets } = findTargets(['tiny', 'exported', join(pipeline, 'results_b_movement_s75')], root);
    expect(targets).toEqual([
      { kind: 'preset', label: 'tiny', preset: 'tiny' },
      { kind: 'folder', label: 'exported', path: modelDir },
      { kind: 'folder', label: 'b_movement_s75', path: join(pipeline, 'results_b_movement_s75', 'model'), job: 'b_movement_s75', method: 'movement' },
    ]);
  });

  it('a pipeline folder: every job with model/, the dense baseline first; jobs without model/ are skipped and named', () => {
    const { targets, skipped } = findTargets([pipeline], root);
    expect(targets.map((t) => t.label)).toEqual(['z_baseline', 'a_magnitude_s50', 'b_movement_s75']);
    expect(skipped).toEqual([join(pipeline, 'results_c_failed')]);
  });

  it('a job that ended at sparsity 0 counts as dense whatever its method', async () => {
    const p = join(root, 'zero');
    await writeJobFolder(p, 'a_movement_s50', 'movement', 0.5);
    await writeJobFolder(p, 'b_movement_s0', 'movement', 0);
    expect(findTargets([p], root).targets.map((t) => t.label)).toEqual(['b_movement_s0', 'a_movement_s50']);
  });

  it('the same label twice gets #2', () => {
    expect(findTargets(['tiny', 'tiny'], root).targets.map((t) => t.label)).toEqual(['tiny', 'tiny#2']);
  });

  it('refuses, in one error naming each, an unknown target, a file, a job without model/, a folder of nothing, a broken model/', () => {
    writeFileSync(join(root, 'notes.txt'), 'x');
    mkdirSync(join(root, 'empty'));
    mkdirSync(join(root, 'broken', 'model'), { recursive: true });
    writeFileSync(join(root, 'broken', 'model', 'config.json'), '{"format": "other"}');
    const message = errorOf(() =>
      findTargets(['tni', 'notes.txt', join(pipeline, 'results_c_failed'), 'empty', 'broken', 'tiny'], root),
    );
    expect(message.split('\n')).toEqual([
      'gbp bench: tni: no such folder, and not a size preset (tiny, small, base, large)',
      'gbp bench: notes.txt: not a folder; give a size preset (tiny, small, base, large), a model folder, a job results folder or a pipeline results folder',
      `gbp bench: ${join(pipeline, 'results_c_failed')}: a job results folder without model/ (a job writes it when it finishes; this one failed, was stopped, or ran on an older gbp)`,
      'gbp bench: empty: not a model folder (no config.json of format gbp-model), a job results folder (no model/) or a pipeline results folder (no results_* job folders)',
      `gbp bench: ${join(root, 'broken', 'model')}: not a gbp model folder (expected config.json with "format": "gbp-model")`,
    ]);
  });

  it('refuses a pipeline folder none of whose jobs has model/', async () => {
    const p = join(root, 'old');
    await writeJobFolder(p, 'x', 'baseline', 0, { model: false });
    expect(errorOf(() => findTargets([p], root))).toBe(`gbp bench: ${p}: none of its 1 job folders has model/ (results_x)`);
  });
});

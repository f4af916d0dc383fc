import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, latestCheckpoint, readCheckpoint, readLatestCheckpoint, writeCheckpoint } from './checkpoint.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gbp-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stateAt = (step: number) => ({
  weights: { w: Float32Array.from({ length: 64 }, (_, i) => i * 0.5 + step), b: Float32Array.from([step, -step]) },
  masks: { w: new Uint8Array(64).fill(1) },
  step,
});

/** Checkpoints 6 and 12, as a two-epoch job leaves them; returns their paths. */
async function twoCheckpoints() {
  const older = await writeCheckpoint(dir, 6, stateAt(6));
  const newer = await writeCheckpoint(dir, 12, stateAt(12));
  return { older, newer };
}

/** The fallback from a damaged newest checkpoint: the older one, with the reason passed to onSkip. */
async function expectFallback(damaged: string, older: string, reason: RegExp) {
  const skipped: { path: string; message: string }[] = [];
  const found = await readLatestCheckpoint(dir, { onSkip: (path, error) => skipped.push({ path, message: error.message }) });
  expect(found?.path).toBe(older);
  expect(found?.state).toEqual(stateAt(6));
  expect(skipped).toHaveLength(1);
  expect(skipped[0]!.path).toBe(damaged);
  expect(skipped[0]!.message).toMatch(reason);
  await expect(readCheckpoint(damaged)).rejects.toThrow(reason);
}

describe('checkpoint integrity', () => {
  it('a truncated tensors.bin is refused (not read as zeros) and latest falls back to the previous one', async () => {
    const { older, newer } = await twoCheckpoints();
    const bin = join(newer, 'tensors.bin');
    const size = (await readFile(bin)).length;
    await truncate(bin, size - 40);
    await expectFallback(newer, older, new RegExp(`${bin}: ${size - 40} bytes, but manifest.json expects ${size}; the file is truncated`));
  });

  it('an emptied tensors.bin is refused and latest falls back', async () => {
    const { older, newer } = await twoCheckpoints();
    await writeFile(join(newer, 'tensors.bin'), '');
    await expectFallback(newer, older, /tensors.bin: 0 bytes, but manifest.json expects \d+; the file is truncated/);
  });

  it('a flipped byte fails its sha256, naming the array, and latest falls back', async () => {
    const { older, newer } = await twoCheckpoints();
    const bin = join(newer, 'tensors.bin');
    const bytes = await readFile(bin);
    // layout: weights.w 0..256, weights.b 256..264, masks.w 264..328
    bytes[300] = bytes[300]! ^ 0x01;
    await writeFile(bin, bytes);
    await expectFallback(newer, older, /tensors.bin: bytes 264..328 \(state.masks.w\) do not match their sha256 in manifest.json; the file is corrupted/);
  });

  it('a truncated manifest.json is refused and latest falls back', async () => {
    const { older, newer } = await twoCheckpoints();
    const manifest = join(newer, 'manifest.json');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).slice(0, 50));
    await expectFallback(newer, older, new RegExp(`${manifest}: cannot read the manifest: not valid JSON, probably truncated`));
  });

  it('fails naming the folder and each reason when no checkpoint is intact', async () => {
    const { older, newer } = await twoCheckpoints();
    await writeFile(join(newer, 'tensors.bin'), '');
    await rm(join(older, 'manifest.json'));
    const error = await readLatestCheckpoint(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(new RegExp(`^no intact checkpoint in ${dir}; each one failed its check:\n  step-000000012: .*tensors.bin: 0 bytes`));
    expect((error as Error).message).toMatch(/\n {2}step-000000006: .*manifest.json: cannot read the manifest: ENOENT/);
    await expect(latestCheckpoint(dir)).rejects.toThrow(/no intact checkpoint/);
    // nothing was deleted
    expect((await readdir(dir)).sort()).toEqual(['step-000000006', 'step-000000012']);
  });

  it('an intact newest checkpoint is taken without warnings; no checkpoints at all gives null', async () => {
    const { newer } = await twoCheckpoints();
    const skipped: string[] = [];
    expect(await latestCheckpoint(dir, { onSkip: (path) => skipped.push(path) })).toBe(newer);
    expect(skipped).toEqual([]);
    expect(await latestCheckpoint(join(dir, 'none'))).toBeNull();
  });

  it('refuses a manifest whose step differs from its folder', async () => {
    const { newer } = await twoCheckpoints();
    const moved = join(dir, 'step-000000018');
    await mkdir(moved);
    await writeFile(join(moved, 'manifest.json'), await readFile(join(newer, 'manifest.json')));
    await writeFile(join(moved, 'tensors.bin'), await readFile(join(newer, 'tensors.bin')));
    await expect(readCheckpoint(moved)).rejects.toThrow(/manifest.json: the manifest is for step 12, the folder for step 18/);
  });
});

describe('checkpoint temp folders', () => {
  it("removes only gbp's own leftovers of dead processes, never a user's folder", async () => {
    const mine = join(dir, '.tmp-step-mine');
    await mkdir(mine, { recursive: true });
    await writeFile(join(mine, 'notes.txt'), 'keep me');
    // pid_max on Linux is at most 2^22: this pid never exists
    const dead = join(dir, '.gbp-tmp-step-000000003-99999999-AbC123');
    const live = join(dir, `.gbp-tmp-step-000000004-${process.ppid}-xyz789`);
    const lookalike = join(dir, '.gbp-tmp-step-000000005-99999999-AbC123-mine');
    for (const d of [dead, live, lookalike]) await mkdir(d);
    await writeCheckpoint(dir, 6, stateAt(6));
    expect((await readdir(dir)).sort()).toEqual(['.gbp-tmp-step-000000004-' + process.ppid + '-xyz789', '.gbp-tmp-step-000000005-99999999-AbC123-mine', '.tmp-step-mine', 'step-000000006'].sort());
    expect(await readFile(join(mine, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});

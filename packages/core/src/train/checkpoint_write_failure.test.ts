// A disk that fills up while tensors.bin is written: node:fs/promises' open() is wrapped (only in
// this file) so that writes to a tensors.bin fail with ENOSPC after the first one.
import { describe, expect, it, vi } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const open: typeof fs.open = async (...args) => {
    const handle = await fs.open(...args);
    if (String(args[0]).endsWith('tensors.bin')) {
      let writes = 0;
      const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
      (handle as unknown as { write: unknown }).write = async (...a: unknown[]) => {
        if (++writes > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
        return write(...a);
      };
    }
    return handle;
  };
  return { ...fs, open, default: { ...fs, open } };
});

const { latestCheckpoint, writeCheckpoint } = await import('./checkpoint.js');

describe('a checkpoint write that fails', () => {
  it('names the checkpoint and the cause, removes its temp folder and leaves earlier checkpoints alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbp-ckpt-full-'));
    try {
      // one array: one write, which succeeds
      const kept = await writeCheckpoint(dir, 6, { weights: Float32Array.from([1, 2, 3]) });
      const error = await writeCheckpoint(dir, 12, { weights: Float32Array.from([1, 2, 3]), masks: new Uint8Array(3) }).then(
        () => new Error('the write succeeded'),
        (e: unknown) => e as Error,
      );
      expect(error.message).toMatch(
        new RegExp(`^checkpoint ${join(dir, 'step-000000012')}: could not write it \\(ENOSPC: no space left on device, write\\); removed the partial copy ${join(dir, '.gbp-tmp-step-000000012-')}${process.pid}-\\w{6}; earlier checkpoints are untouched$`),
      );
      expect(error).toMatchObject({ name: 'CheckpointError', code: 'CHECKPOINT_WRITE_FAILED' });
      expect(await readdir(dir)).toEqual(['step-000000006']);
      expect(await latestCheckpoint(dir)).toBe(kept);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

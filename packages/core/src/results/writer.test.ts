import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunWriter, epochsToCsv, existingTimestamp, fileTimestamp } from './writer.js';
import type { EpochRecord } from '../events.js';
import { fillDisk, mountTinyDisk } from '../testing/tiny-disk.js';

const record = (epoch: number, acc: number): EpochRecord => ({
  epoch,
  step: epoch * 10,
  lr: 0.001,
  train_loss: 0.5,
  eval_loss: Number.NaN,
  metrics: { accuracy: acc, f1: 0.5 },
  sparsity: 0.25,
  wall_time_s: 1.5,
});

describe('results writer', () => {
  it('CSV has the contract columns, one row per epoch, empty cells for NaN', () => {
    const csv = epochsToCsv([record(1, 0.7), record(2, 0.8)], ['accuracy', 'f1']);
    expect(csv.split('\n')).toEqual([
      'epoch,step,lr,train_loss,eval_loss,accuracy,f1,sparsity,wall_time_s',
      '1,10,0.001,0.5,,0.7,0.5,0.25,1.5',
      '2,20,0.001,0.5,,0.8,0.5,0.25,1.5',
      '',
    ]);
  });

  it('writes files atomically, appends events in order, and finds the timestamp again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbp-results-'));
    try {
      const ts = fileTimestamp(new Date('2025-01-31T14:25:01.123Z'));
      expect(ts).toBe('20250131T142501Z');
      const writer = new RunWriter(join(dir, 'job'), 'path/to/my pruner', ts);
      await writer.writeEpochs([record(1, 0.7)], ['accuracy']);
      for (let i = 0; i < 20; i++) void writer.appendEvent({ type: 'log', job_id: 'j', level: 'info', message: `m${i}`, time: i });
      await writer.flush();
      await writer.writeSparsity({ global: 0.5, gates: {} });
      const names = (await readdir(join(dir, 'job'))).sort();
      expect(names).toEqual(['events.ndjson', `results_path_to_my_pruner_${ts}.csv`, `sparsity_path_to_my_pruner_${ts}.json`]);
      const lines = (await readFile(writer.files.events, 'utf8')).trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
      expect(await existingTimestamp(join(dir, 'job'), 'path/to/my pruner')).toBeNull();
      await writer.writeMetadata({ job_id: 'j' } as never);
      expect(await existingTimestamp(join(dir, 'job'), 'path/to/my pruner')).toBe(ts);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const disk = mountTinyDisk(256);
  if (!disk.mounted) console.warn(`full-disk test skipped: ${disk.skip}`);
  afterAll(() => (disk.mounted ? disk.unmount() : undefined));
  it.skipIf(!disk.mounted)('on a full disk names the file; event appends go on once there is room again', async () => {
    if (!disk.mounted) return;
    const writer = new RunWriter(join(disk.dir, 'job'), 'magnitude', '20250101T000000Z');
    await writer.appendEvent({ type: 'log', job_id: 'j', level: 'info', message: 'before', time: 1 });
    const filler = fillDisk(disk.dir);
    await expect(writer.writeMetadata({ job_id: 'j' } as never)).rejects.toThrow(`cannot write ${writer.files.metadata}: ENOSPC: no space left on device`);
    await expect(writer.appendEvent({ type: 'log', job_id: 'j', level: 'info', message: 'x'.repeat(8192), time: 2 })).rejects.toThrow(
      `cannot write ${writer.files.events}: ENOSPC: no space left on device`,
    );
    expect((await readdir(writer.dir)).sort()).toEqual(['events.ndjson']);
    rmSync(filler);
    await writer.appendEvent({ type: 'log', job_id: 'j', level: 'info', message: 'after', time: 3 });
    const messages = (await readFile(writer.files.events, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message);
    // The line that did not fit is gone whole: no torn line for the next one to glue onto.
    expect(messages).toEqual(['before', 'after']);
  });
});

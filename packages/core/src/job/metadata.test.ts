import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EpochRecord, SparsityReport } from '../events.js';
import { getTask } from '../data/index.js';
import { RunWriter } from '../results/index.js';
import { resolveJobSpec } from './spec.js';
import { JobRecorder, bestRecord } from './metadata.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gbp-job-meta-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (epoch: number, metrics: Record<string, number>): EpochRecord => ({ epoch, step: epoch * 6, lr: 1e-3, train_loss: 1 / epoch, eval_loss: 1, metrics, sparsity: 0.1 * epoch, wall_time_s: epoch });
const sparsity: SparsityReport = { global: 0.2, gates: {} } as never;

describe('job metadata', () => {
  it('the best epoch is the one with the best primary metric, prefixed for mnli', () => {
    const sst2 = [record(1, { accuracy: 0.7 }), record(2, { accuracy: 0.8 }), record(3, { accuracy: 0.75 })];
    expect(bestRecord(getTask('sst2'), sst2)?.epoch).toBe(2);
    const mnli = [record(1, { 'matched/accuracy': 0.6, 'mismatched/accuracy': 0.9 }), record(2, { 'matched/accuracy': 0.65, 'mismatched/accuracy': 0.5 })];
    expect(bestRecord(getTask('mnli'), mnli)?.epoch).toBe(2);
    expect(bestRecord(getTask('sst2'), [])).toBeUndefined();
  });

  it('JobRecorder writes metadata.json as the run goes: running, then done with final and best metrics', async () => {
    const spec = resolveJobSpec({ id: 'meta', task: 'sst2', output_dir: dir });
    const writer = new RunWriter(dir, spec.method, '20260101T000000Z');
    const startedAt = new Date('2026-01-01T00:00:00Z');
    const recorder = await JobRecorder.start(writer, { spec, task: getTask('sst2'), backend: { name: 'cpu' } as never, modelInfo: { params: 1 } as never, startedAt });
    const read = async () => JSON.parse(await readFile(writer.files.metadata, 'utf8')) as Record<string, unknown>;
    expect(await read()).toMatchObject({ job_id: 'meta', method: 'baseline', status: 'running', epochs_completed: 0, best_epoch: null, started_at: startedAt.toISOString(), timestamp: '20260101T000000Z' });
    expect((await read()).versions).toMatchObject({ '@gbp/core': expect.stringMatching(/^\d+\.\d+\.\d+/) });

    const records = [record(1, { accuracy: 0.8 }), record(2, { accuracy: 0.7 })];
    await recorder.epochs(records, sparsity);
    await recorder.status('done', records);
    expect(await read()).toMatchObject({ status: 'done', final_metrics: { accuracy: 0.7 }, best_metrics: { accuracy: 0.8 }, best_epoch: 1, sparsity: 0.2, epochs_completed: 2 });
    expect((await readFile(writer.files.csv, 'utf8')).trim().split('\n')).toHaveLength(3);
    await recorder.status('failed', records, { error: { message: 'boom' } });
    expect(await read()).toMatchObject({ status: 'failed', error: { message: 'boom' } });
    expect(recorder.result(dir, records, sparsity)).toMatchObject({ job_id: 'meta', output_dir: dir, final_metrics: { accuracy: 0.7 }, best_metrics: { accuracy: 0.8 }, files: writer.files });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from './rng.js';
import { resolveJobSpec, runJob, type PartialJobSpec } from './job.js';
import type { JobEvent } from './events.js';
import { isModelFolder } from './model/index.js';
import type { SupernetRecord } from './job/supernet.js';

let root: string;
const WORDS = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'movie', 'film', 'the', 'a', 'plot', 'acting', 'was', 'very', 'not'];

/** A small sst2-shaped data set: positive iff it contains a positive word. */
async function writeSyntheticSst2(dir: string) {
  const rng = new Rng(3);
  const line = (i: number) => {
    const label = rng.int(2);
    const words = Array.from({ length: 3 + rng.int(6) }, () => WORDS[6 + rng.int(WORDS.length - 6)]!);
    words.splice(rng.int(words.length), 0, WORDS[label === 1 ? rng.int(3) : 3 + rng.int(3)]!);
    return JSON.stringify({ sentence: words.join(' '), label, idx: i });
  };
  await mkdir(join(dir, 'sst2'), { recursive: true });
  await writeFile(join(dir, 'sst2', 'train.jsonl'), `${Array.from({ length: 96 }, (_, i) => line(i)).join('\n')}\n`);
  await writeFile(join(dir, 'sst2', 'validation.jsonl'), `${Array.from({ length: 40 }, (_, i) => line(i)).join('\n')}\n`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-supernet-job-'));
  await writeSyntheticSst2(join(root, 'data'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const SPACE = { layers: [1, 2], heads: [2, 4], ffn: [32, 64] };

const spec = (name: string, extra: Partial<PartialJobSpec> = {}) =>
  resolveJobSpec({
    id: name,
    task: 'sst2',
    backend: 'wasm',
    model: { size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 120, max_len: 16 },
    train: { epochs: 2, batch_size: 16, learning_rate: 2e-3, seed: 9 },
    data: { dir: join(root, 'data'), source: 'local', offline: true, cache_dir: join(root, 'cache') },
    supernet: { space: SPACE, importance_batches: 2 },
    output_dir: join(root, 'out', name),
    ...extra,
  } as PartialJobSpec);

const readRecord = async (dir: string) => JSON.parse(await readFile(join(dir, 'supernet.json'), 'utf8')) as SupernetRecord;

describe('the supernet job', () => {
  it('trains on the threads asked for (each runs the step\'s sub-networks on its shard), rewires at the start, writes model/ and supernet.json with the space, the orders and the largest and smallest sub-networks\' metrics', async () => {
    const s = spec('straight', { train: { epochs: 2, batch_size: 16, learning_rate: 2e-3, seed: 9, threads: 2 } as never });
    const events: JobEvent[] = [];
    const result = await runJob(s, (e) => events.push(e));
    const logs = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs.find((m) => m.startsWith('training on'))).toMatch(/^training on 2 threads/);
    expect(events.find((e) => e.type === 'start')).toMatchObject({ backend: { threads: 2 } });
    expect(logs.find((m) => m.startsWith('rewired the supernet'))).toMatch(/^rewired the supernet by importance over 2 training batches: \d+ heads and \d+ FFN neurons moved, most important first in every layer \(orders in supernet\.json\)$/);
    expect(isModelFolder(join(s.output_dir, 'model'))).toBe(true);
    expect(result.files.supernet).toBe(join(s.output_dir, 'supernet.json'));

    const record = await readRecord(s.output_dir);
    expect(record.space).toEqual(SPACE);
    expect(record.random_subnets).toBe(2);
    expect(record.rewired?.importance_batches).toBe(2);
    for (const order of record.rewired!.heads) expect([...order].sort()).toEqual([0, 1, 2, 3]);
    for (const order of record.rewired!.neurons) expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(record.largest).toMatchObject({ key: 'L2-h4,4-f64,64', arch: { layers: 2, heads: [4, 4], ffn: [64, 64] } });
    expect(record.smallest).toMatchObject({ key: 'L1-h2-f32', arch: { layers: 1, heads: [2], ffn: [32] } });
    // The largest is the full model here: its metrics are the last epoch's evaluation.
    expect(record.largest!.metrics.accuracy).toBeCloseTo(result.final_metrics.accuracy!, 6);
    expect(record.largest!.eval_loss).toBeCloseTo(result.epochs[1]!.eval_loss, 5);
    expect(record.smallest!.metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(record.smallest!.eval_loss).toBeGreaterThan(0);
  });

  it('aborted and resumed, it ends with the model.safetensors of a run straight through, byte for byte', async () => {
    const straight = await runJob(spec('resume-straight'), () => undefined);
    const s = spec('resume-aborted');
    const controller = new AbortController();
    const run = runJob(s, (e) => e.type === 'progress' && e.step >= 5 && controller.abort(), { signal: controller.signal });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const events: JobEvent[] = [];
    const resumed = await runJob({ ...s, resume: true }, (e) => events.push(e));
    expect(events.find((e) => e.type === 'start')).toMatchObject({ start_step: expect.any(Number) });
    expect((events.find((e) => e.type === 'start') as { start_step: number }).start_step).toBeGreaterThanOrEqual(5);
    // A resume does not rewire again (its checkpoint holds rewired weights).
    expect(events.some((e) => e.type === 'log' && e.message.startsWith('rewired'))).toBe(false);
    const weights = async (dir: string) => readFile(join(dir, 'model', 'model.safetensors'));
    expect(Buffer.compare(await weights(s.output_dir), await weights(straight.output_dir))).toBe(0);
    expect(resumed.epochs.map((r) => r.train_loss)).toEqual(straight.epochs.map((r) => r.train_loss));
    const [a, b] = [await readRecord(s.output_dir), await readRecord(straight.output_dir)];
    expect(a).toEqual(b);
  });

  it('a resume without supernet.json, or with another space, fails before training, naming the file and the field', async () => {
    const s = spec('resume-no-record');
    const controller = new AbortController();
    await expect(runJob(s, (e) => e.type === 'progress' && e.step >= 2 && controller.abort(), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const record = join(s.output_dir, 'supernet.json');
    const other = { ...s, resume: true, supernet: { ...s.supernet!, space: { ...SPACE, heads: [1, 4] } } };
    await expect(runJob(other, () => undefined)).rejects.toThrow(
      `cannot resume the supernet job: supernet.space is {"layers":[1,2],"heads":[1,4],"ffn":[32,64]}, but the job started with {"layers":[1,2],"heads":[2,4],"ffn":[32,64]} (${record}); resume with the same, or run the job afresh (resume: false)`,
    );
    await rm(join(s.output_dir, 'supernet.json'));
    const events: JobEvent[] = [];
    await expect(runJob({ ...s, resume: true }, (e) => events.push(e))).rejects.toThrow(
      `cannot resume the supernet job: ${join(s.output_dir, 'supernet.json')} is missing (ENOENT); it records the rewiring done at the start; run the job afresh (resume: false)`,
    );
    expect(events.some((e) => e.type === 'start')).toBe(false);
  });

  it('a space the model cannot hold fails before the data is read or a step trained, naming supernet.space.heads', async () => {
    const s = spec('bad-space', { supernet: { space: { heads: [2, 8], ffn: [] } } as never });
    const events: JobEvent[] = [];
    await expect(runJob(s, (e) => events.push(e))).rejects.toThrow("supernet.space.heads: 8 is more than the model's 4 heads\nsupernet.space.ffn: an empty list (give at least one value, or leave it out to keep the model's 64)");
    expect(events.some((e) => e.type === 'log' && (e as { source?: string }).source === 'data')).toBe(false);
    expect(events.some((e) => e.type === 'start' || e.type === 'progress')).toBe(false);
    expect(events.find((e) => e.type === 'failed')).toMatchObject({ error: { message: expect.stringContaining('supernet.space.heads: 8') } });
    expect(existsSync(join(s.output_dir, 'checkpoints'))).toBe(false);
    expect(existsSync(join(s.output_dir, 'supernet.json'))).toBe(false);
  });

  it('from a dense stage (init_checkpoint), it rewires the loaded weights, not fresh ones', async () => {
    const dense = resolveJobSpec({ ...spec('dense'), supernet: undefined, train: { epochs: 1, batch_size: 16, learning_rate: 2e-3, seed: 9 } } as PartialJobSpec);
    await runJob(dense, () => undefined);
    const s = spec('from-dense', { init_checkpoint: dense.output_dir, train: { epochs: 1, batch_size: 16, learning_rate: 2e-3, seed: 9 } as never });
    const logs: string[] = [];
    await runJob(s, (e) => e.type === 'log' && logs.push(e.message));
    const loaded = logs.indexOf(`initialised weights and masks from ${dense.output_dir}`);
    const rewired = logs.findIndex((m) => m.startsWith('rewired the supernet'));
    expect(loaded).toBeGreaterThanOrEqual(0);
    expect(rewired).toBeGreaterThan(loaded);
  });

  it('with rewire off, it records rewired: null and moves nothing; a space smaller than the model is trained, with a warning', async () => {
    const space = { layers: [1, 2], heads: [1, 2], ffn: [32, 64] };
    const s = spec('no-rewire', { train: { epochs: 1, batch_size: 32, learning_rate: 2e-3, seed: 9 } as never, supernet: { space, rewire: false, random_subnets: 0 } as never });
    const events: JobEvent[] = [];
    await runJob(s, (e) => events.push(e));
    expect(events.some((e) => e.type === 'log' && e.message.startsWith('rewired'))).toBe(false);
    expect(events.filter((e) => e.type === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message)).toEqual([
      "supernet.space: its largest sub-network L2-h2,2-f64,64 is smaller than the model (2 layers, 4 heads, FFN 64); the epoch evaluations are of the full model, whose parts outside the space are not trained: supernet.json has the largest's metrics",
    ]);
    const record = await readRecord(s.output_dir);
    expect(record).toMatchObject({ rewired: null, random_subnets: 0, space, largest: { key: 'L2-h2,2-f64,64' }, smallest: { key: 'L1-h1-f32' } });
    expect(record.largest?.metrics.accuracy).toBeTypeOf('number');
  });
});

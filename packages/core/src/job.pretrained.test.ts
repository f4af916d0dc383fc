/**
 * A job that starts from a pretrained model (model.from): the fixture's Hugging Face checkpoint is
 * its starting point, its vocabulary the job's tokenizer, max_len cuts the position table; the spec
 * refuses shape fields beside model.from. Skips without the fixture or SST-2.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobSpecError, resolveJobSpec, runJob } from './job.js';
import type { JobEvent } from './events.js';
import { importHfFolder } from './model/hf-import.js';
import { readModelFolder } from './model/folder.js';
import { REFERENCE_MODEL_DIR } from './testing/reference-model.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const fixture = REFERENCE_MODEL_DIR;
const dataDir = process.env.GBP_DATA_DIR ?? join(repoRoot, '..', 'shared', 'data', 'glue');
const present = existsSync(join(fixture, 'model.safetensors')) && existsSync(join(dataDir, 'sst2', 'train.jsonl'));
if (!present) console.warn(`job.pretrained.test: skipped, needs ${fixture} and SST-2 in ${dataDir}`);

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'gbp-pretrained-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

const base = (id: string, model: Record<string, unknown>, train: Record<string, unknown> = {}) =>
  resolveJobSpec({
    id,
    task: 'sst2',
    backend: 'wasm',
    model: { from: fixture, ...model },
    train: { epochs: 1, batch_size: 16, max_train_examples: 64, max_eval_examples: 32, seed: 3, ...train },
    data: { dir: dataDir, source: 'local', offline: true, cache_dir: join(out, 'cache') },
    output_dir: join(out, id),
  });

describe('model.from in the job spec', () => {
  it('refuses size and shape fields beside model.from, by name', () => {
    const refuse = (model: Record<string, unknown>) => () =>
      resolveJobSpec({ task: 'sst2', output_dir: '/tmp/x', model: { from: 'org/name', ...model } as never });
    expect(refuse({ size: 'tiny' })).toThrow(JobSpecError);
    expect(refuse({ size: 'tiny' })).toThrow(/model\.size: cannot be set with model\.from \(org\/name gives the shape\)/);
    expect(refuse({ d_model: 64, num_layers: 2 })).toThrow(/model\.num_layers: cannot be set[\s\S]*model\.d_model: cannot be set/);
    expect(resolveJobSpec({ task: 'sst2', output_dir: '/tmp/x', model: { from: 'org/name', max_len: 32, dropout_rate: 0 } }).model).toEqual({
      from: 'org/name',
      max_len: 32,
      dropout_rate: 0,
    });
  });
});

describe.skipIf(!present)('a job from the reference checkpoint', () => {
  it('starts from its weights with its vocabulary, max_len cutting the position table', async () => {
    // A learning rate this small leaves the weights as they were loaded (to float32 rounding).
    const spec = base('from-ref', { max_len: 32 }, { learning_rate: 1e-12, weight_decay: 0 });
    const logs: string[] = [];
    const result = await runJob(spec, (e: JobEvent) => {
      if (e.type === 'log') logs.push(e.message);
    });
    expect(result.best_metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(logs.join('\n')).toContain(`model from ${fixture} (hf-folder: ${fixture}), tokenizer ${join(fixture, 'vocab.txt')} (lowercased)`);

    const saved = await readModelFolder(join(spec.output_dir, 'model'));
    expect(saved.config).toMatchObject({ size: 'imported', num_layers: 2, d_model: 64, num_heads: 4, dff: 128, vocab_size: 1036, max_len: 32, layer_norm_eps: 1e-12 });
    expect(saved.vocab).toBe(await readFile(join(fixture, 'vocab.txt'), 'utf8'));
    expect(saved.lowercase).toBe(true);
    const reference = await importHfFolder(fixture);
    let worst = 0;
    for (const [name, tensor] of reference.weights) {
      const got = saved.weights.get(name)!;
      const expected = name === 'embeddings.position_embeddings.weight' ? tensor.data.slice(0, 32 * 64) : tensor.data;
      expect(got.data.length, name).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - expected[i]!));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('refuses a max_len longer than the checkpoint allows before training', async () => {
    const spec = base('too-long', { max_len: 128 });
    await expect(runJob(spec, () => undefined)).rejects.toThrow(`model.max_len 128 is longer than ${fixture} allows (64 positions)`);
  });
});

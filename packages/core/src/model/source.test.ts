/**
 * model/source.ts: what a model reference resolves to (gbp model folder, job folder, Hugging Face
 * folder, Hub id) and the errors for everything else; fresh classifiers and max_len overrides.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/index.js';
import { parameterSpecs, resolveModelConfig } from './config.js';
import { writeModelFolder } from './folder.js';
import { locateModel, loadModel, readModelConfig, withOverrides } from './source.js';
import { parseHubRef } from './hub-model.js';
import type { NamedTensor } from './safetensors.js';
import { REFERENCE_MODEL_DIR } from '../testing/reference-model.js';

const fixture = REFERENCE_MODEL_DIR;
const present = existsSync(join(fixture, 'config.json'));
if (!present) console.warn(`[gbp] skipping the Hugging Face folder cases of source.test: no fixture at ${fixture}`);

let root: string;
let gbpFolder: string;
const config = { ...resolveModelConfig({ size: 'tiny', num_layers: 1, d_model: 16, num_heads: 2, dff: 32, vocab_size: 40, max_len: 12 }, 2) };

beforeAll(async () => {
  await initBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'gbp-source-'));
  gbpFolder = join(root, 'job', 'model');
  const weights = new Map<string, NamedTensor>();
  for (const s of parameterSpecs(config)) weights.set(s.name, { shape: [...s.shape], data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + s.name.length)) });
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b'].join('\n') + '\n';
  await writeModelFolder(gbpFolder, { config, task: 'sst2', weights, vocab, lowercase: false });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('locateModel', () => {
  it('finds a gbp model folder, a job folder (its model/) and a Hugging Face folder', async () => {
    expect(await locateModel(gbpFolder)).toMatchObject({ kind: 'gbp-model', format: 'gbp', dir: gbpFolder });
    expect(await locateModel(join(root, 'job'))).toMatchObject({ kind: 'job', format: 'gbp', dir: gbpFolder });
    if (present) expect(await locateModel(fixture)).toMatchObject({ kind: 'hf-folder', format: 'hf', dir: fixture });
  });

  it('says what is wrong with a path that is not a model', async () => {
    await expect(locateModel(join(root, 'missing'))).rejects.toThrow(/missing: no such folder/);
    await expect(locateModel('./nope/model')).rejects.toThrow(/no such folder/);
    const file = join(root, 'file.txt');
    await writeFile(file, 'x');
    await expect(locateModel(file)).rejects.toThrow(/a file, not a model folder/);
    const empty = join(root, 'empty');
    await mkdir(empty);
    await expect(locateModel(empty)).rejects.toThrow(/not a model folder \(expected a gbp model\/ folder, a job folder/);
    const unfinished = join(root, 'unfinished');
    await mkdir(join(unfinished, 'checkpoints'), { recursive: true });
    await expect(locateModel(unfinished)).rejects.toThrow(/a job folder without model\/ \(the job has not finished/);
  });
});

describe('parseHubRef', () => {
  it('reads org/name[@revision] and refuses what cannot be a Hub id', () => {
    expect(parseHubRef('prajjwal1/bert-mini')).toEqual({ id: 'prajjwal1/bert-mini', revision: 'main' });
    expect(parseHubRef('bert-base-uncased')).toEqual({ id: 'bert-base-uncased', revision: 'main' });
    expect(parseHubRef('google/bert_uncased_L-2_H-128_A-2@1a2b3c')).toEqual({ id: 'google/bert_uncased_L-2_H-128_A-2', revision: '1a2b3c' });
    expect(parseHubRef('a/b/c')).toBeUndefined();
    expect(parseHubRef('a/../b')).toBeUndefined();
    expect(parseHubRef('has space/x')).toBeUndefined();
  });
});

describe('loadModel', () => {
  it("reads a gbp folder's weights, task, vocabulary and casing", async () => {
    const loaded = await loadModel(join(root, 'job'));
    expect(loaded).toMatchObject({ kind: 'job', task: 'sst2', lowercase: false, freshClassifier: false, tokenizerPath: join(gbpFolder, 'vocab.txt') });
    expect(loaded.weights.get('classifier.bias')!.data[1]).toBeCloseTo(Math.sin(1 + 'classifier.bias'.length), 6);
  });

  it('gives a gbp model a fresh classifier for another label count, and says so', async () => {
    const said: string[] = [];
    const loaded = await loadModel(gbpFolder, { numLabels: 3, seed: 5, log: (m) => said.push(m) });
    expect(loaded.freshClassifier).toBe(true);
    expect(loaded.task).toBeUndefined();
    expect(loaded.config.num_labels).toBe(3);
    expect(loaded.weights.get('classifier.weight')!.shape).toEqual([16, 3]);
    expect(said.join('\n')).toMatch(/has a 2-label classifier \(task sst2\): created a fresh 3-label classifier \(seed 5\)/);
    // The encoder is untouched.
    expect(loaded.weights.get('pooler.dense.bias')!.data[0]).toBeCloseTo(Math.sin(0 + 'pooler.dense.bias'.length), 6);
  });

  it.skipIf(!present)('reads a Hugging Face folder with its vocab.txt and config', async () => {
    const loaded = await loadModel(fixture);
    expect(loaded).toMatchObject({ kind: 'hf-folder', format: 'hf', lowercase: true, tokenizerPath: join(fixture, 'vocab.txt'), freshClassifier: false });
    expect(loaded.config).toMatchObject({ size: 'imported', num_layers: 2, d_model: 64, num_heads: 4, dff: 128, max_len: 64, num_labels: 2 });
    const { config: onlyConfig } = await readModelConfig(fixture, { numLabels: 3 });
    expect(onlyConfig.num_labels).toBe(3);
  });
});

describe.skipIf(!present)('a Hub BERT whose config.json has no model_type (in the Hugging Face cache layout)', () => {
  it('loads it as BERT from its name, saying so through the log, in loadModel and readModelConfig', async () => {
    const snapshot = join(root, 'hub', 'models--prajjwal1--bert-mini', 'snapshots', '0123456789abcdef0123456789abcdef01234567');
    await mkdir(snapshot, { recursive: true });
    await cp(fixture, snapshot, { recursive: true });
    const { model_type: _, ...untyped } = JSON.parse(await readFile(join(fixture, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(snapshot, 'config.json'), JSON.stringify(untyped));
    const said: string[] = [];
    const loaded = await loadModel(snapshot, { log: (m) => said.push(m) });
    const reference = await loadModel(fixture);
    expect(loaded.config).toEqual(reference.config);
    const line = `${join(snapshot, 'config.json')}: no model_type; taken as "bert" from the model's name "prajjwal1/bert-mini", as transformers' AutoConfig does`;
    expect(said).toEqual([line]);
    said.length = 0;
    expect((await readModelConfig(snapshot, { log: (m) => said.push(m) })).config).toEqual(reference.config);
    expect(said).toEqual([line]);
  });
});

describe('withOverrides', () => {
  it('cuts the position table to a shorter max_len and refuses a longer one', async () => {
    const loaded = await loadModel(gbpFolder);
    const { config: shorter, weights } = withOverrides(loaded, { max_len: 5, dropout_rate: 0 });
    expect(shorter).toMatchObject({ max_len: 5, dropout_rate: 0 });
    const table = weights.get('embeddings.position_embeddings.weight')!;
    expect(table.shape).toEqual([5, 16]);
    expect(Array.from(table.data)).toEqual(Array.from(loaded.weights.get('embeddings.position_embeddings.weight')!.data.slice(0, 5 * 16)));
    expect(() => withOverrides(loaded, { max_len: 13 })).toThrow(/model.max_len 13 is longer than .* allows \(12 positions\)/);
  });
});

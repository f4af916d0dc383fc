/** The readers, tokenizer and batching on the real GLUE data of ../shared/data/glue (skipped when absent). */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataSpec, TaskName } from '../spec.js';
import { Rng } from '../rng.js';
import { makeBatches } from './batching.js';
import { loadSplit } from './load.js';
import { getTask } from './tasks.js';
import { loadTokenizer } from './tokenizer.js';

const dir = process.env.GBP_DATA_DIR || join(import.meta.dirname, '../../../../../shared/data/glue');
const present = existsSync(join(dir, 'sst2', 'train.jsonl'));
if (!present) console.warn(`[gbp] skipping real-GLUE tests: no data at ${dir} (set GBP_DATA_DIR or provide ../shared/data/glue)`);
const data: DataSpec = { dir, source: 'local', offline: true };

// sizes from ../shared/data/glue/README.md
const SIZES: Record<string, [number, number]> = {
  sst2: [60614, 6735],
  cola: [7700, 851],
  mrpc: [2576, 1500],
  stsb: [4249, 1500],
  rte: [1244, 139],
  wnli: [565, 70],
};

describe.skipIf(!present)('real GLUE data (../shared/data/glue)', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it.each(Object.entries(SIZES))('%s: every row of train and validation is valid', async (task, [train, validation]) => {
    const info = getTask(task as TaskName);
    for (const [split, size] of [['train', train], ['validation', validation]] as const) {
      const examples = await loadSplit(task as TaskName, split, data);
      expect(examples).toHaveLength(size);
      for (const e of examples) expect(e.texts).toHaveLength(info.textFields.length);
      if (!info.isRegression) expect(new Set(examples.map((e) => e.label)).size).toBe(info.numLabels);
    }
  });

  it('reads sst2 train (60k lines) fast, and a limit reads only the head', async () => {
    const started = performance.now();
    const all = await loadSplit('sst2', 'train', data);
    const fullMs = performance.now() - started;
    const head = await loadSplit('sst2', 'train', data, { limit: 100 });
    expect(head).toEqual(all.slice(0, 100));
    console.info(`[gbp] sst2 train: ${all.length} examples in ${fullMs.toFixed(0)} ms`);
    expect(fullMs).toBeLessThan(3000); // ~170 ms measured; generous for a loaded machine
  });

  it('cola end to end: trained vocabulary, encodeBatch, length-grouped batches', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gbp-real-'));
    roots.push(root);
    const train = await loadSplit('cola', 'train', data);
    const tokenizer = await loadTokenizer({ lowercase: true }, { vocabSize: 4000, trainTexts: () => train.map((e) => e.texts[0]!), cacheDir: root, cacheLabel: 'cola' });
    expect(tokenizer.vocabSize).toBe(4000);
    const encoded = await tokenizer.encodeBatch(train.map((e) => e.texts), 64);
    const unk = encoded.reduce((n, e) => n + e.ids.filter((id) => id === 1).length, 0);
    expect(unk).toBe(0); // every character of the training texts is in its own vocabulary
    const batches = makeBatches(encoded.map((e, i) => ({ ...e, label: train[i]!.label })), 32, { rng: new Rng(42), padId: tokenizer.padId });
    expect(batches.reduce((n, b) => n + b.batchSize, 0)).toBe(train.length);
    expect(Math.max(...batches.map((b) => b.seqLen))).toBeLessThanOrEqual(64);
  });
});

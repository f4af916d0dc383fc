/** A pipeline's `export: { format: tfjs }` stage: the same registry as `gbp export`; a model without a tokenizer is a note, not a lost run. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceModel, readModelFolder } from '@gbp/core';
import { padBatch, TextClassifier } from '@gbp/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJobFolder } from '../../test/fixtures/bench-folders.js';
import { fakePlan } from '../../test/fixtures/fake-plan.js';
import { exportJobs } from './export-jobs.js';
import type { JobView } from './job-view.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-export-jobs-tfjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const view = (id: string, outputDir: string) => ({ id, outputDir, status: 'done' }) as JobView;
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'abcdefghijklmnopqrstuvwxyz'.split('')];

describe('exportJobs, format tfjs', () => {
  it("writes a finished job's model as @gbp/runtime loads it, and notes a job whose model has no tokenizer", async () => {
    const withVocab = await writeJobFolder(root, 'pruned', 'movement', 0.5);
    writeFileSync(join(withVocab, 'model', 'vocab.txt'), `${VOCAB.join('\n')}\n`);
    const noVocab = await writeJobFolder(root, 'bare', 'movement', 0.5);
    const plan = { ...fakePlan(root, 'p', []), exports: [{ stage: 'web', jobs: ['pruned', 'bare'], format: 'tfjs', dtype: 'float32' }] };
    const notes: string[] = [];
    const written = await exportJobs(plan, [view('pruned', withVocab), view('bare', noVocab)], (n) => notes.push(n));

    const out = join(plan.output_dir, 'export_web', 'pruned');
    expect(written).toEqual([out]);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(notes[0]).toMatch(new RegExp(`^export web: pruned -> ${out} \\(tfjs, float32, [\\d,]+ parameters\\)$`));
    expect(notes).toContain(`export web: bare failed (its results are kept): ${join(noVocab, 'model')}: the model has no vocab.txt or tokenizer.json; the tfjs export ships the tokenizer the runtime needs (add the one it was trained with)`);

    const clf = await TextClassifier.load(out, { backend: 'cpu' });
    const model = await readModelFolder(join(withVocab, 'model'));
    const core = InferenceModel.fromWeights(model.config, model.weights);
    try {
      const encoded = clf.encode(['a b c', 'hello there']);
      const expected = core.logits(padBatch(encoded, clf.tokenizer.padId));
      expect(Array.from((await clf.logits(encoded)).flatMap((row) => Array.from(row)))).toEqual(Array.from(expected.dataSync()).map((v) => expect.closeTo(v, 5)));
      expected.dispose();
    } finally {
      clf.dispose();
      core.dispose();
    }
  });
});

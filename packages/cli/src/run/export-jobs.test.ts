/** A pipeline's export stages: finished jobs' models written as `gbp export` writes them; a failure is a note, not a lost run. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importHfFolder, initBackend, InferenceModel, readModelFolder } from '@gbp/core';
import { writeJobFolder } from '../../test/fixtures/bench-folders.js';
import { fakePlan } from '../../test/fixtures/fake-plan.js';
import { createOrtSession, ortFeeds } from '../export/onnx/ort.js';
import { exportJobs } from './export-jobs.js';
import type { JobView } from './job-view.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-export-jobs-'));
beforeAll(() => initBackend('cpu'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const view = (id: string, outputDir: string, status: JobView['status']) => ({ id, outputDir, status }) as JobView;

describe('exportJobs', () => {
  it("writes each finished job's model of the needed stages to export_<stage>/<job>/ and notes what failed", async () => {
    const done = await writeJobFolder(root, 'pruned', 'movement', 0.5, { model: true });
    const unfinished = await writeJobFolder(root, 'broken', 'movement', 0.5, { model: false });
    const failed = await writeJobFolder(root, 'failed', 'movement', 0.5, { model: true });
    const plan = { ...fakePlan(root, 'p', []), exports: [{ stage: 'hf', jobs: ['pruned', 'broken', 'failed'], format: 'hf', dtype: 'float32' }] };
    const notes: string[] = [];
    const written = await exportJobs(plan, [view('pruned', done, 'done'), view('broken', unfinished, 'done'), view('failed', failed, 'failed')], (n) => notes.push(n));

    const out = join(plan.output_dir, 'export_hf', 'pruned');
    expect(written).toEqual([out]);
    expect(readdirSync(join(plan.output_dir, 'export_hf'))).toEqual(['pruned']);
    expect(notes[0]).toMatch(new RegExp(`^export hf: pruned -> ${out} \\(hf, float32, [\\d,]+ parameters\\)$`));
    expect(notes).toContain(`export hf: broken failed (its results are kept): ${unfinished}: a job folder without model/ (the job has not finished; a finished job writes its model there)`);

    // The export is the job's model: the same logits through gbp's Hugging Face importer.
    const imported = await importHfFolder(out);
    const original = await readModelFolder(join(done, 'model'));
    const a = InferenceModel.fromWeights(original.config, original.weights);
    const b = InferenceModel.fromWeights(imported.config, imported.weights);
    const input = { inputIds: Int32Array.from([2, 7, 9, 3, 0]), typeIds: new Int32Array(5), attentionMask: Float32Array.from([1, 1, 1, 1, 0]), batchSize: 1, seqLen: 5 };
    const [la, lb] = [a.logits(input), b.logits(input)];
    expect(Array.from(lb.dataSync())).toEqual(Array.from(la.dataSync()).map((v) => expect.closeTo(v, 5)));
    [la, lb, a, b].forEach((t) => t.dispose());
  });

  it('an export stage of format onnx writes model.onnx that onnxruntime-node runs to the job model\'s logits', async () => {
    const done = await writeJobFolder(join(root, 'onnx'), 'pruned', 'movement', 0.5, { model: true });
    const plan = { ...fakePlan(join(root, 'onnx'), 'p', []), exports: [{ stage: 'to_onnx', jobs: ['pruned'], format: 'onnx', dtype: 'float32' }] };
    const notes: string[] = [];
    const out = join(plan.output_dir, 'export_to_onnx', 'pruned');
    expect(await exportJobs(plan, [view('pruned', done, 'done')], (n) => notes.push(n))).toEqual([out]);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.onnx']);
    const input = { inputIds: Int32Array.from([2, 7, 9, 3, 0]), typeIds: new Int32Array(5), attentionMask: Float32Array.from([1, 1, 1, 1, 0]), batchSize: 1, seqLen: 5 };
    const session = await createOrtSession(readFileSync(join(out, 'model.onnx')), 'model.onnx');
    const onnx = Array.from((await session.run(await ortFeeds(input))).logits!.data as Float32Array);
    await session.release();
    const model = await InferenceModel.fromFolder(join(done, 'model'));
    const logits = model.logits(input);
    expect(onnx).toEqual(Array.from(logits.dataSync()).map((v) => expect.closeTo(v, 4)));
    logits.dispose();
    model.dispose();
  });
});

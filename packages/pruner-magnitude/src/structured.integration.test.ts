import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceModel, readCompactionReport, resolveJobSpec, runJob } from '@gbp/core';
import { glueDataDir, tinyPruningJobSpec } from '@gbp/core/testing';

const dataDir = glueDataDir();
if (!dataDir) console.warn('skipping the structured magnitude test: no GLUE data (set GBP_DATA_DIR or add ../shared/data/glue)');
const outputDir = mkdtempSync(join(tmpdir(), 'gbp-magnitude-structured-'));
afterAll(() => rmSync(outputDir, { recursive: true, force: true }));

describe.skipIf(!dataDir)('magnitude at structured granularity on the tiny preset', () => {
  it('removes whole heads and neurons, and the compacted model gives the masked model\'s logits', async () => {
    const base = tinyPruningJobSpec({
      method: 'magnitude',
      plugin: fileURLToPath(new URL('./index.ts', import.meta.url)),
      dataDir: dataDir!,
      outputDir,
      pruning: { granularity: 'structured', end_sparsity: 0.5, start_epoch: 1, end_epoch: 1 },
    });
    // The tiny preset's layers (2 x d 256, 4 heads, FFN 512) with a small vocabulary, on the default backend.
    const spec = resolveJobSpec({ ...base, model: { size: 'tiny', vocab_size: 2000, max_len: 64 }, train: { ...base.train, epochs: 1, max_eval_examples: 256 }, backend: 'wasm' });
    const result = await runJob(spec, () => undefined);

    const report = readCompactionReport(result.files.model!)!;
    expect(report.structures_removed).toBe(true);
    expect(report.heads).toEqual([4, 4]);
    expect(report.neurons).toEqual([512, 512]);
    // The job's own sparsity report counts the same kept heads and neurons from the masks.
    expect(result.sparsity.layers?.map((l) => l.heads_kept)).toEqual(report.heads_kept);
    expect(result.sparsity.layers?.map((l) => l.neurons_kept)).toEqual(report.neurons_kept);
    // 50 % of the gated weights, removed as whole units: the compacted model holds the other half.
    expect(report.gated_params_after / report.gated_params_before).toBeCloseTo(0.5, 2);
    expect(report.unstructured_sparsity_left).toBe(0);
    expect(report.logit_diff_examples).toBe(256);
    expect(report.max_abs_logit_diff).toBeLessThanOrEqual(1e-5);
    expect(result.sparsity.global).toBeCloseTo(0.5, 2);

    const model = await InferenceModel.fromFolder(result.files.model!);
    expect(model.config.heads_per_layer).toEqual(report.heads_kept);
    expect(model.config.dff_per_layer).toEqual(report.neurons_kept);
    expect(model.numParams).toBe(report.params_after);
    model.dispose();
  }, 120_000);
});

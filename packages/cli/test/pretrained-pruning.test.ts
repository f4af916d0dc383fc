/**
 * An imported Hugging Face checkpoint (../shared/models/bert-ref-micro) fine-tuned and pruned by
 * every built-in pruner at every granularity in one stage, and dense-then-prune with distillation
 * from the dense job: the masks each job ends with are checked (target reached, whole blocks or
 * whole heads and neurons). Skips without the fixture or SST-2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { latestJobCheckpoint, readCompactionReport, readModelConfig, resolveJobSpec, runJob, type JobEvent, type PartialJobSpec } from '@gbp/core';
import { granularityOf, layerGates } from '@gbp/core/internal';
import { partlyMaskedGroups, REFERENCE_MODEL_DIR } from '@gbp/core/testing';

const shared = fileURLToPath(new URL('../../../../shared/', import.meta.url));
const fixture = REFERENCE_MODEL_DIR;
const dataDir = process.env.GBP_DATA_DIR ?? join(shared, 'data', 'glue');
const present = existsSync(join(fixture, 'model.safetensors')) && existsSync(join(dataDir, 'sst2', 'train.jsonl'));
if (!present) console.warn(`pretrained-pruning.test: skipped, needs ${fixture} and SST-2 in ${dataDir}`);

const root = mkdtempSync(join(tmpdir(), 'gbp-pretrained-pruning-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (id: string, extra: Partial<PartialJobSpec>) =>
  resolveJobSpec({
    id,
    task: 'sst2',
    backend: 'wasm',
    model: { from: fixture, max_len: 32 },
    train: { epochs: 2, batch_size: 16, learning_rate: 1e-4, max_train_examples: 256, max_eval_examples: 64, seed: 1 },
    data: { dir: dataDir, source: 'local', offline: true, cache_dir: join(root, 'cache') },
    output_dir: join(root, id),
    ...extra,
  } as PartialJobSpec);

/** The job's final masks with their gates' shapes, from its last checkpoint. */
async function finalMasks(outputDir: string) {
  const { config } = await readModelConfig(fixture);
  const masks = (await latestJobCheckpoint(outputDir))!.checkpoint.trainer.masks;
  const gates = Array.from({ length: config.num_layers }, (_, layer) => layerGates(config, layer)).flat();
  return {
    config,
    gates: gates.map(([name, rows, cols]) => ({ name, shape: [rows, cols] as [number, number], mask: masks[name]! })),
  };
}

const maskedFraction = (gates: readonly { mask: ArrayLike<number> }[]) => {
  let zeros = 0;
  let total = 0;
  for (const g of gates) for (let i = 0; i < g.mask.length; i++, total++) if (g.mask[i] === 0) zeros++;
  return zeros / total;
};

describe.skipIf(!present)('pruning an imported checkpoint', () => {
  for (const method of ['magnitude', 'movement', 'spt']) {
    for (const granularity of ['weight', 'block', 'structured'] as const) {
      it(`${method} at ${granularity} granularity reaches 50 % with whole groups`, async () => {
        const job = spec(`${method}-${granularity}`, {
          method,
          pruning: { granularity, block: [16, 16], start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 },
        });
        const result = await runJob(job, () => undefined);
        const { config, gates } = await finalMasks(job.output_dir);
        expect(gates.every((g) => g.mask.length === g.shape[0] * g.shape[1])).toBe(true);
        // Counted from the masks, not from the job's own report.
        expect(maskedFraction(gates)).toBeGreaterThan(0.4);
        expect(maskedFraction(gates)).toBeLessThanOrEqual(0.5 + 1e-9);
        expect(result.sparsity.global).toBeCloseTo(maskedFraction(gates), 6);
        if (granularity !== 'weight') expect(partlyMaskedGroups(gates, granularityOf(job.pruning, config))).toEqual([]);
        if (granularity === 'structured') expect(readCompactionReport(result.files.model!)!.structures_removed).toBe(true);
      }, 120_000);
    }
  }

  it('dense then pruned from its checkpoint, distilled from it', async () => {
    const dense = spec('dense', { method: 'baseline', train: { epochs: 1, batch_size: 16, learning_rate: 1e-4, max_train_examples: 256, max_eval_examples: 64, seed: 1 } });
    await runJob(dense, () => undefined);
    const logs: string[] = [];
    const pruned = spec('distilled', {
      method: 'movement',
      init_checkpoint: dense.output_dir,
      train: { epochs: 2, batch_size: 16, learning_rate: 1e-4, max_train_examples: 256, max_eval_examples: 64, seed: 1, distill: { teacher: dense.output_dir, alpha: 0.9, temperature: 2 } },
      pruning: { granularity: 'structured', start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 },
    });
    await runJob(pruned, (e: JobEvent) => void (e.type === 'log' && logs.push(e.message)));
    expect(logs.join('\n')).toMatch(/teacher logits of 256 training examples computed in .* from .*dense\/model/);
    expect(logs.join('\n')).toContain(`initialised weights and masks from ${dense.output_dir}`);
    const { config, gates } = await finalMasks(pruned.output_dir);
    expect(maskedFraction(gates)).toBeGreaterThan(0.4);
    expect(partlyMaskedGroups(gates, granularityOf(pruned.pruning, config))).toEqual([]);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from './job.js';
import { definePruner } from './hooks/define.js';
import { latestJobCheckpoint } from './job/checkpoint.js';
import { conformanceJobSpec, writeSyntheticSst2 } from './testing/conformance.js';
import { partlyMaskedGroups } from './testing/whole_groups.js';

let root: string;
beforeAll(async () => void (root = await mkdtemp(join(tmpdir(), 'gbp-job-granularity-'))));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A pruner written for single weights: |W| top-k on the linear schedule, no grouping code at all. */
const plainMagnitude = definePruner({
  name: 'plain-magnitude',
  optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
  create: () => ({
    afterEpoch(ctx) {
      const s = ctx.helpers.targetSparsity('linear', ctx.pruning, { epoch: ctx.epoch, epochs: ctx.epochs });
      if (s > 0) ctx.helpers.applyMasks(ctx.gates, ctx.helpers.topKMasks(ctx.helpers.magnitudeScores(ctx.gates), s, { previousMasks: ctx.gates.map((g) => ctx.helpers.readMask(g)) }));
    },
    state: () => null,
    restore: () => undefined,
  }),
});

describe('runJob at structured granularity', () => {
  it('ends with whole heads and neurons masked, and reports heads and neurons kept per layer', async () => {
    const dataDir = await writeSyntheticSst2(join(root, 'data'));
    // Two layers of d 32, 2 heads (head size 16), dff 64: a head is 4·32·16 = 2048 weights, a neuron 64, a layer 8192.
    const spec = conformanceJobSpec({ method: 'plain-magnitude', dataDir, outputDir: join(root, 'job'), pruning: { granularity: 'structured', end_sparsity: 0.5 } });
    spec.model.num_layers = 2;
    const result = await runJob(spec, () => undefined, { pruner: plainMagnitude });

    const checkpoint = (await latestJobCheckpoint(spec.output_dir))!.checkpoint;
    const names = Object.keys(result.sparsity.gates);
    const gates = names.map((name) => {
      const mask = checkpoint.trainer.masks[name]!;
      const shape: [number, number] = name.endsWith('intermediate.dense') ? [32, 64] : name.endsWith('.output.dense') && !name.includes('attention') ? [64, 32] : [32, 32];
      expect(mask.length).toBe(shape[0] * shape[1]);
      return { name, shape, mask };
    });
    const granularity = { kind: 'structured', headSize: 16 } as const;
    expect(partlyMaskedGroups(gates, granularity)).toEqual([]);

    // Heads and neurons kept, counted independently from the masks: a unit is kept when its output-side rows are.
    const kept = (layer: number, gate: string, rows: number, width: number) => {
      const g = gates.find((x) => x.name === `encoder.layer.${layer}.${gate}`)!;
      return Array.from({ length: rows / width }, (_, u) => g.mask[u * width * 32] !== 0).filter(Boolean).length;
    };
    const expected = [0, 1].map((layer) => ({
      layer,
      heads: 2,
      heads_kept: kept(layer, 'attention.output.dense', 32, 16),
      neurons: 64,
      neurons_kept: kept(layer, 'output.dense', 64, 1),
    }));
    expect(result.sparsity.layers).toEqual(expected);
    const removed = expected.reduce((n, l) => n + (2 - l.heads_kept) * 2048 + (64 - l.neurons_kept) * 64, 0);
    expect(removed).toBeGreaterThan(0);
    expect(Math.round(result.sparsity.global * 16384)).toBe(removed);
    expect(result.sparsity.global).toBeLessThanOrEqual(0.5);
    expect(result.sparsity.global).toBeGreaterThan(0.5 - 64 / 16384 - 1e-9); // neurons fill to within one neuron

    // The sparsity file and the metadata carry the same per-layer counts.
    expect(JSON.parse(await readFile(result.files.sparsity!, 'utf8')).layers).toEqual(expected);
    expect(JSON.parse(await readFile(result.files.metadata!, 'utf8')).layers).toEqual(expected);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../backend/index.js';
import { resolveModelConfig } from '../model/config.js';
import { resolveJobSpec } from '../job/spec.js';
import { budgetMs, cachedLatencyModel, checkSearchBudget, latencyCachePath, latencyModelFor, latencyRequestOf, measureLatency, type LatencyRequest } from './latency-cache.js';
import { LATENCY_FEATURES, machineFingerprint, type LatencyModel } from './latency-model.js';
import { resolveSearchSpace } from './space.js';
import { SearchBudgetError } from './evolution.js';

const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 60, max_len: 16 }, 2);
const space = resolveSearchSpace({ layers: [1, 2], heads: [1, 2, 4], ffn: [16, 32, 64] }, config);
let root: string;

beforeAll(async () => {
  await initBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'gbp-latency-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** 29 samples + the full model, the largest and the smallest: the fewest a fit with its held-out quarter accepts. */
const request = (over: Partial<LatencyRequest> = {}): LatencyRequest => ({ config, space, batch: 2, seq: 8, samples: 29, runs: 1, threads: 1, backend: 'wasm', cacheDir: root, ...over });

describe('latency model cache', () => {
  it('measures and caches on a miss, loads on a hit, and re-measures a file of another backend or machine', async () => {
    const progress: number[] = [];
    const first = await latencyModelFor(request(), { onProgress: (done, total) => progress.push(done / total) });
    expect(first.cached).toBe(false);
    expect(first.path).toBe(latencyCachePath(request()));
    expect(first.path.startsWith(join(root, 'latency'))).toBe(true);
    // Every sub-network measured in each of two passes.
    expect(progress).toHaveLength(64);
    expect(progress.at(-1)).toBe(1);
    expect(first.model).toMatchObject({ backend: 'wasm', threads: 1, batch: 2, seq: 8, machine: machineFingerprint(), fit: { samples: 24, held_out: 8 } });
    expect(first.model.reference_ms).toBeGreaterThan(0);
    expect(first.model.coefficients).toHaveLength(LATENCY_FEATURES.length);
    // Every measured sub-network is in the file, with its prediction and whether the fit saw it.
    const rows = first.model.fit.measurements ?? [];
    expect(rows).toHaveLength(32);
    expect(rows.filter((r) => r.held_out)).toHaveLength(8);
    expect(rows[0]!.measured_ms).toBe(first.model.reference_ms);
    expect(rows.every((r) => r.measured_ms > 0 && Number.isFinite(r.predicted_ms))).toBe(true);

    const second = await latencyModelFor(request());
    expect(second.cached).toBe(true);
    expect(second.model).toEqual(first.model);

    // Another request (more samples, another seq) is another key: not served from this file.
    expect(cachedLatencyModel(request({ samples: 30 }))).toBeUndefined();
    expect(latencyCachePath(request({ seq: 16 }))).not.toBe(first.path);

    for (const [field, value] of [['backend', 'cpu'], ['machine', 'another machine x2, linux-x64, node 0']] as const) {
      const file = JSON.parse(readFileSync(first.path, 'utf8')) as Record<string, unknown>;
      writeFileSync(first.path, JSON.stringify({ ...file, [field]: value }));
      expect(cachedLatencyModel(request())).toBeUndefined();
      const again = await latencyModelFor(request());
      expect(again.cached).toBe(false);
      expect(JSON.parse(readFileSync(first.path, 'utf8'))[field]).toBe(field === 'backend' ? 'wasm' : machineFingerprint());
    }
    // Written atomically: only the model files are left, no temporary siblings.
    expect(readdirSync(join(root, 'latency')).every((f) => /^[0-9a-f]{16}\.json$/.test(f))).toBe(true);
    // A damaged file is measured again, not trusted.
    writeFileSync(first.path, '{"kind": "linear-fl');
    expect(cachedLatencyModel(request())).toBeUndefined();
  });

  it("builds a search job's request from its spec: defaults, seq from max_len, the cache folder", () => {
    const spec = resolveJobSpec({
      task: 'sst2',
      output_dir: join(root, 'job'),
      model: { size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 60, max_len: 16 },
      data: { cache_dir: join(root, 'c') },
      search: { space: { heads: [4, 2] }, budget: { speedup: 2 }, latency: { samples: 30 } },
    });
    const r = latencyRequestOf(spec, config, 'wasm');
    expect(r).toMatchObject({ batch: 8, seq: 16, samples: 30, runs: 9, threads: 1, backend: 'wasm', cacheDir: join(root, 'c') });
    expect(r.space).toEqual({ layers: [2], heads: [2, 4], ffn: [64] });
    const handBuilt = { ...spec, search: { ...spec.search!, latency: undefined } } as unknown as typeof spec;
    expect(latencyRequestOf(handBuilt, config, 'wasm')).toMatchObject({ batch: 8, seq: 16, samples: 48, runs: 9, threads: 1 });
    const long = resolveJobSpec({ ...spec, search: { ...spec.search!, latency: { seq: 32 } } });
    expect(() => latencyRequestOf(long, config, 'wasm')).toThrow("search.latency.seq: 32 is more than the model's max_len 16 (leave it out to measure at max_len)");
    const bad = resolveJobSpec({ ...spec, search: { ...spec.search!, space: { heads: [8] } } });
    expect(() => latencyRequestOf(bad, config, 'wasm')).toThrow("search.space.heads: 8 is more than the model's 4 heads");
  });

  it('measures a forward pass of a model or a compacted sub-network; refuses a sequence longer than the model takes', async () => {
    const settings = { batch: 4, seq: 16, runs: 3, threads: 1 };
    expect(await measureLatency(config, settings)).toBeGreaterThan(0);
    expect(await measureLatency({ ...config, num_layers: 1, heads_per_layer: [2], dff_per_layer: [0] }, settings)).toBeGreaterThan(0);
    await expect(measureLatency(config, { ...settings, seq: 32 })).rejects.toThrow("latency: sequence length 32 is more than the model's max_len 16");
  });
});

/** A latency model of 1 ms a layer plus 0.5 ms a head, full model 12 ms. */
const model: LatencyModel = {
  kind: 'linear-flops',
  features: [...LATENCY_FEATURES],
  coefficients: [0, 1, 0.5, 0, 0, 0],
  batch: 8,
  seq: 16,
  backend: 'wasm',
  threads: 1,
  machine: machineFingerprint(),
  reference_ms: 12,
  fit: { samples: 24, held_out: 8, mean_abs_error: 0.05, max_abs_error: 0.1 },
};

describe('budget', () => {
  it('is latency_ms as given, or the full model over speedup', () => {
    expect(budgetMs(model, { latency_ms: 3.5 })).toBe(3.5);
    expect(budgetMs(model, { speedup: 4 })).toBe(3);
  });

  it("refuses a budget below the smallest sub-network's predicted latency, with both numbers", () => {
    // Smallest: 1 layer, 1 head → 1.5 ms; the window lets 1.1 x the budget through.
    expect(() => checkSearchBudget(model, config, space, { budget: { latency_ms: 1.4 }, window: [0.85, 1.1] })).not.toThrow();
    expect(() => checkSearchBudget(model, config, space, { budget: { latency_ms: 1.2 }, window: [0.85, 1.1] })).toThrow(SearchBudgetError);
    expect(() => checkSearchBudget(model, config, space, { budget: { latency_ms: 1.2 }, window: [0.85, 1.1] })).toThrow(
      'search.budget.latency_ms 1.2 is below the smallest sub-network of the space: L1-h1-f16 is predicted at 1.50 ms (over the window\'s 1.1 x 1.20 = 1.32 ms at batch 8 x 16 on wasm, 1 thread); raise the budget or widen the space',
    );
    expect(() => checkSearchBudget(model, config, space, { budget: { speedup: 10 }, window: [0.85, 1.1] })).toThrow(
      "search.budget.speedup 10 (the full model's 12.00 ms / 10 = 1.20 ms) is below the smallest sub-network of the space: L1-h1-f16 is predicted at 1.50 ms",
    );
  });
});

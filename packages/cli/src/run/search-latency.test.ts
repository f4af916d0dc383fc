/**
 * gbp run and gbp validate with search jobs: latency models got before any job, budgets checked.
 * Core's latency API (engineer B's) is replaced here by a fake that measures nothing, so the test is
 * about what the CLI does with it: progress, refusal located at the budget, nothing created.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobSpec, ModelConfig } from '@gbp/core';
import type { LatencyModel, LatencyRequest, SearchSpace } from '@gbp/core/internal';
import type * as internal from '@gbp/core/internal';
import { main } from '../cli.js';
import { captureIO } from '../../test/fixtures/capture-io.js';

// The full model takes 10 ms and the smallest sub-network of the space 4 ms: a speedup of 4 (2.5 ms) is out of reach.
const { cached, measured, FULL_MS, SMALLEST_MS } = vi.hoisted(() => ({
  cached: { model: undefined as unknown },
  measured: [] as unknown[],
  FULL_MS: 10,
  SMALLEST_MS: 4,
}));

type CoreInternal = typeof internal;

vi.mock('@gbp/core/internal', async (importOriginal) => {
  const core = await importOriginal<CoreInternal>();
  const model = { reference_ms: FULL_MS, batch: 8, seq: 128, backend: 'wasm', threads: 1, fit: { mean_abs_error: 0.04, max_abs_error: 0.09 } } as unknown as LatencyModel;
  return {
    ...core,
    latencyRequestOf: (spec: JobSpec, config: ModelConfig, backend: string): LatencyRequest => ({
      config,
      space: core.resolveSearchSpace(spec.search!.space!, config),
      batch: spec.search!.latency?.batch ?? 8,
      seq: spec.search!.latency?.seq ?? config.max_len,
      samples: spec.search!.latency?.samples ?? 48,
      runs: spec.search!.latency?.runs ?? 9,
      threads: spec.search!.latency?.threads ?? 1,
      backend,
      cacheDir: '/nowhere',
    }),
    cachedLatencyModel: () => cached.model as LatencyModel | undefined,
    latencyModelFor: async (request: LatencyRequest, options?: { onProgress?: (done: number, total: number) => void }) => {
      measured.push(request);
      const total = request.samples + 3;
      // As core's fit: too few samples for its coefficients is refused after measuring.
      if (request.samples < 10) throw new Error(`latency model: ${total} measured sub-networks; fitting 6 coefficients with 2 held out needs at least 26`);
      for (let done = 1; done <= total; done++) options?.onProgress?.(done, total);
      return { model, cached: false, path: '/nowhere/latency/x.json' };
    },
    checkSearchBudget: (m: LatencyModel, _config: ModelConfig, space: SearchSpace, search: { budget: { speedup?: number } }) => {
      const budget = (m as unknown as { reference_ms: number }).reference_ms / search.budget.speedup!;
      if (SMALLEST_MS > budget * 1.1) throw new core.SearchBudgetError(`latency budget ${budget} ms is below what the smallest sub-network of the space needs (${SMALLEST_MS} ms predicted, L${space.layers[0]})`);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'gbp-search-latency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  cached.model = undefined;
  measured.length = 0;
});

const file = join(dir, 'search.yaml');
writeFileSync(
  file,
  `name: s
defaults: { task: sst2, model: { size: tiny }, train: { epochs: 1 } }
stages:
  supernet:
    defaults: { supernet: { space: { layers: [1, 2], heads: [2, 4] } } }
  search:
    needs: [supernet]
    init_from: supernet
    defaults: { search: { latency: { samples: 24, runs: 1 } } }
    matrix:
      search.budget: [{ speedup: 2 }, { speedup: 4 }]
`,
);

describe('search jobs before gbp run starts any job', () => {
  it('measures one latency model for the stage, then refuses a budget below the smallest sub-network at its field, creating nothing', async () => {
    const t = captureIO(dir);
    expect(await main(['run', file], t.value)).toBe(2);
    // Both budgets share one model: measured once, with the stage's settings.
    expect(measured).toHaveLength(1);
    expect(measured[0]).toMatchObject({ samples: 24, runs: 1, batch: 8, seq: 128, space: { layers: [1, 2], heads: [2, 4], ffn: [512] } });
    expect(t.err()).toContain('measuring latency of 27 sub-networks for the search stage: 1/27\n');
    expect(t.err()).toContain('measuring latency of 27 sub-networks for the search stage: 27/27\n');
    expect(t.err()).toContain(
      `1 error in pipeline ${file}:\n  ${file}:11:39: stages.search.matrix["search.budget"][1]: job baseline_sst2_speedup4_search: latency budget 2.5 ms is below what the smallest sub-network of the space needs (4 ms predicted, L1)`,
    );
    expect(existsSync(join(dir, 'results'))).toBe(false);
  });

  it('gbp validate checks budgets only against a cached latency model, and otherwise says gbp run will measure', async () => {
    const fresh = captureIO(dir);
    expect(await main(['validate', file], fresh.value)).toBe(0);
    expect(fresh.out()).toMatch(/latency model for search \(\w+, batch 8 x seq 128\): not cached; gbp run measures 24 sampled sub-networks \(and the full, largest and smallest\) before any job/);
    expect(measured).toHaveLength(0);
    cached.model = { reference_ms: FULL_MS } as unknown as LatencyModel;
    const withCache = captureIO(dir);
    expect(await main(['validate', file], withCache.value)).toBe(2);
    expect(withCache.err()).toContain(`${file}:11:39: stages.search.matrix["search.budget"][1]: job baseline_sst2_speedup4_search: latency budget 2.5 ms`);
    expect(measured).toHaveLength(0);
  });

  it("measures the model as the search job builds it (the task's label count: the cache key covers the config)", async () => {
    const mnli = join(dir, 'mnli.yaml');
    writeFileSync(mnli, readFileSync(file, 'utf8').replace('task: sst2', 'task: mnli'));
    // Refused as the sst2 file is (speedup 4): no job runs.
    expect(await main(['run', mnli], captureIO(dir).value)).toBe(2);
    expect((measured[0] as LatencyRequest).config).toMatchObject({ num_labels: 3, num_layers: 2, num_heads: 4 });
  });

  it('on a queue measures nothing here (latency is the workers\') and says so', async () => {
    const t = captureIO(dir);
    // An unreachable queue: the run stops at its ping, after the latency step would have run.
    expect(await main(['run', file, '--queue', 'redis://127.0.0.1:9'], t.value)).toBe(2);
    expect(measured).toHaveLength(0);
    expect(t.err()).toContain('search jobs: on a queue each measures latency and checks its budget on its worker (latency is per machine)\n');
  });

  it('reports latency settings the fit refuses at the file\'s search.latency, as a pipeline error', async () => {
    const few = join(dir, 'few.yaml');
    writeFileSync(few, readFileSync(file, 'utf8').replace('samples: 24', 'samples: 4'));
    const t = captureIO(dir);
    expect(await main(['run', few], t.value)).toBe(2);
    expect(t.err()).toContain(
      `1 error in pipeline ${few}:\n  ${few}:9:36: stages.search.defaults.search.latency: job baseline_sst2_speedup2_search: latency model: 7 measured sub-networks; fitting 6 coefficients with 2 held out needs at least 26\n`,
    );
  });
});

/**
 * gbp run and gbp validate with a search job on core's real latency cache (tiny settings: a
 * 32-wide model, batch 1 x 8 tokens, one run each). The latency model is measured for real once;
 * its coefficients are then fixed (every sub-network 1 ms), as core's own search tests do, so the
 * refusal does not depend on how noisy the timings were on a busy machine.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latencyModelFor } from '@gbp/core/internal';
import { main } from '../cli.js';
import { loadPipeline } from '../pipeline/load.js';
import { planPipeline } from '../pipeline/plan.js';
import { resolvePipeline } from '../pipeline/resolve.js';
import { captureIO } from '../../test/fixtures/capture-io.js';
import { latencyGroups } from './search-latency.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-search-measured-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'search.yaml');
writeFileSync(
  file,
  `name: s
data: { cache_dir: ${join(dir, 'cache')} }
defaults:
  task: sst2
  model: { size: tiny, num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 200, max_len: 16 }
stages:
  supernet:
    defaults: { supernet: { space: { layers: [1, 2], heads: [2, 4], ffn: [32, 64] } } }
  search:
    needs: [supernet]
    init_from: supernet
    defaults: { search: { budget: { latency_ms: 0.5 }, latency: { batch: 1, seq: 8, samples: 32, runs: 1 } } }
`,
);

describe('search budget on a measured latency model', () => {
  it('gbp run refuses a budget below the smallest sub-network before any job folder exists; gbp validate reads the same cache', async () => {
    const validateFirst = captureIO(dir);
    expect(await main(['validate', file], validateFirst.value)).toBe(0);
    expect(validateFirst.out()).toContain('not cached; gbp run measures 32 sampled sub-networks');

    // Measured for real, as gbp run would (the same request), and cached.
    const pipeline = resolvePipeline(loadPipeline(file), {}, dir);
    const [group] = await latencyGroups(await planPipeline(pipeline), pipeline);
    const progress: number[] = [];
    const measured = await latencyModelFor(group!.request, { onProgress: (done) => progress.push(done) });
    expect(progress.length).toBeGreaterThan(32);
    expect(readdirSync(join(dir, 'cache', 'latency'))).toEqual([measured.path.split('/').pop()]);
    // Every sub-network 1 ms: over the 0.5 ms budget's window (0.55 ms) whatever the timings were.
    const cached = JSON.parse(readFileSync(measured.path, 'utf8'));
    writeFileSync(measured.path, JSON.stringify({ ...cached, coefficients: cached.coefficients.map((_: number, i: number) => (i === 0 ? 1 : 0)) }));

    const run = captureIO(dir);
    expect(await main(['run', file], run.value)).toBe(2);
    expect(run.err()).toContain(`latency model for the search stage (cached: ${measured.path}): full model`);
    expect(run.err()).toContain(`${file}:12:35: stages.search.defaults.search.budget: job baseline_sst2_search: `);
    expect(run.err()).toContain('1.00 ms');
    expect(existsSync(join(dir, 'results'))).toBe(false);

    const validate = captureIO(dir);
    expect(await main(['validate', file], validate.value)).toBe(2);
    expect(validate.err()).toContain(`${file}:12:35: stages.search.defaults.search.budget: job baseline_sst2_search: `);
  }, 120_000);
});

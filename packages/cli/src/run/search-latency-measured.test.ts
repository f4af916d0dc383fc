/**
 * gbp run with a search job on core's real latency measurement (tiny settings: a 32-wide model,
 * batch 1 x 8 tokens, one run each, about the fewest samples the fit takes): the model is measured and cached, and a budget far below the
 * smallest sub-network refuses the run before any job folder exists; gbp validate then uses the cache.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli.js';
import { captureIO } from '../../test/fixtures/capture-io.js';

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
    defaults: { search: { budget: { latency_ms: 0.000001 }, latency: { batch: 1, seq: 8, samples: 32, runs: 1 } } }
`,
);

describe('search budget on a measured latency model', () => {
  it('refuses a budget below the smallest sub-network before any job folder exists, and caches the model for gbp validate', async () => {
    const run = captureIO(dir);
    expect(await main(['run', file], run.value)).toBe(2);
    expect(run.err()).toMatch(/measuring latency of \d+ sub-networks for the search stage: (\d+)\/\1\n/);
    expect(run.err()).toContain(`${file}:12:35: stages.search.defaults.search.budget: job baseline_sst2_search: `);
    expect(existsSync(join(dir, 'results'))).toBe(false);
    expect(readdirSync(join(dir, 'cache', 'latency'))).toHaveLength(1);

    const validate = captureIO(dir);
    expect(await main(['validate', file], validate.value)).toBe(2);
    expect(validate.err()).toContain(`${file}:12:35: stages.search.defaults.search.budget: job baseline_sst2_search: `);
  }, 120_000);
});

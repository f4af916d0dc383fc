/**
 * CI real-data check: a small model trained from scratch on a slice of SST-2 must beat the
 * majority class of the validation slice by a clear margin. Skips when the data is absent.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveJobSpec, runJob } from './job.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const dataDir = process.env.GBP_DATA_DIR ?? join(repoRoot, '..', 'shared', 'data', 'glue');
const present = existsSync(join(dataDir, 'sst2', 'train.jsonl')) && existsSync(join(dataDir, 'sst2', 'validation.jsonl'));
if (!present) console.warn(`job.sst2.test: skipped, no SST-2 data at ${join(dataDir, 'sst2')} (set GBP_DATA_DIR)`);

const EVAL_EXAMPLES = 800;

describe.skipIf(!present)('real data: SST-2 slice', () => {
  it('beats the majority class by more than 10 points', async () => {
    const out = await mkdtemp(join(tmpdir(), 'gbp-sst2-'));
    try {
      const spec = resolveJobSpec({
        id: 'sst2-slice',
        task: 'sst2',
        backend: 'wasm',
        model: { size: 'tiny', num_layers: 2, d_model: 64, num_heads: 4, dff: 128, vocab_size: 6000, max_len: 48, dropout_rate: 0.1 },
        train: { epochs: 2, batch_size: 32, learning_rate: 2e-3, seed: 1, max_train_examples: 6_000, max_eval_examples: EVAL_EXAMPLES },
        data: { dir: dataDir, source: 'local', offline: true, cache_dir: join(out, 'cache') },
        output_dir: join(out, 'job'),
      });
      const result = await runJob(spec, () => undefined);
      const labels = (await readFile(join(dataDir, 'sst2', 'validation.jsonl'), 'utf8'))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(0, EVAL_EXAMPLES)
        .map((l) => (JSON.parse(l) as { label: number }).label);
      const positive = labels.filter((l) => l === 1).length / labels.length;
      const majority = Math.max(positive, 1 - positive);
      const accuracy = result.best_metrics.accuracy!;
      console.log(`sst2 slice: accuracy ${(100 * accuracy).toFixed(1)}% vs majority ${(100 * majority).toFixed(1)}%`);
      expect(accuracy).toBeGreaterThan(majority + 0.1);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { glueDataDir, runPrunerJob } from '@gbp/core/testing';

const dataDir = glueDataDir();
if (!dataDir) console.warn('skipping the spt integration test: no GLUE data (set GBP_DATA_DIR or add ../shared/data/glue)');

describe.skipIf(!dataDir)('spt in runJob', () => {
  it('trains a tiny model on a slice of sst2 and reaches the target sparsity on schedule', async () => {
    const { result, events } = await runPrunerJob({
      method: 'spt',
      plugin: fileURLToPath(new URL('./index.ts', import.meta.url)),
      dataDir: dataDir!,
    });
    // Window [1, 2]: the first listed step (10%) at the end of epoch 1, 80% from the end of epoch 2 on.
    expect(result.epochs.map((r) => r.sparsity)).toEqual([expect.closeTo(0.1, 2), expect.closeTo(0.8, 3), expect.closeTo(0.8, 3)]);
    expect(result.sparsity.global).toBeCloseTo(0.8, 3);
    expect(Object.keys(result.sparsity.gates).length).toBeGreaterThan(0);
    expect(events.at(-1)?.type).toBe('done');
  });
});

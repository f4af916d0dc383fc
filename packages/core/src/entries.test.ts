import { describe, expect, it } from 'vitest';

// What the CLI, the pruner packages and the example import from '@gbp/core' (a sample of each kind).
const PUBLIC = ['definePruner', 'HOOK_NAMES', 'PluginError', 'Rng', 'tf', 'SCHEDULE_KINDS', 'resolveJobSpec', 'runJob', 'resolvePruner', 'validatePrunerOptions', 'PrunerOptionsError', 'BUILTIN_PRUNERS', 'JobSpecSchema', 'MODEL_SIZES', 'TASK_NAMES', 'BACKEND_NAMES', 'modelInfo', 'readCheckpoint', 'latestCheckpoint', 'AbortError', 'writeFileAtomic', 'latestJobCheckpoint', 'listJobCheckpoints', 'readJobCheckpoint'];
// Core's machinery: reached through '@gbp/core/internal' (benchmarks) or ctx.helpers (plugins).
const INTERNAL = ['Trainer', 'AdamW', 'GatedBert', 'GatedDense', 'HookRegistry', 'createPrunerContext', 'writeCheckpoint', 'measureMatmulGflops', 'registerWasmKernels', 'lossAndGradients', 'clipByGlobalNorm', 'topKMasks', 'targetSparsity', 'readMask', 'PRUNER_HELPERS'];

describe('package entries', () => {
  it("'@gbp/core' exports the plugin and job API and none of core's machinery", async () => {
    const main = await import('./index.js');
    expect(PUBLIC.filter((name) => !(name in main))).toEqual([]);
    expect(INTERNAL.filter((name) => name in main)).toEqual([]);
  });

  it("'@gbp/core/internal' exports the public API and the machinery benchmarks use", async () => {
    const internal = await import('./internal.js');
    expect([...PUBLIC, ...INTERNAL].filter((name) => !(name in internal))).toEqual([]);
  });
});

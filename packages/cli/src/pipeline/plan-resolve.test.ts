// Its own file: it watches core's findPruner through a module mock.
import { fileURLToPath } from 'node:url';
import { findPruner } from '@gbp/core';
import type * as Core from '@gbp/core';
import { describe, expect, it, vi } from 'vitest';
import { loadPipeline } from './load.js';
import { planPipeline } from './plan.js';
import { resolvePipeline } from './resolve.js';

vi.mock('@gbp/core', async (importOriginal) => {
  const core = await importOriginal<typeof Core>();
  return { ...core, findPruner: vi.fn(core.findPruner) };
});

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

describe('planPipeline', () => {
  it('finds each method once, however many stages and jobs use it', async () => {
    const text = `name: staged
plugins: [./toy-pruner.mjs]
defaults: { model: { size: tiny }, train: { epochs: 2 } }
stages:
  first:
    matrix: { method: [toy, baseline], task: [sst2, rte] }
    methods: { toy: { frequency_steps: 3 } }
  second:
    needs: [first]
    matrix: { method: [toy], task: [sst2, rte] }
    methods: { toy: { frequency_steps: 5 } }
`;
    const plan = await planPipeline(resolvePipeline(loadPipeline(`${fixtures}p.yaml`, text), {}, '/work/x'));
    expect(plan.jobs.map((j) => [j.id, j.spec.method_options.frequency_steps])).toEqual([
      ['toy_sst2_first', 3], ['toy_rte_first', 3], ['baseline_sst2_first', undefined], ['baseline_rte_first', undefined],
      ['toy_sst2_second', 5], ['toy_rte_second', 5],
    ]);
    const calls = vi.mocked(findPruner).mock.calls.map(([method]) => method);
    expect(calls.sort()).toEqual(['baseline', 'toy']);
  });
});

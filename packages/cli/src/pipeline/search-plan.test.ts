import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PipelineError } from './errors.js';
import { loadPipeline } from './load.js';
import { planPipeline, type Plan } from './plan.js';
import { resolvePipeline } from './resolve.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const plan = (text: string): Promise<Plan> => planPipeline(resolvePipeline(loadPipeline(`${fixtures}p.yaml`, text), {}, '/work/x'));
const issuesOf = async (text: string) => {
  try {
    await plan(text);
  } catch (error) {
    if (error instanceof PipelineError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw error;
  }
  return [];
};

// The tiny model: 2 layers, 4 heads, FFN 512.
const pipeline = (supernetSpace: string, search: string, finetune = '') => `name: s
defaults: { task: sst2, model: { size: tiny }, train: { epochs: 1 } }
stages:
  dense: {}
  supernet:
    needs: [dense]
    init_from: dense
    defaults: { supernet: { space: ${supernetSpace} } }
  search:
${search}
${finetune}`;

const searchStage = `    needs: [supernet]
    init_from: supernet
    matrix:
      search.budget: [{ speedup: 2 }, { latency_ms: 40 }]
`;

describe('planning supernet and search stages', () => {
  it('names jobs by budget, starts each search from the supernet job and inherits its space', async () => {
    const p = await plan(pipeline('{ layers: [1, 2], heads: [2, 4], ffn: [256, 512] }', searchStage));
    const searches = p.jobs.filter((j) => j.stage === 'search');
    expect(searches.map((j) => [j.id, j.initFrom, j.spec.search?.budget])).toEqual([
      ['baseline_sst2_speedup2_search', 'baseline_sst2_supernet', { speedup: 2 }],
      ['baseline_sst2_latency40ms_search', 'baseline_sst2_supernet', { latency_ms: 40 }],
    ]);
    for (const job of searches) expect(job.spec.search?.space).toEqual({ layers: [1, 2], heads: [2, 4], ffn: [256, 512] });
    // A space the stage sets itself is kept.
    const narrowed = await plan(pipeline('{ heads: [2, 4] }', `${searchStage}    defaults: { search: { space: { heads: [4] } } }\n`));
    expect(narrowed.jobs.filter((j) => j.stage === 'search').map((j) => j.spec.search?.space)).toEqual([{ heads: [4] }, { heads: [4] }]);
  });

  it('reports an empty list and widths larger than the model at their field', async () => {
    expect(await issuesOf(pipeline('{ layers: [], heads: [2, 8] }', searchStage))).toEqual([
      "8:46 stages.supernet.defaults.supernet.space.layers: supernet.space.layers: an empty list (give at least one value, or leave it out to keep the model's 2)",
      "8:57 stages.supernet.defaults.supernet.space.heads: supernet.space.heads: 8 is more than the model's 4 heads",
    ]);
    expect(await issuesOf(pipeline('{ heads: [2, 4] }', `${searchStage}    defaults: { search: { space: { ffn: [1024] } } }\n`))).toEqual([
      // Once per field, not once per job that shares it.
      "14:41 stages.search.defaults.search.space.ffn: search.space.ffn: 1024 is more than the model's 512 FFN neurons",
    ]);
  });

  it('refuses a search stage without init_from, or whose init_from stage trains no supernet', async () => {
    expect(await issuesOf(pipeline('{ heads: [2, 4] }', '    needs: [supernet]\n    defaults: { search: { budget: { speedup: 2 } } }\n'))).toEqual([
      '10:5 stages.search: job baseline_sst2_search searches a supernet: set init_from to a stage whose jobs train one (a stage with supernet: { space: ... })',
    ]);
    expect(await issuesOf(pipeline('{ heads: [2, 4] }', '    needs: [dense]\n    init_from: dense\n    defaults: { search: { budget: { speedup: 2 } } }\n'))).toEqual([
      "11:16 stages.search.init_from: 'dense' trains no supernet (job baseline_sst2_dense has no supernet section): a search stage starts from a supernet stage's jobs",
    ]);
  });

  it('model.from naming a stage: one job per searched model, from its folder, without the file\'s shape fields', async () => {
    const finetune = `  finetune:
    needs: [search]
    defaults: { model: { from: search }, train: { epochs: 2 } }
`;
    const p = await plan(pipeline('{ heads: [2, 4] }', searchStage, finetune));
    const tuned = p.jobs.filter((j) => j.stage === 'finetune');
    expect(tuned.map((j) => [j.id, j.modelFrom, j.spec.model])).toEqual([
      ['baseline_sst2_speedup2_finetune', 'baseline_sst2_speedup2_search', { from: '/work/x/results/s/results_baseline_sst2_speedup2_search' }],
      ['baseline_sst2_latency40ms_finetune', 'baseline_sst2_latency40ms_search', { from: '/work/x/results/s/results_baseline_sst2_latency40ms_search' }],
    ]);
    expect(tuned[0]!.needs).toEqual(p.jobs.filter((j) => j.stage === 'search').map((j) => j.id));
  });

  it('model.from naming a stage not in needs is reported at the field', async () => {
    const finetune = `  finetune:
    needs: [supernet]
    defaults: { model: { from: search } }
`;
    expect(await issuesOf(pipeline('{ heads: [2, 4] }', searchStage, finetune))).toEqual([
      "17:32 stages.finetune.defaults.model.from: 'search' names a stage: list it in needs of stage 'finetune' to start from its jobs' models",
    ]);
  });

  it('plans pipelines/search.yaml: dense, supernet, a search per budget, a fine-tune of each searched model, pruned jobs, one at a time', async () => {
    const file = fileURLToPath(new URL('../../../../pipelines/search.yaml', import.meta.url));
    const p = await planPipeline(resolvePipeline(loadPipeline(file), {}, '/work/x'));
    expect(p.concurrency).toBe(1);
    expect(p.jobs.map((j) => [j.id, j.initFrom ?? j.modelFrom ?? null])).toEqual([
      ['baseline_sst2_dense', null],
      ['baseline_sst2_supernet', 'baseline_sst2_dense'],
      ['baseline_sst2_speedup2_search', 'baseline_sst2_supernet'],
      ['baseline_sst2_speedup4_search', 'baseline_sst2_supernet'],
      ['baseline_sst2_speedup2_finetune', 'baseline_sst2_speedup2_search'],
      ['baseline_sst2_speedup4_finetune', 'baseline_sst2_speedup4_search'],
      ['movement_sst2_end_sparsity0.5_pruned', 'baseline_sst2_dense'],
      ['movement_sst2_end_sparsity0.8_pruned', 'baseline_sst2_dense'],
    ]);
    const search = p.jobs.find((j) => j.id === 'baseline_sst2_speedup4_search')!;
    expect(search.spec.search).toMatchObject({ budget: { speedup: 4 }, population: 16, space: { layers: [1, 2], heads: [1, 2, 3, 4] }, latency: { batch: 8, threads: 1 } });
    const finetune = p.jobs.find((j) => j.id === 'baseline_sst2_speedup4_finetune')!;
    expect(finetune.teacherFrom).toBe('baseline_sst2_dense');
    expect(finetune.spec.model).toEqual({ from: search.spec.output_dir, max_len: 128 });
  });
});

import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineError } from './errors.js';
import { loadPipeline } from './load.js';
import { planPipeline, type Plan } from './plan.js';
import { resolvePipeline, type CliOverrides } from './resolve.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const plan = (text: string, overrides: CliOverrides = {}): Promise<Plan> =>
  planPipeline(resolvePipeline(loadPipeline(`${fixtures}p.yaml`, text), overrides, '/work/x'));
const issuesOf = async (text: string, overrides: CliOverrides = {}) => {
  try {
    await plan(text, overrides);
  } catch (error) {
    if (error instanceof PipelineError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw error;
  }
  return [];
};

const base = `name: t
plugins: [./toy-pruner.mjs]
defaults:
  task: sst2
  model: { size: tiny }
  train: { epochs: 3, batch_size: 8 }
  pruning: { end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 }
methods:
  toy: { frequency_steps: 7 }
`;

describe('planPipeline', () => {
  it('expands the matrix into jobs with stable ids, folders and full specs', async () => {
    const p = await plan(`${base}matrix:\n  method: [baseline, toy]\n  seed: [1, 2]\n  task: [sst2, rte]\n`);
    expect(p.jobs.map((j) => j.id)).toEqual([
      'baseline_sst2_seed1', 'baseline_rte_seed1', 'baseline_sst2_seed2', 'baseline_rte_seed2',
      'toy_sst2_seed1', 'toy_rte_seed1', 'toy_sst2_seed2', 'toy_rte_seed2',
    ]);
    const toy = p.jobs.find((j) => j.id === 'toy_rte_seed2')!;
    expect(toy.spec.output_dir).toBe('/work/x/results/t/results_toy_rte_seed2');
    expect(toy.spec.train).toMatchObject({ epochs: 3, batch_size: 8, seed: 2, learning_rate: 5e-4 });
    expect(toy.spec.task).toBe('rte');
    // Validated by the pruner's own schema, with its defaults applied.
    expect(toy.spec.method_options).toEqual({ frequency_steps: 7, schedule: 'linear' });
    expect(toy.spec.plugins).toEqual([`${fixtures}toy-pruner.mjs`]);
    expect(p.jobs.find((j) => j.id === 'baseline_sst2_seed1')!.spec.method_options).toEqual({});
    expect(p.concurrency).toBe(1);
  });

  it('makes a model.from folder absolute against the pipeline file, keeps a Hub id, and names jobs by the model', async () => {
    const p = await plan(`name: t\ndefaults: { task: sst2 }\nmatrix:\n  model.from: [./models/bert-x, prajjwal1/bert-mini@main]\n`);
    expect(p.jobs.map((j) => j.id)).toEqual(['baseline_sst2_bert-x', 'baseline_sst2_bert-mini-main']);
    expect(p.jobs.map((j) => j.spec.model)).toEqual([{ from: `${fixtures}models/bert-x` }, { from: 'prajjwal1/bert-mini@main' }]);
    expect(await issuesOf(`name: t\ndefaults: { task: sst2, model: { from: org/x, size: tiny } }\n`)).toEqual([
      expect.stringMatching(/job baseline_sst2: invalid job spec:\n {2}- model.size: cannot be set with model.from \(org\/x gives the shape\)/),
    ]);
  });

  it('refuses a model.from folder that is not a model before any job runs, at the field', async () => {
    expect(await issuesOf(`name: t\ndefaults: { task: sst2 }\nmatrix:\n  model.from: [./toy-pruner.mjs, org/hub-model]\n`)).toEqual([
      `4:16 matrix["model.from"][0]: ${fixtures}toy-pruner.mjs: a file, not a model folder`,
    ]);
    expect(await issuesOf(`name: t\ndefaults: { task: sst2, model: { from: ../fixtures } }\n`)).toEqual([
      expect.stringMatching(/^2:40 defaults\.model\.from: \S+\/test\/fixtures: not a model folder \(expected a gbp model\/ folder/),
    ]);
  });

  it('plans an export stage: no jobs, the jobs of the stages it needs, its format and dtype', async () => {
    const p = await plan(`name: t\ndefaults: { task: sst2 }\nstages:\n  dense: {}\n  pruned: { needs: [dense], defaults: { method: magnitude } }\n  hf: { needs: [pruned], export: { format: hf, dtype: float16 } }\n`);
    expect(p.jobs.map((j) => j.id)).toEqual(['baseline_sst2_dense', 'magnitude_sst2_pruned']);
    expect(p.exports).toEqual([{ stage: 'hf', jobs: ['magnitude_sst2_pruned'], format: 'hf', dtype: 'float16' }]);
  });

  it('--from replaces the file\'s model (its size and shape go with it) and keeps max_len', async () => {
    const p = await plan(`${base}`, { set: { model: { from: 'org/bert-x' } } });
    expect(p.jobs.map((j) => j.spec.model)).toEqual([{ from: 'org/bert-x' }]);
    const withLen = await plan(`${base.replace('model: { size: tiny }', 'model: { size: tiny, d_model: 64, max_len: 32 }')}`, { set: { model: { from: 'org/bert-y' } } });
    expect(withLen.jobs.map((j) => j.spec.model)).toEqual([{ from: 'org/bert-y', max_len: 32 }]);
  });

  it('records in each job spec the module its pruner came from, for the worker to import as is', async () => {
    const p = await plan(`${base}matrix:\n  method: [baseline, toy, magnitude]\n`);
    const spec = (id: string) => p.jobs.find((j) => j.id === id)!.spec;
    expect(spec('toy_sst2').method_module).toBe(pathToFileURL(`${fixtures}toy-pruner.mjs`).href);
    expect(spec('toy_sst2').method).toBe('toy');
    expect(spec('magnitude_sst2').method_module).toMatch(/^file:\/\/.*\/pruner-magnitude\/dist\/index\.js$/);
    expect(spec('baseline_sst2')).not.toHaveProperty('method_module');
  });

  it('names a job method_task when nothing else varies', async () => {
    const p = await plan(`${base}matrix:\n  method: [toy]\n  model.size: [tiny]\n`);
    expect(p.jobs.map((j) => j.id)).toEqual(['toy_sst2']);
  });

  it('takes pruning.granularity as a matrix axis: one job per value, ids named by it', async () => {
    const p = await plan(`${base}matrix:\n  method: [toy]\n  pruning.granularity: [weight, block, structured]\n  pruning.block: [[16, 8]]\n`);
    expect(p.jobs.map((j) => j.id)).toEqual(['toy_sst2_weight', 'toy_sst2_block', 'toy_sst2_structured']);
    expect(p.jobs.map((j) => j.spec.pruning.granularity)).toEqual(['weight', 'block', 'structured']);
    expect(p.jobs[1]!.spec.pruning.block).toEqual([16, 8]);
    expect(await issuesOf(`${base}matrix:\n  method: [toy]\n  pruning.granularity: [heads]\n  pruning.block: [[0, 8]]\n`)).toEqual([
      expect.stringMatching(/matrix\["pruning.granularity"\]\[0\]: expected one of weight, block, structured; got "heads"/),
      expect.stringMatching(/matrix\["pruning.block"\]\[0\]\[0\]: expected .*>= 1; got 0/),
    ]);
  });

  it('defaults granularity to weight and block to [32, 32]', async () => {
    const p = await plan(`${base}matrix:\n  method: [toy]\n`);
    expect(p.jobs[0]!.spec.pruning).toMatchObject({ granularity: 'weight', block: [32, 32] });
  });

  it('applies command-line overrides over the file, removing the axes they fix', async () => {
    const p = await plan(`${base}matrix:\n  method: [baseline]\n  train.epochs: [2, 4]\nrun: { parallel: true }\n`, {
      set: { train: { epochs: 1, learning_rate: 1e-3 }, pruning: { end_sparsity: 0.9 } },
      axes: { method: ['toy'], 'model.size': ['tiny', 'small'] },
      methods: { toy: { schedule: 'cubic' } },
      run: { max_parallel_jobs: 3 },
      dataDir: 'glue',
    });
    expect(p.jobs.map((j) => j.id)).toEqual(['toy_sst2_tiny', 'toy_sst2_small']);
    expect(p.jobs[1]!.spec.train).toMatchObject({ epochs: 1, learning_rate: 1e-3 });
    expect(p.jobs[1]!.spec.model.size).toBe('small');
    expect(p.jobs[1]!.spec.pruning.end_sparsity).toBe(0.9);
    expect(p.jobs[1]!.spec.method_options).toEqual({ frequency_steps: 7, schedule: 'cubic' });
    expect(p.jobs[1]!.spec.data.dir).toBe('/work/x/glue');
    expect(p.concurrency).toBe(3);
  });

  it('reports bad method options at the option, through the pruner schema', async () => {
    const text = `${base}matrix:\n  method: [toy]\n`.replace('toy: { frequency_steps: 7 }', 'toy: { frequency_steps: 0, shape: round }');
    expect(await issuesOf(text)).toEqual([
      '9:10 methods.toy.frequency_steps: pruner toy: must be >= 1 (got 0)',
      '9:30 methods.toy.shape: pruner toy: is not a known option',
    ]);
  });

  it('reports an unknown method where the matrix names it', async () => {
    const issues = await issuesOf(`${base}matrix:\n  method: [baseline, nonexistent-pruner]\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^11:22 matrix\.method\[1\]: cannot resolve pruner 'nonexistent-pruner'/);
  });

  it('plans stages: a pruning stage starts from the matching dense job; a report compares', async () => {
    const p = await plan(`name: staged
plugins: [./toy-pruner.mjs]
defaults: { model: { size: tiny }, train: { epochs: 2 } }
stages:
  dense:
    matrix: { task: [sst2, rte] }
  prune:
    needs: [dense]
    init_from: dense
    matrix: { method: [toy], task: [sst2, rte] }
  compare:
    needs: [dense, prune]
    report: comparison
`);
    expect(p.jobs.map((j) => [j.id, j.needs.length, j.initFrom])).toEqual([
      ['baseline_sst2_dense', 0, undefined],
      ['baseline_rte_dense', 0, undefined],
      ['toy_sst2_prune', 2, 'baseline_sst2_dense'],
      ['toy_rte_prune', 2, 'baseline_rte_dense'],
    ]);
    expect(p.reports).toEqual([{ stage: 'compare', jobs: p.jobs.map((j) => j.id) }]);
  });

  describe('train.distill.teacher', () => {
    const staged = (distil: string, dense = 'matrix: { task: [sst2, rte] }') => `name: staged
defaults: { model: { size: tiny }, train: { epochs: 2 } }
stages:
  dense:
    ${dense}
  compare:
    needs: [dense]
    report: comparison
  distil:
${distil}`;

    it('naming a stage: each job distils from the job of that stage with the same values on its axes (its job folder)', async () => {
      const p = await plan(staged(`    needs: [dense]
    defaults: { train: { distill: { teacher: dense, alpha: 0.5 } } }
    matrix: { task: [sst2, rte], seed: [1, 2] }
`));
      const distilled = p.jobs.filter((j) => j.stage === 'distil');
      expect(distilled.map((j) => [j.id, j.teacherFrom, j.spec.train.distill])).toEqual(
        [
          ['baseline_sst2_seed1_distil', 'baseline_sst2_dense'],
          ['baseline_sst2_seed2_distil', 'baseline_sst2_dense'],
          ['baseline_rte_seed1_distil', 'baseline_rte_dense'],
          ['baseline_rte_seed2_distil', 'baseline_rte_dense'],
        ].map(([id, from]) => [id, from, { teacher: `/work/x/results/staged/results_${from}`, alpha: 0.5, temperature: 2 }]),
      );
      expect(p.jobs.find((j) => j.stage === 'dense')).not.toHaveProperty('teacherFrom');
    });

    it('reports a stage not in needs, a report stage and no matching job at the field, once per field', async () => {
      expect(await issuesOf(staged(`    defaults: { train: { distill: { teacher: dense } } }
    matrix: { task: [sst2, rte] }
`))).toEqual(["10:46 stages.distil.defaults.train.distill.teacher: 'dense' names a stage: list it in needs of stage 'distil' to distil from its jobs"]);
      expect(await issuesOf(staged(`    needs: [compare]
    matrix: { task: [sst2], train.distill: [{ teacher: dense }, { teacher: compare }] }
`))).toEqual([
        "11:56 stages.distil.matrix[\"train.distill\"][0].teacher: 'dense' names a stage: list it in needs of stage 'distil' to distil from its jobs",
        "11:76 stages.distil.matrix[\"train.distill\"][1].teacher: 'compare' is a report stage; it has no models to distil from",
      ]);
      expect(await issuesOf(staged(`    needs: [dense]
    matrix: { task: [sst2] }
`, 'matrix: { task: [sst2], seed: [1, 2] }').replace('train: { epochs: 2 }', 'train: { epochs: 2, distill: { teacher: dense } }'))).toEqual([
        // Pipeline defaults: the dense stage itself would distil from itself, which it does not need.
        "2:76 defaults.train.distill.teacher: 'dense' is this stage: a stage cannot distil from its own jobs",
        "2:76 defaults.train.distill.teacher: teacher: job baseline_sst2_distil: no job of stage 'dense' has task=\"sst2\", train.seed=42",
      ]);
    });

    it('a path is relative to the pipeline file and must be a model folder; a matrix of teachers names jobs by their values', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gbp-teacher-'));
      try {
        await mkdir(join(dir, 'models', 'hf'), { recursive: true });
        await writeFile(join(dir, 'models', 'hf', 'config.json'), '{}');
        await mkdir(join(dir, 'models', 'empty'));
        const text = `name: t
defaults: { task: sst2, model: { size: tiny } }
matrix:
  train.distill: [{ teacher: models/hf, alpha: 0.5 }, { teacher: ./models/hf, alpha: 0.7 }, { teacher: org/bert-teacher, alpha: 0.9 }]
`;
        const p = await planPipeline(resolvePipeline(loadPipeline(join(dir, 'p.yaml'), text), {}, '/elsewhere'));
        expect(p.jobs.map((j) => [j.id, j.spec.train.distill])).toEqual([
          ['baseline_sst2_distillmodels-hf-0.5', { teacher: join(dir, 'models', 'hf'), alpha: 0.5, temperature: 2 }],
          ['baseline_sst2_distill.-models-hf-0.7', { teacher: join(dir, 'models', 'hf'), alpha: 0.7, temperature: 2 }],
          // Not a folder and org/name: a Hub id, fetched when the job starts.
          ['baseline_sst2_distillorg-bert-teacher-0.9', { teacher: 'org/bert-teacher', alpha: 0.9, temperature: 2 }],
        ]);
        const bad = text.replace('./models/hf', 'models/empty').replace('models/hf,', 'nowhere,');
        let issues: string[] = [];
        try {
          await planPipeline(resolvePipeline(loadPipeline(join(dir, 'p.yaml'), bad), {}, '/elsewhere'));
        } catch (error) {
          issues = (error as PipelineError).issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
        }
        expect(issues).toEqual([
          `4:30 matrix["train.distill"][0].teacher: 'nowhere' is neither a stage (main), an existing folder (looked for ${join(dir, 'nowhere')}) nor a Hub id (org/name)`,
          `4:64 matrix["train.distill"][1].teacher: ${join(dir, 'models', 'empty')}: not a model folder (expected a gbp model/ folder, a job folder with model/, or a Hugging Face folder with config.json and model.safetensors or pytorch_model.bin)`,
        ]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  it('reports a missing task and duplicate ids', async () => {
    expect(await issuesOf('name: t\nmatrix: { method: [baseline] }\n')).toEqual(['1:1 : no task: set defaults.task or a matrix task axis']);
    const dup = await issuesOf('name: t\ndefaults: { task: sst2 }\nmatrix: { method: [baseline, baseline] }\n');
    expect(dup).toEqual(["3:9 matrix: two jobs would share the id 'baseline_sst2'; make the matrix values distinct"]);
  });

  it('plans 100,000 jobs, init_from links included, in time linear in the jobs (well inside the test timeout)', async () => {
    // 2 stages of 50,000 jobs; each prune job finds its dense job by seed and learning rate.
    const seeds = Array.from({ length: 5000 }, (_, i) => i + 1).join(', ');
    const matrix = `{ seed: [${seeds}], train.learning_rate: [1e-5, 2e-5, 3e-5, 4e-5, 5e-5, 6e-5, 7e-5, 8e-5, 9e-5, 1e-4] }`;
    const p = await plan(
      `${base}stages:\n  dense:\n    matrix: ${matrix}\n  prune:\n    needs: [dense]\n    init_from: dense\n    defaults: { method: toy }\n    matrix: ${matrix}\n`,
    );
    expect(p.jobs).toHaveLength(100_000);
    expect(new Set(p.jobs.map((j) => j.id)).size).toBe(100_000);
    const last = p.jobs[p.jobs.length - 1]!;
    expect(last.id).toBe('toy_sst2_seed5000_learning_rate0.0001_prune');
    expect(last.initFrom).toBe('baseline_sst2_seed5000_learning_rate0.0001_dense');
  });
});

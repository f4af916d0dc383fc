/**
 * A pruner given as a relative path without './' (method: pruners/toy.mjs, and in plugins) is
 * resolved once, against the pipeline file's folder, at plan time: validate, the plan and the job
 * (run from another working directory) all find the same module.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJob } from '@gbp/core';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { planFromFile } from '../src/commands/plan-from-file.js';
import { captureIO } from './fixtures/capture-io.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dataDir = process.env.GBP_DATA_DIR ?? resolve(pkg, '../../../shared/data/glue');
const root = mkdtempSync(join(tmpdir(), 'gbp-plugin-path-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The pipeline lives in root/pipes; every command runs from root/elsewhere.
const pipes = join(root, 'pipes');
const elsewhere = join(root, 'elsewhere');
mkdirSync(join(pipes, 'pruners'), { recursive: true });
mkdirSync(elsewhere);
copyFileSync(join(pkg, 'test/fixtures/toy-pruner.mjs'), join(pipes, 'pruners/toy.mjs'));
const toy = join(pipes, 'pruners/toy.mjs');

const io = () => captureIO(elsewhere);

const MODEL = '{ size: tiny, num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 500, max_len: 16 }';
const pipeline = (name: string, body: string) => {
  writeFileSync(
    join(pipes, `${name}.yaml`),
    `name: ${name}\ndefaults:\n  task: rte\n  model: ${MODEL}\n  train: { epochs: 1, batch_size: 8, max_train_examples: 16, max_eval_examples: 8 }\n` +
      `  pruning: { end_sparsity: 0, start_epoch: 1, end_epoch: 1 }\n${body}\nrun: { output: ${join(root, 'out')}, backend: cpu }\n`,
  );
  return join('..', 'pipes', `${name}.yaml`);
};

describe('a pruner path relative to the pipeline file, without ./', () => {
  it('as method: validates, plans to an absolute path, and the job resolves it from another cwd', async () => {
    const file = pipeline('bymethod', 'matrix: { method: [pruners/toy.mjs] }\nmethods: { pruners/toy.mjs: { frequency_steps: 3 } }');
    const t = io();
    expect(await main(['validate', file], t.value), t.err()).toBe(0);
    expect(t.out()).toMatch(/toy_rte\s+main\s+\S*pruners\/toy\.mjs\s+rte/);
    const { plan } = await planFromFile(file, {}, 'gbp run', elsewhere);
    const spec = plan.jobs[0]!.spec;
    expect(spec.method).toBe(toy);
    expect(spec.method_options).toEqual({ frequency_steps: 3, schedule: 'linear' });
    // The worker runs with its own cwd (here the test's, not the pipeline's folder).
    expect(process.cwd()).not.toBe(pipes);
    if (!existsSync(join(dataDir, 'rte', 'train.jsonl'))) return console.warn(`runJob part skipped: no GLUE data at ${dataDir}`);
    const result = await runJob({ ...spec, data: { ...spec.data, dir: dataDir, source: 'local' } }, () => undefined);
    expect(result.epochs).toHaveLength(1);
  });

  it('as a plugins entry: the method named by the plugin resolves in the plan and in the job', async () => {
    const file = pipeline('byplugin', 'plugins: [pruners/toy.mjs]\nmatrix: { method: [toy] }');
    const t = io();
    expect(await main(['validate', file], t.value), t.err()).toBe(0);
    const { plan } = await planFromFile(file, {}, 'gbp run', elsewhere);
    expect(plan.jobs[0]!.spec.plugins).toEqual([toy]);
  });

  it('a method path that does not exist is a located error at validate time', async () => {
    const file = pipeline('missing', 'matrix: { method: [pruners/nope.mjs] }');
    const t = io();
    expect(await main(['validate', file], t.value)).toBe(2);
    expect(t.err()).toContain(`${file}:7:20: matrix.method[0]: cannot resolve pruner '${join(pipes, 'pruners/nope.mjs')}'`);
  });

  it('a plugins path that does not exist is one error, located at the plugins entry', async () => {
    const file = pipeline('nosuchplugin', 'plugins: [pruners/missing.mjs]\nmatrix: { method: [magnitude, movement] }');
    const t = io();
    expect(await main(['validate', file], t.value)).toBe(2);
    expect(t.err()).toMatch(
      new RegExp(`^1 error in pipeline .*\n  ${file.replace(/\./g, '\\.')}:7:11: plugins\\[0\\]: pruner module '${join(pipes, 'pruners/missing.mjs')}' \\(plugins\\): not found`),
    );
  });
});

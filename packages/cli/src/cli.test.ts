import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { writeStructuredPipeline } from '../test/result-fixtures.js';
import { captureIO } from '../test/fixtures/capture-io.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const io = (env: NodeJS.ProcessEnv = {}) => captureIO(dir, env);

const file = join(dir, 'p.yaml');
writeFileSync(file, 'name: p\ndefaults: { task: sst2, model: { size: tiny } }\nmatrix: { seed: [1, 2] }\n');

describe('gbp commands', () => {
  it('validate lists the jobs; overrides from flags and env apply', async () => {
    const t = io({ GBP_EPOCHS: '7' });
    expect(await main(['validate', file, '-t', 'rte'], t.value)).toBe(0);
    expect(t.out()).toContain(`${file}: valid; 2 jobs, 1 at a time`);
    expect(t.out()).toMatch(/baseline_rte_seed1\s+main\s+baseline\s+rte\s+tiny\s+7\s+-\s+results\/p\/results_baseline_rte_seed1/);
  });

  it('gbp run -h lists -g/--granularity; -g plans one job per granularity, each with its own id', async () => {
    const h = io();
    expect(await main(['run', '-h'], h.value)).toBe(0);
    expect(h.out()).toMatch(/-g, --granularity G\[,G\]\s+what pruning removes: weight, block \(pruning.block\) or structured/);
    const t = io();
    expect(await main(['validate', file, '-p', 'magnitude', '-g', 'weight,structured'], t.value)).toBe(0);
    expect(t.out()).toContain('4 jobs');
    for (const id of ['magnitude_sst2_seed1_weight', 'magnitude_sst2_seed1_structured', 'magnitude_sst2_seed2_structured']) expect(t.out()).toContain(id);
  });

  it('exits 2 with every located error of an invalid file, and for usage errors', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: p\ndefaults: { task: sst9, train: { epochs: -1 } }\n');
    const t = io();
    expect(await main(['run', bad], t.value)).toBe(2);
    expect(t.err()).toContain(`2 errors in pipeline ${bad}:`);
    expect(t.err()).toContain(`${bad}:2:19: defaults.task: expected one of sst2,`);
    expect(t.err()).toContain(`${bad}:2:42: defaults.train.epochs: expected a number >= 1; got -1`);
    const u = io();
    expect(await main(['run'], u.value)).toBe(2);
    expect(u.err()).toContain('gbp run: expected one pipeline file, got none');
    const v = io();
    expect(await main(['frobnicate'], v.value)).toBe(2);
    const m = io();
    expect(await main(['validate', 'missing.yaml'], m.value)).toBe(2);
    expect(m.err()).toContain('gbp validate: no such pipeline file: missing.yaml');
    const w = io({ GBP_EPOCHS: 'x' });
    expect(await main(['run', file], w.value)).toBe(2);
    expect(w.err()).toContain("GBP_EPOCHS must be a positive integer, got 'x'");
  });

  it('reports schema errors and pruner option errors of a file in one run, in file order', async () => {
    const both = join(dir, 'both.yaml');
    writeFileSync(both, 'name: p\ndefaults:\n  task: sst3\nmatrix:\n  method: [magnitude]\nmethods:\n  magnitude: { scope: everywhere }\n');
    const t = io();
    expect(await main(['validate', both], t.value)).toBe(2);
    expect(t.err()).toBe(
      `2 errors in pipeline ${both}:\n` +
        `  ${both}:3:9: defaults.task: expected one of sst2, mnli, qnli, rte, wnli, mrpc, cola, stsb; got "sst3"\n` +
        `  ${both}:7:16: methods.magnitude.scope: pruner magnitude: must be one of "global", "per_layer" (got "everywhere")\n`,
    );
    const flags = io();
    expect(await main(['run', both, '-ps', '0', '-e', 'x'], flags.value)).toBe(2);
    expect(flags.err()).toBe(
      "gbp run: -ps/--pruning-start must be a positive integer, got '0'\ngbp run: -e/--epochs must be a positive integer, got 'x'\n",
    );
  });

  it('validate plans a pipeline that distils from a stage, and refuses a teacher stage missing from needs at its line', async () => {
    const distil = join(dir, 'distil.yaml');
    const text = (needs: string) =>
      `name: d\ndefaults: { task: sst2, model: { size: tiny } }\nstages:\n  dense: {}\n  distil:\n${needs}    defaults: { train: { distill: { teacher: dense, temperature: 3 } } }\n`;
    writeFileSync(distil, text('    needs: [dense]\n'));
    const t = io();
    expect(await main(['validate', distil], t.value)).toBe(0);
    expect(t.out()).toContain(`${distil}: valid; 2 jobs, 1 at a time`);
    expect(t.out()).toMatch(/baseline_sst2_distil\s+distil\s+baseline\s+sst2\s+tiny\s+3\s+baseline_sst2_dense\s/);
    writeFileSync(distil, text(''));
    const u = io();
    expect(await main(['validate', distil], u.value)).toBe(2);
    expect(u.err()).toBe(
      `1 error in pipeline ${distil}:\n  ${distil}:6:46: stages.distil.defaults.train.distill.teacher: 'dense' names a stage: list it in needs of stage 'distil' to distil from its jobs\n`,
    );
  });

  it('info prints the model table for presets and overrides', async () => {
    const t = io();
    expect(await main(['info', '-m', 'tiny', '-m', 'base'], t.value)).toBe(0);
    const lines = t.out().trim().split('\n');
    expect(lines[0]).toMatch(/^size\s+layers\s+hidden\s+heads\s+FFN\s+vocab\s+max len\s+params \(M\)\s+gated \(M\)$/);
    expect(lines[2]).toMatch(/^tiny\s+2\s+256\s+4\s+512\s+30522\s+128\s+9\.\d\s+1\.0$/);
    expect(lines[3]).toMatch(/^base\s+12\s+768\s+12\s+3072\s+30522\s+128\s+10[89]\.\d\s+84\.9$/);
    const o = io();
    expect(await main(['info', '-m', 'tiny', '--num-layers', '4'], o.value)).toBe(0);
    expect(o.out()).toMatch(/tiny\s+4\s+256/);
  });

  const refModel = fileURLToPath(new URL('../../../../shared/models/bert-ref-micro', import.meta.url));
  it.skipIf(!existsSync(refModel))('info --from counts a pretrained model as transformers does', async () => {
    const t = io();
    expect(await main(['info', '--from', refModel], t.value)).toBe(0);
    const lines = t.out().trim().split('\n');
    expect(lines[0]).toMatch(/^model\s+layers\s+hidden\s+heads\s+FFN\s+vocab\s+max len\s+params \(M\)\s+gated \(M\)\s+params$/);
    // The fixture's README: 141,890 parameters (BertForSequenceClassification, 2 labels).
    expect(lines[2]).toMatch(/bert-ref-micro\s+2\s+64\s+4\s+128\s+1036\s+64\s+0\.1\s+0\.1\s+141,890$/);
    // 3 labels and 32 positions: 141,890 - 32 * 64 position rows + 64 + 1 for the third label.
    const o = io();
    expect(await main(['info', '--from', refModel, '--num-labels', '3', '--max-len', '32', '--json'], o.value)).toBe(0);
    expect(JSON.parse(o.out())[0]).toMatchObject({ model_size: refModel, num_params: 139_907, num_labels: 3, max_len: 32 });
    const bad = io();
    expect(await main(['info', '--from', refModel, '-m', 'tiny'], bad.value)).toBe(2);
    expect(bad.err()).toContain('--from gives the shape; it cannot be combined with -m');
    const missing = io();
    expect(await main(['info', '--from', './no-such-model'], missing.value)).toBe(1);
    expect(missing.err()).toMatch(/^gbp: \S+\/no-such-model: no such folder \(and not a Hugging Face Hub id such as org\/name or org\/name@revision\)\n$/);
  });

  it('warns on stderr when a pipeline plans more jobs than run.max_jobs_warning, and still validates it', async () => {
    const many = join(dir, 'many.yaml');
    writeFileSync(many, 'name: many\ndefaults: { task: sst2 }\nmatrix: { seed: [1, 2, 3] }\nrun: { max_jobs_warning: 2 }\n');
    const t = io();
    expect(await main(['validate', many], t.value)).toBe(0);
    expect(t.err()).toBe(
      `gbp validate: warning: ${many} plans 3 jobs, more than run.max_jobs_warning (2); check the matrix axes, or raise run.max_jobs_warning if this is intended\n`,
    );
    const quiet = io();
    expect(await main(['validate', file], quiet.value)).toBe(0);
    expect(quiet.err()).toBe('');
  });

  it('plugins lists built-ins, installed gbp-pruner-* packages and each --plugin, a bad --plugin failing alone', async () => {
    const project = join(dir, 'plugins-project');
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    };
    const pruner = (name: string, version: string) =>
      `export default { name: '${name}', version: '${version}', optionsSchema: { type: 'object', properties: { rate: { type: 'number', default: 0.5 } } }, create() { return { state: () => null, restore() {} }; } };\n`;
    write('node_modules/gbp-pruner-rand/package.json', JSON.stringify({ name: 'gbp-pruner-rand', type: 'module', exports: './index.js' }));
    write('node_modules/gbp-pruner-rand/index.js', pruner('rand', '1.2.3'));
    write('node_modules/@acme/gbp-pruner-obd/package.json', JSON.stringify({ name: '@acme/gbp-pruner-obd', type: 'module', main: 'index.js' }));
    write('node_modules/@acme/gbp-pruner-obd/index.js', pruner('obd', '0.0.1'));
    write('local.mjs', pruner('local', '0.0.2'));
    const t = io();
    t.value.cwd = project;
    expect(await main(['plugins', '--plugin', './local.mjs', '--plugin', './missing.mjs'], t.value)).toBe(1);
    const out = t.out();
    for (const builtin of ['magnitude', 'movement', 'spt']) expect(out).toMatch(new RegExp(`^${builtin}  0\\.1\\.0  @gbp/pruner-${builtin} \\(built in\\)$`, 'm'));
    expect(out).toContain(`\nrand  1.2.3  gbp-pruner-rand (installed, ${join(project, 'node_modules', 'gbp-pruner-rand')})\n  rate: number = 0.5\n`);
    expect(out).toContain(`\n@acme/gbp-pruner-obd  0.0.1  @acme/gbp-pruner-obd (installed, ${join(project, 'node_modules', '@acme', 'gbp-pruner-obd')})\n`);
    expect(out).toContain('\nlocal  0.0.2  ./local.mjs (--plugin)\n');
    // A path is only looked for as a file: the message says where.
    expect(out).toContain(
      `\n./missing.mjs (--plugin): not available: pruner module './missing.mjs' (plugins): not found as a path: ${join(project, 'missing.mjs')} (also with .js, .mjs, /index.js)`,
    );
    expect(out.match(/not available/g)).toHaveLength(1);
  });

  it('plugins FILE also lists the plugins of the pipeline file (relative to the file); a file with errors exits 2', async () => {
    const project = join(dir, 'plugins-file');
    mkdirSync(join(project, 'pipes'), { recursive: true });
    writeFileSync(join(project, 'toy.mjs'), `export default { name: 'toy', version: '0.0.3', optionsSchema: { type: 'object' }, create() { return { state: () => null, restore() {} }; } };\n`);
    writeFileSync(join(project, 'pipes', 'p.yaml'), 'name: p\nplugins: [../toy.mjs]\ndefaults: { task: sst2 }\n');
    const t = io();
    t.value.cwd = project;
    expect(await main(['plugins', 'pipes/p.yaml'], t.value)).toBe(0);
    expect(t.out()).toContain(`\ntoy  0.0.3  ${join(project, 'toy.mjs')} (plugins of pipes/p.yaml)\n`);
    writeFileSync(join(project, 'pipes', 'bad.yaml'), 'name: p\nplugins: 3\n');
    const bad = io();
    bad.value.cwd = project;
    expect(await main(['plugins', 'pipes/bad.yaml'], bad.value)).toBe(2);
    expect(bad.err()).toMatch(/^1 error in pipeline pipes\/bad\.yaml:\n {2}pipes\/bad\.yaml:2:10: plugins: /);
    expect(bad.out()).toBe('');
  });

  it('a refused run exits 2 with the reason alone (no stack) and lets go of the signal handlers', async () => {
    const theirs = join(dir, 'theirs', 'p');
    mkdirSync(theirs, { recursive: true });
    writeFileSync(join(theirs, 'notes.txt'), 'mine\n');
    const t = io();
    let attached = 0;
    t.value.onSignals = () => {
      attached += 1;
      return () => (attached -= 1);
    };
    expect(await main(['run', file, '--output', join(dir, 'theirs')], t.value)).toBe(2);
    expect(t.err()).toBe(
      `${theirs} is not empty and is not a gbp output folder (no .gbp-output or plan.json; it holds notes.txt); ` +
        'choose another --output, or pass --force to write into it (gbp never overwrites files already there)\n',
    );
    expect(attached).toBe(0);
  });

  it('an output folder that cannot be made: exit 1, the path and the reason in one line', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a folder\n');
    const t = io();
    expect(await main(['run', file, '--output', blocker], t.value)).toBe(1);
    expect(t.err()).toBe(`gbp: cannot write ${join(blocker, 'p')}: ENOTDIR: not a directory\n`);
  });

  it('compare never overwrites a summary.md it did not write, and marks the folders it writes', async () => {
    const job = join(dir, 'cmp', 'pipe', 'results_magnitude_sst2');
    mkdirSync(job, { recursive: true });
    const rows = [1, 2].map((e) => [e, e * 10, 1e-4, 0.7 / e, 0.8 / e, 0.6 + 0.05 * e, 0.25 * e, 3.5 * e].join(','));
    writeFileSync(join(job, 'results_magnitude_20250102_030405.csv'), `epoch,step,lr,train_loss,eval_loss,accuracy,sparsity,wall_time_s\n${rows.join('\n')}\n`);
    const mine = join(dir, 'cmp', 'notes');
    mkdirSync(mine, { recursive: true });
    writeFileSync(join(mine, 'summary.md'), 'my notes\n');
    const t = io();
    expect(await main(['compare', join(dir, 'cmp', 'pipe'), '-o', mine], t.value)).toBe(2);
    expect(t.err()).toBe(`gbp compare: ${mine} is not a gbp output folder and already holds ${join(mine, 'summary.md')}; choose another -o, or move them away\n`);
    expect(readFileSync(join(mine, 'summary.md'), 'utf8')).toBe('my notes\n');
    const fresh = join(dir, 'cmp', 'fresh');
    expect(await main(['compare', join(dir, 'cmp', 'pipe'), '-o', fresh], io().value)).toBe(0);
    // A second compare into the folder gbp wrote may replace its own files.
    expect(await main(['compare', join(dir, 'cmp', 'pipe'), '-o', fresh], io().value)).toBe(0);
    expect(readFileSync(join(fresh, 'summary.md'), 'utf8')).toContain('magnitude');
  });

  it('compare lists every plot it wrote and says how to measure the missing speedups', async () => {
    const pipe = join(dir, 'structured');
    writeStructuredPipeline(pipe, false);
    const t = io();
    expect(await main(['compare', pipe], t.value)).toBe(0);
    expect(t.out()).toBe(
      `5 jobs compared\nplot: ${join(pipe, 'pruning_methods_comparison_dual_axis.png')}\nplot: ${join(pipe, 'accuracy_vs_sparsity.png')}\n` +
        `summary: ${join(pipe, 'summary.md')}\n` +
        `note: accuracy_vs_speedup.png: no measured speedups (no bench.json in ${pipe}); measure them with: gbp bench ${pipe} --batch 8 --seq 64 --json ${pipe}/bench.json, then gbp compare ${pipe}\n`,
    );
  });

  it('compare draws pareto.png when a job folder holds search/candidates.csv (a search job, with no epochs)', async () => {
    const pipe = join(dir, 'searched');
    writeStructuredPipeline(pipe, true);
    mkdirSync(join(pipe, 'results_search', 'search'), { recursive: true });
    writeFileSync(join(pipe, 'results_search', 'search', 'candidates.csv'), 'arch,measured_ms,fitness,chosen\n"L1-h2-f128",20,0.8,true\n');
    const t = io();
    expect(await main(['compare', pipe], t.value)).toBe(0);
    expect(t.out()).toContain(`5 jobs compared\n`);
    expect(t.out()).toContain(`plot: ${join(pipe, 'pareto.png')}\n`);
    expect(existsSync(join(pipe, 'pareto.png'))).toBe(true);
  });

  it("compare never overwrites the user's accuracy_vs_sparsity.png either", async () => {
    const mine = join(dir, 'cmp', 'my-plots');
    mkdirSync(mine, { recursive: true });
    writeFileSync(join(mine, 'accuracy_vs_sparsity.png'), 'mine');
    writeStructuredPipeline(join(dir, 'structured2'), true);
    const t = io();
    expect(await main(['compare', join(dir, 'structured2'), '-o', mine], t.value)).toBe(2);
    expect(t.err()).toBe(`gbp compare: ${mine} is not a gbp output folder and already holds ${join(mine, 'accuracy_vs_sparsity.png')}; choose another -o, or move them away\n`);
    expect(readFileSync(join(mine, 'accuracy_vs_sparsity.png'), 'utf8')).toBe('mine');
  });
});

import { describe, expect, it } from 'vitest';
import { PipelineError } from './errors.js';
import { loadPipeline } from './load.js';

const errorsOf = (text: string): string[] => {
  try {
    loadPipeline('p.yaml', text);
  } catch (error) {
    if (error instanceof PipelineError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw error;
  }
  return [];
};

describe('loadPipeline', () => {
  it('accepts the design example', () => {
    const text = `
name: sweep
defaults:
  task: sst2
  model: { size: base, max_len: 128 }
  train: { epochs: 25, batch_size: 96, learning_rate: 2.0e-5, seed: 42 }
  pruning: { start_sparsity: 0.0, end_sparsity: 0.99, start_epoch: 4, end_epoch: 23 }
matrix:
  method: [baseline, magnitude, movement, spt]
methods:
  movement: { frequency_steps: 400, schedule: linear }
run: { parallel: 2, output: results, backend: auto }
`;
    expect(errorsOf(text)).toEqual([]);
    expect(loadPipeline('p.yaml', text).file.matrix?.method).toEqual(['baseline', 'magnitude', 'movement', 'spt']);
  });

  it('reports every error of a file at once with line, column, field and expectation', () => {
    const text = [
      'name: bad name', // 1
      'defaults:', // 2
      '  task: sst3', // 3
      '  train:', // 4
      '    epochs: 0', // 5
      '    batch_size: many', // 6
      '  pruning: { end_sparsity: 1.5 }', // 7
      '  modle: { size: tiny }', // 8
      'matrix:', // 9
      '  model.size: [tiny, huge]', // 10
      'run: { parallel: -1 }', // 11
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      "1:7 name: expected a string matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$; got \"bad name\"",
      '3:9 defaults.task: expected one of sst2, mnli, qnli, rte, wnli, mrpc, cola, stsb; got "sst3"',
      '5:13 defaults.train.epochs: expected a number >= 1; got 0',
      '6:17 defaults.train.batch_size: expected integer; got "many"',
      '7:28 defaults.pruning.end_sparsity: expected a number <= 1; got 1.5',
      "8:3 defaults.modle: unknown field 'modle'; expected one of: method, task, model, train, pruning, tokenizer, supernet, search",
      '10:22 matrix["model.size"][1]: expected one of tiny, small, base, large; got "huge"',
      '11:18 run.parallel: expected boolean, or a number >= 1; got -1',
    ]);
  });

  it('names the file in the message and reports YAML syntax errors with their position', () => {
    try {
      loadPipeline('pipelines/x.yaml', 'name: x\ndefaults: {task: sst2\n');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PipelineError);
      expect((error as Error).message).toMatch(/^1 error in pipeline pipelines\/x\.yaml:\n {2}pipelines\/x\.yaml:\d+:\d+: YAML: /);
    }
  });

  it('accepts run.backend webgpu and lists it among the backends', () => {
    expect(errorsOf('name: g\ndefaults: { task: sst2 }\nrun: { backend: webgpu }')).toEqual([]);
    expect(errorsOf('name: g\ndefaults: { task: sst2 }\nrun: { backend: metal }')).toEqual(['3:17 run.backend: expected one of auto, wasm, cpu, tensorflow, cuda, webgpu; got "metal"']);
  });

  it('requires a name', () => {
    expect(errorsOf('defaults: { task: sst2 }')).toEqual(["1:1 name: missing required field 'name'"]);
  });

  it('checks the stage graph: unknown needs, cycles, init_from, report stages', () => {
    const text = `name: staged
stages:
  dense:
    needs: [prune]
    defaults: { task: sst2 }
  prune:
    needs: [dense, ghost]
    init_from: report
  report:
    report: comparison
    matrix: { method: [magnitude] }
`;
    expect(errorsOf(text)).toEqual([
      "7:20 stages.prune.needs[1]: unknown stage 'ghost'; stages are: dense, prune, report",
      "8:16 stages.prune.init_from: 'report' must also be listed in needs",
      "9:3 stages.report: a report stage needs the stages it compares (needs: [...])",
      "11:5 stages.report.matrix: a report stage runs no jobs; remove 'matrix'",
      '4:12 stages.dense.needs: stages depend on each other in a cycle: dense -> prune -> dense',
    ].sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b)));
  });

  it('checks export stages: no jobs of their own, the stages they export, a dtype the format writes', () => {
    const text = `name: staged
stages:
  dense:
    defaults: { task: sst2 }
  hf:
    export: { format: hf, dtype: int8 }
    matrix: { method: [magnitude] }
  lonely:
    export: { format: hf }
  prune:
    needs: [hf]
    init_from: hf
`;
    expect(errorsOf(text)).toEqual([
      "5:3 stages.hf: an export stage needs the stages it exports (needs: [...])",
      "6:34 stages.hf.export.dtype: format hf writes float32 or float16, not 'int8'",
      "7:5 stages.hf.matrix: an export stage runs no jobs; remove 'matrix'",
      "8:3 stages.lonely: an export stage needs the stages it exports (needs: [...])",
      "12:16 stages.prune.init_from: 'hf' is an export stage; it has no checkpoints",
    ]);
    expect(errorsOf('name: x\nstages:\n  a: { defaults: { task: sst2 } }\n  b: { needs: [a], export: { format: caffe } }\n')).toEqual([
      '4:38 stages.b.export.format: expected one of hf, onnx, tfjs; got "caffe"',
    ]);
  });

  it('refuses an alias bomb and an alias without its anchor as located YAML errors', () => {
    const bomb = ['name: bomb', 'a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd']] as const) bomb.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    expect(errorsOf(bomb.join('\n'))).toEqual([
      '3:8 : YAML: aliases expand to too much data (over 100 nodes through aliases; an "alias bomb"?); write the values out or nest fewer aliases',
    ]);
    expect(errorsOf('name: x\ndefaults: { task: sst2, model: *nope }\n')).toEqual([
      '2:32 : YAML: Unresolved alias (the anchor must be set before the alias): nope',
    ]);
    // A few aliases are fine.
    expect(errorsOf('name: x\ndefaults: { task: &t sst2 }\nmatrix: { task: [*t, rte] }\n')).toEqual([]);
  });
});

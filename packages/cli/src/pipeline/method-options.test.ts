import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PipelineError } from './errors.js';
import { checkPipeline } from './load.js';
import { methodSectionIssues } from './method-options.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Paths of the failing checks' issues, and the methods sections' issues in file order as `line:col path: message`. */
const issuesOf = async (text: string, overrides: Parameters<typeof methodSectionIssues>[2] = {}) => {
  const { source, issues } = checkPipeline(`${fixtures}p.yaml`, text);
  const extra = await methodSectionIssues(source, issues, overrides, '/work/x');
  return { failed: issues.map((i) => i.path), methods: (extra.length > 0 ? new PipelineError(extra).issues : []).map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`) };
};

describe('methodSectionIssues', () => {
  it('checks well-formed methods entries of a file that failed elsewhere, top level and per stage', async () => {
    const text = [
      'name: t', // 1
      'plugins: [./toy-pruner.mjs]', // 2
      'defaults: { task: sst3, method: toy }', // 3
      'methods:', // 4
      '  toy: { frequency_steps: 0, shape: round }', // 5
      'stages:', // 6
      '  a:', // 7
      '    matrix: { method: [magnitude] }', // 8
      '    methods:', // 9
      '      magnitude: { scope: everywhere }', // 10
    ].join('\n');
    const { failed, methods } = await issuesOf(text);
    expect(failed).toEqual(['defaults.task']);
    expect(methods).toEqual([
      '5:10 methods.toy.frequency_steps: pruner toy: must be >= 1 (got 0)',
      '5:30 methods.toy.shape: pruner toy: is not a known option',
      '10:20 stages.a.methods.magnitude.scope: pruner magnitude: must be one of "global", "per_layer" (got "everywhere")',
    ]);
  });

  it('skips malformed entries, unused or unknown methods, and everything when plugins is malformed', async () => {
    const head = 'name: t\ndefaults: { task: sst3 }\nmatrix: { method: [magnitude, nosuch] }\n';
    // A malformed entry is the schema's error alone; an unused method is not checked (as in planning).
    expect((await issuesOf(`${head}methods:\n  magnitude: [1]\n  movement: { nope: 1 }\n  nosuch: { a: 1 }\n`)).methods).toEqual([]);
    expect((await issuesOf(`${head}plugins: 3\nmethods:\n  magnitude: { scope: everywhere }\n`)).methods).toEqual([]);
    // Command-line options are merged over the file's, as planning does.
    const spt = 'name: t\ndefaults: { task: sst3 }\nmatrix: { method: [spt] }\nmethods:\n  spt: { explore_per_layer: maybe }\n';
    expect((await issuesOf(spt)).methods).toHaveLength(1);
    expect((await issuesOf(spt, { methods: { spt: { explore_per_layer: true } } })).methods).toEqual([]);
    // Methods named by -p count as used.
    const flagged = `name: t\ndefaults: { task: sst3 }\nmethods:\n  magnitude: { scope: everywhere }\n`;
    expect((await issuesOf(flagged)).methods).toEqual([]);
    expect((await issuesOf(flagged, { flagMethods: ['magnitude'] })).methods).toHaveLength(1);
  });

  it('adds nothing to YAML syntax errors', async () => {
    const { failed, methods } = await issuesOf('name: t\nmethods:\n  magnitude: { scope: everywhere\n');
    expect(failed).toEqual(['']);
    expect(methods).toEqual([]);
  });
});

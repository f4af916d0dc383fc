import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { definePruner } from '../hooks/define.js';
import { resolveJobSpec } from './spec.js';
import { resolveJobPruner } from './pruner.js';

const inline = definePruner<{ amount: number }>({
  name: 'inline',
  optionsSchema: { type: 'object', properties: { amount: { type: 'number', default: 0.5 } }, additionalProperties: false },
  create: () => ({ state: () => null, restore: () => undefined }),
});
// A plugin path that does not exist: a given definition must not load plugins at all.
const spec = (method: string, method_options: Record<string, unknown> = {}) => resolveJobSpec({ task: 'sst2', output_dir: '/nonexistent', method, method_options, plugins: ['./no-such-plugin.mjs'] });

describe('resolveJobPruner', () => {
  it('takes a given definition instead of resolving spec.method, with its options validated and defaulted', async () => {
    expect(await resolveJobPruner(spec('inline'), inline)).toEqual({ definition: inline, options: { amount: 0.5 } });
    await expect(resolveJobPruner(spec('inline', { amount: 'x' }), inline)).rejects.toThrow(/method_options\.amount/);
  });

  it('refuses a definition whose name is not spec.method, naming both', async () => {
    await expect(resolveJobPruner(spec('movement'), inline)).rejects.toMatchObject({
      code: 'JOB_SPEC_INVALID',
      message: "invalid job spec:\n  - method: is 'movement', but runJob was given the definition of pruner 'inline'; set method: inline",
    });
  });

  it('resolves spec.method when no definition is given (baseline: no pruner)', async () => {
    expect(await resolveJobPruner({ ...spec('baseline'), plugins: [] })).toBeNull();
  });

  it('imports the module the plan recorded (method_module) rather than searching for the name from its own cwd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gbp-method-module-'));
    try {
      const file = join(dir, 'toy-recorded.mjs');
      writeFileSync(file, `export default { name: 'toy-recorded', optionsSchema: { type: 'object' }, create: () => ({ state: () => null, restore() {} }) };\n`);
      const recorded = { ...spec('toy-recorded'), plugins: [], method_module: pathToFileURL(file).href };
      const found = await resolveJobPruner(recorded);
      expect(found?.definition.name).toBe('toy-recorded');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

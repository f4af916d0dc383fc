import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli.js';
import { captureIO } from '../../test/fixtures/capture-io.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-data-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const io = () => captureIO(dir);

const row = (label: unknown, idx: number) => JSON.stringify({ sentence1: 'a b', sentence2: 'c d', label, idx });
// rte/train.jsonl: line 3 has a bad label; rte/validation.jsonl: line 2 is not JSON.
const data = join(dir, 'glue');
mkdirSync(join(data, 'rte'), { recursive: true });
writeFileSync(join(data, 'rte', 'train.jsonl'), [row(0, 0), row(1, 1), row('x', 2), row(0, 3)].join('\n'));
writeFileSync(join(data, 'rte', 'validation.jsonl'), [row(0, 0), '{"sentence1": "a",', row(1, 2)].join('\n'));
mkdirSync(join(data, 'mrpc'));
writeFileSync(join(data, 'mrpc', 'train.jsonl'), [row(0, 0)].join('\n'));

const pipeline = (name: string, extra = '') => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ndefaults: { task: rte${extra} }\nmatrix: { seed: [1, 2, 3, 4] }\ndata: { dir: glue }\nrun: { output: out }\n`);
  return file;
};

describe('data rows are checked before any job starts', () => {
  it('gbp validate and gbp run exit 2 with every bad file, its line and field, and the jobs reading it', async () => {
    const file = pipeline('bad');
    for (const command of ['validate', 'run']) {
      const t = io();
      expect(await main([command, file], t.value)).toBe(2);
      const readers = 'read by baseline_rte_seed1, baseline_rte_seed2, baseline_rte_seed3 and 1 more';
      const lines = t.err().trimEnd().split('\n');
      expect(lines.slice(0, 2)).toEqual([
        `gbp ${command}: 2 data errors (found before any job started):`,
        `  ${join(data, 'rte', 'train.jsonl')}:3: field 'label': expected an integer in 0..1, got "x" (rte/train, ${readers})`,
      ]);
      // JSON.parse's own words vary with the Node version.
      expect(lines[2]).toMatch(new RegExp(`^  ${join(data, 'rte', 'validation.jsonl')}:2: invalid JSON \\(.+\\) \\(rte/validation, ${readers}\\)$`));
      expect(lines).toHaveLength(3);
    }
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('reads only as many rows as the jobs will (max_*_examples)', async () => {
    const t = io();
    expect(await main(['validate', pipeline('limited', ', train: { max_train_examples: 2, max_eval_examples: 1 }')], t.value), t.err()).toBe(0);
  });

  it('reports a split missing under data.dir when data.source is local; leaves Hub data to the job', async () => {
    const local = join(dir, 'local.yaml');
    writeFileSync(local, 'name: local\ndefaults: { task: mrpc }\ndata: { dir: glue, source: local }\n');
    const t = io();
    expect(await main(['validate', local], t.value)).toBe(2);
    expect(t.err()).toMatch(/^gbp validate: 1 data error \(found before any job started\):\n {2}no mrpc\/validation data under .*glue\./);
    // The reader's hint and the paths it tried are indented under the problem.
    expect(t.err()).toContain(`\n    Tried:\n      ${join(data, 'mrpc', 'validation.jsonl')}\n`);
    const auto = join(dir, 'auto.yaml');
    writeFileSync(auto, 'name: auto\ndefaults: { task: mrpc }\ndata: { dir: glue, offline: true }\n');
    const a = io();
    expect(await main(['validate', auto], a.value), a.err()).toBe(0);
  });
});

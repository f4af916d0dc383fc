import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInstalledPruners } from './installed.js';

let root = '';
const pkg = (dir: string, name: string) => {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ name }));
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gbp-installed-'));
  pkg('node_modules/gbp-pruner-far', 'gbp-pruner-far');
  pkg('node_modules/gbp-pruner-near', 'gbp-pruner-near (outer copy)');
  pkg('app/node_modules/gbp-pruner-near', 'gbp-pruner-near');
  pkg('app/node_modules/@acme/gbp-pruner-obd', '@acme/gbp-pruner-obd');
  pkg('app/node_modules/@gbp/pruner-magnitude', '@gbp/pruner-magnitude');
  pkg('app/node_modules/left-pad', 'left-pad');
  mkdirSync(join(root, 'app/node_modules/gbp-pruner-empty'), { recursive: true }); // no package.json
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('findInstalledPruners', () => {
  it('lists gbp-pruner-* and @scope/gbp-pruner-* from cwd upwards, the nearest copy of each, with the method that names it', () => {
    const found = findInstalledPruners(join(root, 'app', 'src')).filter((p) => p.dir.startsWith(root));
    expect(found).toEqual([
      { packageName: '@acme/gbp-pruner-obd', method: '@acme/gbp-pruner-obd', dir: join(root, 'app/node_modules/@acme/gbp-pruner-obd') },
      { packageName: 'gbp-pruner-far', method: 'far', dir: join(root, 'node_modules/gbp-pruner-far') },
      { packageName: 'gbp-pruner-near', method: 'near', dir: join(root, 'app/node_modules/gbp-pruner-near') },
    ]);
  });
});

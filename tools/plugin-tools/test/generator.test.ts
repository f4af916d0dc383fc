import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { logger, type Tree } from '@nx/devkit';
import { resolvePruner } from '@gbp/core';
import { checkPrunerConformance } from '@gbp/core/testing';
import prunerGenerator from '../src/generators/pruner/generator.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function workspace(coreVersion = '0.3.1'): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('packages/core/package.json', JSON.stringify({ name: '@gbp/core', version: coreVersion }));
  return tree;
}

const json = (tree: Tree, path: string) => JSON.parse(tree.read(path, 'utf-8')!);

describe('pruner generator (tree)', () => {
  it('scaffolds gbp-pruner-<name> with a core peer, build/test scripts, tsconfigs, a conformance test and a README', async () => {
    const tree = workspace();
    await prunerGenerator(tree, { name: 'taylor-first' });
    const dir = 'packages/gbp-pruner-taylor-first';
    expect(tree.children(dir).sort()).toEqual(['.gitignore', 'README.md', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json', 'vitest.config.ts']);
    expect(tree.children(`${dir}/src`).sort()).toEqual(['conformance.test.ts', 'index.test.ts', 'index.ts']);
    const pkg = json(tree, `${dir}/package.json`);
    expect(pkg).toMatchObject({
      name: 'gbp-pruner-taylor-first',
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
      files: ['dist', 'README.md'],
      peerDependencies: { '@gbp/core': '^0.3.1' },
      scripts: { build: 'tsc -p tsconfig.build.json', test: expect.stringMatching(/ --outputFile\.json=\.vitest-report\.json$/) },
    });
    // The test report stays in the package (where nx and tools/ci-summary.mjs read it), ignored with the build output.
    expect(tree.read(`${dir}/.gitignore`, 'utf-8')!.split('\n')).toEqual(expect.arrayContaining(['dist/', 'node_modules/', '.vitest-report.json']));
    expect(pkg.keywords).toContain('gbp-pruner');
    expect(pkg.dependencies).toBeUndefined(); // core only as a peer (and a dev dependency)
    expect(json(tree, `${dir}/tsconfig.json`).extends).toBe('../../tsconfig.base.json');
    const index = tree.read(`${dir}/src/index.ts`, 'utf-8')!;
    expect(index).toContain("name: 'taylor-first'");
    expect(index).toContain('export interface TaylorFirstOptions');
    expect(index).toContain('export default definePruner<TaylorFirstOptions>(');
    expect(tree.read(`${dir}/src/conformance.test.ts`, 'utf-8')).toContain("await describePrunerConformance(pruner, { options: { schedule: 'linear' }, expectedSparsity: 'linear' })");
    const readme = tree.read(`${dir}/README.md`, 'utf-8')!;
    expect(readme).toMatch(/^# gbp-pruner-taylor-first/);
    expect(readme).toContain('[PLUGINS.md](../../PLUGINS.md)');
    // One table row per option of the schema in index.ts.
    const options = [...index.matchAll(/^ {4}(\w+): \{ enum/gm)].map((m) => m[1]);
    expect(options).toEqual(['schedule', 'scope']);
    for (const option of options) expect(readme).toMatch(new RegExp(`^\\| \`${option}\` \\|`, 'm'));
  });

  it('prints next steps in order: install (a workspace package), build (jobs load dist/), test, and the plugin guide', async () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    try {
      (await prunerGenerator(workspace(), { name: 'steps' }))();
      const lines = info.mock.calls.map((c) => String(c[0])).join('\n').split('\n');
      const at = (command: string) => lines.findIndex((l) => l.trimStart().startsWith(command));
      expect(at('npm install')).toBeGreaterThan(0);
      expect(at('npx nx run gbp-pruner-steps:build')).toBeGreaterThan(at('npm install'));
      expect(at('npx nx run gbp-pruner-steps:test')).toBeGreaterThan(at('npx nx run gbp-pruner-steps:build'));
      expect(lines.at(-1)).toContain('PLUGINS.md');
      info.mockClear();
      (await prunerGenerator(workspace(), { name: 'outside', directory: 'libs/outside' }))();
      const outside = info.mock.calls.map((c) => String(c[0])).join('\n');
      expect(outside).not.toContain('npm install');
      expect(outside).toContain('(cd libs/outside && npm run build)');
      expect(outside).toContain('method: ./libs/outside');
    } finally {
      info.mockRestore();
    }
  });

  it('takes a scope, a directory and a description; offsets follow the depth', async () => {
    const tree = workspace();
    await prunerGenerator(tree, { name: 'obd', scope: '@acme', directory: 'libs/pruners/obd', description: 'Optimal brain damage, "second order"' });
    const pkg = json(tree, 'libs/pruners/obd/package.json');
    expect(pkg.name).toBe('@acme/gbp-pruner-obd');
    // A scoped package is named in full by a job (core looks up only gbp-pruner-<name> by the short name).
    const readme = tree.read('libs/pruners/obd/README.md', 'utf-8')!;
    expect(readme).toContain("`method: '@acme/gbp-pruner-obd'` resolves to this package");
    expect(readme).toContain("  method: [magnitude, '@acme/gbp-pruner-obd']");
    expect(readme).toContain("method: '@acme/gbp-pruner-obd',");
    expect(pkg.description).toBe('Optimal brain damage, "second order"');
    expect(json(tree, 'libs/pruners/obd/tsconfig.build.json').extends).toBe('../../../tsconfig.base.json');
    expect(tree.read('libs/pruners/obd/vitest.config.ts', 'utf-8')).toContain("from '../../../vitest.shared.js'");
  });

  it('refuses bad names, built-in names and a non-empty target', async () => {
    const tree = workspace();
    await expect(prunerGenerator(tree, { name: 'My_Pruner' })).rejects.toThrow(/pruner name 'My_Pruner' is not valid: use lower-case letters/);
    await expect(prunerGenerator(tree, { name: 'magnitude' })).rejects.toThrow(/taken by gbp itself/);
    await expect(prunerGenerator(tree, { name: 'x', scope: 'acme' })).rejects.toThrow(/scope 'acme' is not an npm scope/);
    tree.write('packages/gbp-pruner-dup/keep.txt', 'x');
    await expect(prunerGenerator(tree, { name: 'dup' })).rejects.toThrow(/packages\/gbp-pruner-dup already exists/);
  });
});

// Inside the repo (ignored tmp/), so @gbp/core and the toolchain resolve as in a workspace package.
const scratch = join(repoRoot, 'tmp', `plugin-tools-generator-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('a generated package', () => {
  it('typechecks, builds, loads as a pruner by path and passes the conformance kit', async () => {
    const tree = workspace();
    const directory = relative(repoRoot, join(scratch, 'gbp-pruner-fresh'));
    await prunerGenerator(tree, { name: 'fresh', directory });
    for (const change of tree.listChanges()) {
      if (!change.path.startsWith(directory) || change.content === null) continue;
      mkdirSync(dirname(join(repoRoot, change.path)), { recursive: true });
      writeFileSync(join(repoRoot, change.path), change.content);
    }
    const dir = join(repoRoot, directory);
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = (project: string) => {
      try {
        execFileSync(process.execPath, [tsc, '-p', join(dir, project)], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      } catch (error) {
        throw new Error(`tsc -p ${project} failed in ${dir} (is @gbp/core built? nx builds it first):\n${(error as { stdout?: string }).stdout}`);
      }
    };
    run('tsconfig.json');
    run('tsconfig.build.json');
    const def = await resolvePruner(dir);
    expect(def?.name).toBe('fresh');
    const report = await checkPrunerConformance(def!, { options: { schedule: 'cubic' }, expectedSparsity: 'cubic' });
    expect(report.results.filter((r) => r.status !== 'passed')).toEqual([]);
  });
});

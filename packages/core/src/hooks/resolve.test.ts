import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePruner } from './define.js';
import { findPruner, PrunerLoadError, PrunerOptionsError, PrunerResolutionError, resolvePruner, validatePrunerOptions } from './resolve.js';

let root = '';
const pruner = (name: string) => `export default { name: ${JSON.stringify(name)}, optionsSchema: { type: 'object' }, create() { return { state: () => null, restore() {} }; } };\n`;
function write(path: string, text: string) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}
const pkg = (dir: string, name: string, exportsField: unknown) => {
  write(`${dir}/package.json`, JSON.stringify({ name, type: 'module', exports: exportsField }));
  write(`${dir}/index.mjs`, pruner(name));
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gbp-resolve-'));
  write('local/my-pruner.mjs', pruner('mine'));
  write('local/plugins/p.mjs', pruner('custom'));
  write('local/plugins/shadow.mjs', pruner('magnitude'));
  write('local/not-a-pruner.mjs', 'export const name = "x";\n');
  write('local/bad-default.mjs', 'export default 42;\n');
  pkg('node_modules/gbp-pruner-foo', 'gbp-pruner-foo', { '.': { import: './index.mjs' } });
  pkg('node_modules/@acme/gbp-pruner-bar', '@acme/gbp-pruner-bar', './index.mjs');
  // A stand-in for the built-in, found first because cwd's node_modules are searched first.
  pkg('node_modules/@gbp/pruner-magnitude', '@gbp/pruner-magnitude', { '.': { types: './x.d.ts', import: './index.mjs' } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolvePruner', () => {
  const cwd = () => join(root, 'local');
  it('gives null for baseline', async () => {
    expect(await resolvePruner('baseline')).toBeNull();
  });
  it('maps a built-in alias to @gbp/pruner-X, searching node_modules from cwd upwards', async () => {
    expect((await resolvePruner('magnitude', { cwd: cwd() }))?.name).toBe('@gbp/pruner-magnitude');
  });
  it('finds gbp-pruner-X and a scoped name as is', async () => {
    expect((await resolvePruner('foo', { cwd: cwd() }))?.name).toBe('gbp-pruner-foo');
    expect((await resolvePruner('gbp-pruner-foo', { cwd: cwd() }))?.name).toBe('gbp-pruner-foo');
    expect((await resolvePruner('@acme/gbp-pruner-bar', { cwd: cwd() }))?.name).toBe('@acme/gbp-pruner-bar');
  });
  it('falls back to a path relative to cwd', async () => {
    expect((await resolvePruner('./my-pruner.mjs', { cwd: cwd() }))?.name).toBe('mine');
    expect((await resolvePruner('my-pruner.mjs', { cwd: cwd() }))?.name).toBe('mine');
    expect((await resolvePruner('./my-pruner', { cwd: cwd() }))?.name).toBe('mine');
    expect((await resolvePruner(join(cwd(), 'my-pruner.mjs')))?.name).toBe('mine');
  });
  it('finds plugins by their name, before built-ins', async () => {
    expect((await resolvePruner('custom', { cwd: cwd(), plugins: ['./plugins/p.mjs'] }))?.name).toBe('custom');
    expect((await resolvePruner('magnitude', { cwd: cwd(), plugins: ['./plugins/shadow.mjs'] }))?.create).toBeTypeOf('function');
    expect((await resolvePruner('foo', { cwd: cwd(), plugins: ['gbp-pruner-foo'] }))?.name).toBe('gbp-pruner-foo');
  });
  it('lists everything tried when nothing matches', async () => {
    const error = await resolvePruner('nope', { cwd: cwd(), plugins: ['./plugins/p.mjs'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrunerResolutionError);
    const message = (error as Error).message;
    expect(message).toContain("cannot resolve pruner 'nope'");
    expect(message).toContain("./plugins/p.mjs (name 'custom')");
    expect(message).toContain('package gbp-pruner-nope');
    // 'nope' is a name (isPluginPath): it is not also looked for as a file.
    expect(message).not.toContain(`path ${join(cwd(), 'nope')}`);
    const missing = await resolvePruner('./nope', { cwd: cwd() }).catch((e: unknown) => e);
    expect((missing as Error).message).toContain(`path ${join(cwd(), 'nope')} (also with .js, .mjs, /index.js)`);
    expect((missing as Error).message).not.toContain('  - package ');
  });
  it('looks a name up only as a package, even where cwd holds a file of that name', async () => {
    await expect(resolvePruner('my-pruner', { cwd: cwd() })).rejects.toThrow(/cannot resolve pruner 'my-pruner'.*\n  - package gbp-pruner-my-pruner/);
    await expect(resolvePruner('x', { cwd: cwd(), plugins: ['my-pruner'] })).rejects.toThrow(
      `pruner module 'my-pruner' (plugins): not found as a package (node_modules from ${cwd()} upwards, and beside @gbp/core)`,
    );
  });
  it('gives the module each pruner came from, and imports a given module as is', async () => {
    const foo = await findPruner('foo', { cwd: cwd() });
    expect(foo?.module).toBe(pathToFileURL(join(root, 'node_modules/gbp-pruner-foo/index.mjs')).href);
    const custom = await findPruner('custom', { cwd: cwd(), plugins: ['./plugins/p.mjs'] });
    expect(custom?.module).toBe(pathToFileURL(join(cwd(), 'plugins/p.mjs')).href);
    // A job spec's method_module wins over what method would find from here ('foo' -> gbp-pruner-foo).
    const job = { method: 'foo', plugins: ['gbp-pruner-foo'], module: custom!.module, cwd: cwd() };
    expect((await resolvePruner(job.method, job))?.name).toBe('custom');
    expect(await resolvePruner('baseline', job)).toBeNull();
    await expect(resolvePruner('foo', { ...job, module: pathToFileURL(join(cwd(), 'gone.mjs')).href })).rejects.toThrow(
      /pruner module .*gone\.mjs \(method_module of 'foo'\): failed to import/,
    );
  });
  it('says when a module is found but is not a pruner', async () => {
    await expect(resolvePruner('./not-a-pruner.mjs', { cwd: cwd() })).rejects.toThrow(/has no default export \(exports: name\).*definePruner/);
    await expect(resolvePruner('./bad-default.mjs', { cwd: cwd() })).rejects.toBeInstanceOf(PrunerLoadError);
    await expect(resolvePruner('x', { cwd: cwd(), plugins: ['./missing.mjs'] })).rejects.toThrow(/'\.\/missing\.mjs' \(plugins\): not found/);
  });
});

describe('validatePrunerOptions', () => {
  const def = definePruner({
    name: 'movement',
    optionsSchema: Type.Object(
      {
        frequency_steps: Type.Integer({ minimum: 1, default: 400 }),
        schedule: Type.Union([Type.Literal('linear'), Type.Literal('cubic')], { default: 'linear' }),
        mode: Type.Optional(Type.Union([Type.Literal('hard'), Type.Literal('soft')])),
      },
      { additionalProperties: false },
    ),
    create: () => ({ state: () => null, restore: () => undefined }),
  });
  it('applies defaults without touching the input', () => {
    const input = { schedule: 'cubic' };
    expect(validatePrunerOptions(def, input)).toEqual({ frequency_steps: 400, schedule: 'cubic' });
    expect(input).toEqual({ schedule: 'cubic' });
    expect(validatePrunerOptions(def, undefined)).toEqual({ frequency_steps: 400, schedule: 'linear' });
  });
  it('names the pruner, every bad field and what was expected', () => {
    let error: unknown;
    try {
      validatePrunerOptions(def, { frequency_steps: 2.5, schedule: 'exp', extra: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PrunerOptionsError);
    const message = (error as Error).message;
    expect(message).toMatch(/^invalid options for pruner movement:/);
    expect(message).toContain('method_options.frequency_steps: must be integer (got 2.5)');
    expect(message).toContain('method_options.schedule: must be one of "linear", "cubic" (got "exp")');
    expect(message).toContain('method_options.extra: is not a known option');
    expect(() => validatePrunerOptions(def, [1])).toThrow(/method_options: must be an object/);
  });
  it('says a union of a type and a literal accepts both', () => {
    const either = definePruner({
      name: 'either',
      optionsSchema: Type.Object({ steps: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('auto')]) }),
      create: () => ({ state: () => null, restore: () => undefined }),
    });
    expect(() => validatePrunerOptions(either, { steps: 'x' })).toThrow('method_options.steps: must be integer, or "auto" (got "x")');
  });
});

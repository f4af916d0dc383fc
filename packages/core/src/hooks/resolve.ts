/**
 * Resolution of a job's `method` to a pruner, and validation of its options.
 *
 * `method: X` resolves, in order, to:
 *   1. null when X is 'baseline' (no pruner);
 *   2. a module of `plugins` whose default export is named X (plugins are loaded first, so a
 *      listed plugin may also replace a built-in);
 *   3. the built-in alias: magnitude, movement, spt -> @gbp/pruner-X;
 *   4. a package: @scope/gbp-pruner-Y given as is, gbp-pruner-Y as is, else gbp-pruner-X;
 *   5. a path (see isPluginPath), relative to cwd; the CLI passes absolute paths, made so at
 *      plan time relative to the pipeline file, so a worker's cwd never matters.
 * Packages are looked up in node_modules folders from cwd upwards (the user's project), then from
 * this file's location upwards (packages installed beside gbp). Node's own resolver cannot take a
 * parent for ESM-only packages in Node 20 without a flag, so the small lookup below reads the
 * package.json `exports`/`main` itself.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { compileSchema, dottedPath, formatAjvErrors, mustWording, type IssuePath } from '../validation.js';
import { isPluginPath } from './plugin-path.js';
import type { PrunerDefinition } from './types.js';

// Options are only known to the plugin: callers validate them with validatePrunerOptions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPrunerDefinition = PrunerDefinition<any>;

export const BUILTIN_PRUNERS: Readonly<Record<string, string>> = Object.freeze({
  magnitude: '@gbp/pruner-magnitude',
  movement: '@gbp/pruner-movement',
  spt: '@gbp/pruner-spt',
});

export class PrunerResolutionError extends Error {
  readonly code = 'PRUNER_NOT_FOUND';
  constructor(
    readonly method: string,
    readonly tried: readonly string[],
  ) {
    super(
      `cannot resolve pruner '${method}'. Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
        `Use baseline, a built-in (${Object.keys(BUILTIN_PRUNERS).join(', ')}), an installed gbp-pruner-* package, ` +
        `a module listed in plugins, or a path to a module that default-exports definePruner(...).`,
    );
    this.name = 'PrunerResolutionError';
  }
}

export class PrunerLoadError extends Error {
  readonly code = 'PRUNER_LOAD_FAILED';
  constructor(
    readonly source: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(`pruner module ${source}: ${message}`);
    this.name = 'PrunerLoadError';
  }
}

export interface ResolvePrunerOptions {
  /** Extra module specifiers or paths (spec.plugins) whose default exports can be named by name. */
  plugins?: readonly string[];
  /** Where paths are relative to and where node_modules lookup starts (default process.cwd()). */
  cwd?: string;
}


/** Directories whose node_modules are searched, nearest first. */
export function searchRoots(cwd: string): string[] {
  const roots: string[] = [];
  for (const start of [cwd, dirname(fileURLToPath(import.meta.url))]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (!roots.includes(dir)) roots.push(dir);
      if (dirname(dir) === dir) break;
    }
  }
  return roots;
}

/** The entry file of an installed package's main export, or undefined when not installed. */
function findPackageEntry(name: string, cwd: string): string | undefined {
  for (const root of searchRoots(cwd)) {
    const pkgDir = join(root, 'node_modules', name);
    const pkgJson = join(pkgDir, 'package.json');
    if (!existsSync(pkgJson)) continue;
    const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports?: unknown; main?: string; module?: string };
    const entry = exportEntry(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js';
    return resolvePath(pkgDir, entry);
  }
  return undefined;
}

/** The "." export for an ESM importer: exports string, or its import/node/default condition. */
function exportEntry(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (!exports || typeof exports !== 'object') return undefined;
  const map = exports as Record<string, unknown>;
  const dot = '.' in map ? map['.'] : Object.keys(map).some((k) => k.startsWith('.')) ? undefined : map;
  if (typeof dot === 'string') return dot;
  if (!dot || typeof dot !== 'object') return undefined;
  for (const condition of ['import', 'node', 'default']) {
    const target = exportEntry((dot as Record<string, unknown>)[condition]);
    if (target) return target;
  }
  return undefined;
}

function findPath(path: string, cwd: string): string | undefined {
  const full = resolvePath(cwd, path);
  for (const candidate of [full, `${full}.js`, `${full}.mjs`, join(full, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  // A folder with a package.json (a local package).
  if (existsSync(join(full, 'package.json'))) {
    const pkg = JSON.parse(readFileSync(join(full, 'package.json'), 'utf8')) as { exports?: unknown; main?: string };
    const entry = resolvePath(full, exportEntry(pkg.exports) ?? pkg.main ?? 'index.js');
    if (existsSync(entry)) return entry;
  }
  return undefined;
}

function looksLikePruner(value: unknown): value is PrunerDefinition<unknown> {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && v.name.length > 0 && typeof v.create === 'function' && !!v.optionsSchema && typeof v.optionsSchema === 'object';
}

/** Imports `file` and returns its default export, checked to be a PrunerDefinition. */
async function loadDefinition(file: string, source: string): Promise<AnyPrunerDefinition> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new PrunerLoadError(source, `failed to import ${file}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  // A CommonJS module compiled from ESM nests its default export once more.
  let candidate = mod.default;
  if (!looksLikePruner(candidate) && candidate && typeof candidate === 'object' && 'default' in candidate) {
    candidate = (candidate as Record<string, unknown>).default;
  }
  if (!looksLikePruner(candidate)) {
    const what = mod.default === undefined ? `it has no default export (exports: ${Object.keys(mod).join(', ') || 'none'})` : 'its default export is not a pruner definition';
    throw new PrunerLoadError(source, `${what}; expected \`export default definePruner({ name, optionsSchema, create })\` (file ${file})`);
  }
  return candidate;
}

/** Loads one `plugins` entry (package name or path, relative to cwd) on its own. */
export async function loadPrunerPlugin(spec: string, cwd: string): Promise<AnyPrunerDefinition> {
  const file = (isPluginPath(spec) ? undefined : findPackageEntry(spec, cwd)) ?? findPath(spec, cwd);
  if (!file) {
    throw new PrunerLoadError(`'${spec}' (plugins)`, `not found as a package (node_modules from ${cwd} upwards) nor as a path (${resolvePath(cwd, spec)})`);
  }
  return loadDefinition(file, `'${spec}' (plugins)`);
}

/** Package names to try for a method, in order. */
function packageCandidates(method: string): string[] {
  if (BUILTIN_PRUNERS[method]) return [BUILTIN_PRUNERS[method]!];
  if (method.startsWith('@')) return [method];
  if (method.startsWith('gbp-pruner-')) return [method];
  return [`gbp-pruner-${method}`];
}

/**
 * The pruner for `method`, or null for 'baseline'. Throws PrunerResolutionError listing every
 * place tried when nothing matches, and PrunerLoadError when a module is found but is not a pruner.
 */
export async function resolvePruner(method: string, opts: ResolvePrunerOptions = {}): Promise<AnyPrunerDefinition | null> {
  if (method === 'baseline') return null;
  const cwd = opts.cwd ?? process.cwd();
  const tried: string[] = [];

  const plugins = opts.plugins ?? [];
  if (plugins.length > 0) {
    const loaded = await Promise.all(plugins.map((p) => loadPrunerPlugin(p, cwd)));
    const match = loaded.find((def) => def.name === method);
    if (match) return match;
    tried.push(`plugins: ${plugins.map((p, i) => `${p} (name '${loaded[i]!.name}')`).join(', ')}`);
  }

  if (!isPluginPath(method)) {
    for (const name of packageCandidates(method)) {
      const entry = findPackageEntry(name, cwd);
      if (entry) return loadDefinition(entry, `package ${name}`);
      tried.push(`package ${name} (node_modules from ${cwd} upwards, and beside @gbp/core)`);
    }
  }

  const file = findPath(method, cwd);
  if (file) return loadDefinition(file, `path ${file}`);
  tried.push(`path ${resolvePath(cwd, method)} (also with .js, .mjs, /index.js)`);
  throw new PrunerResolutionError(method, tried);
}

// ---------------------------------------------------------------------------------------------
// Options validation

export class PrunerOptionsError extends Error {
  readonly code = 'PRUNER_OPTIONS_INVALID';
  constructor(
    readonly pruner: string,
    /** `path` as printed (method_options.<field>); `option` the same inside the options, as keys. */
    readonly issues: readonly { path: string; option: IssuePath; message: string }[],
  ) {
    super(`invalid options for pruner ${pruner}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'PrunerOptionsError';
  }
}

const OPTIONS_WORDING = mustWording({ noun: 'option', got: true });

/**
 * Validates `options` against the pruner's JSON Schema, returning a copy with the schema's
 * defaults applied. The error names the pruner, each field (as method_options.<field>) and what
 * was expected.
 */
export function validatePrunerOptions(def: AnyPrunerDefinition, options: unknown): Record<string, unknown> {
  const schema = def.optionsSchema as object;
  let validate: ValidateFunction;
  try {
    validate = compileSchema(schema);
  } catch (error) {
    throw new Error(`pruner ${def.name}: its optionsSchema is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
  }
  const value = options === undefined || options === null ? {} : structuredClone(options);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PrunerOptionsError(def.name, [{ path: 'method_options', option: [], message: `must be an object (got ${JSON.stringify(options)})` }]);
  }
  if (!validate(value)) {
    const issues = formatAjvErrors(validate.errors ?? [], OPTIONS_WORDING);
    throw new PrunerOptionsError(def.name, issues.map((i) => ({ path: dottedPath(['method_options', ...i.path]), option: i.path, message: i.message })));
  }
  return value as Record<string, unknown>;
}

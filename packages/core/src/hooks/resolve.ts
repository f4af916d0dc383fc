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
 * Steps 3-4 are for names, step 5 for paths: isPluginPath decides, never both. A job spec whose
 * plan already resolved its method carries the module in `method_module`: pass it as `module`
 * and it is imported as is.
 */
import { resolve as resolvePath } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { compileSchema, dottedPath, formatAjvErrors, mustWording, type IssuePath } from '../validation.js';
import { loadDefinition, locateModule, moduleUrl, packageSearchDescription, PATH_FORMS, PrunerLoadError, type AnyPrunerDefinition } from './loader.js';
import { isPluginPath } from './plugin-path.js';

// Where they were defined before the loader had its own module; importers of resolve.js keep them.
export { PrunerLoadError, type AnyPrunerDefinition } from './loader.js';

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

export interface ResolvePrunerOptions {
  /** Extra module specifiers or paths (spec.plugins) whose default exports can be named by name. */
  plugins?: readonly string[];
  /** Where paths are relative to and where node_modules lookup starts (default process.cwd()). */
  cwd?: string;
  /** The module (file or file: URL) already found for this method: imported as is, nothing searched. */
  module?: string;
}

/** A pruner and the module file it came from (what a job spec's method_module records). */
export interface FoundPruner {
  definition: AnyPrunerDefinition;
  /** file: URL of the module whose default export is `definition`. */
  module: string;
}

async function loadFound(file: string, source: string): Promise<FoundPruner> {
  return { definition: await loadDefinition(file, source), module: moduleUrl(file) };
}

async function loadPlugin(spec: string, cwd: string): Promise<FoundPruner> {
  const source = `'${spec}' (plugins)`;
  const file = locateModule(spec, cwd);
  if (!file) {
    const where = isPluginPath(spec) ? `as a path: ${resolvePath(cwd, spec)} ${PATH_FORMS}` : `as a package (${packageSearchDescription(cwd)})`;
    throw new PrunerLoadError(source, `not found ${where}`);
  }
  return loadFound(file, source);
}

/** Loads one `plugins` entry (package name or path, relative to cwd) on its own. */
export async function loadPrunerPlugin(spec: string, cwd: string): Promise<AnyPrunerDefinition> {
  return (await loadPlugin(spec, cwd)).definition;
}

/** Package names to try for a method, in order. */
function packageCandidates(method: string): string[] {
  if (BUILTIN_PRUNERS[method]) return [BUILTIN_PRUNERS[method]!];
  if (method.startsWith('@')) return [method];
  if (method.startsWith('gbp-pruner-')) return [method];
  return [`gbp-pruner-${method}`];
}

/**
 * The pruner for `method` and its module, or null for 'baseline'. Throws PrunerResolutionError
 * listing every place tried when nothing matches, and PrunerLoadError when a module is found but
 * is not a pruner.
 */
export async function findPruner(method: string, opts: ResolvePrunerOptions = {}): Promise<FoundPruner | null> {
  if (method === 'baseline') return null;
  if (opts.module !== undefined) return loadFound(opts.module, `${opts.module} (method_module of '${method}')`);
  const cwd = opts.cwd ?? process.cwd();
  const tried: string[] = [];

  const plugins = opts.plugins ?? [];
  if (plugins.length > 0) {
    const loaded = await Promise.all(plugins.map((p) => loadPlugin(p, cwd)));
    const match = loaded.find((p) => p.definition.name === method);
    if (match) return match;
    tried.push(`plugins: ${plugins.map((p, i) => `${p} (name '${loaded[i]!.definition.name}')`).join(', ')}`);
  }

  if (isPluginPath(method)) {
    const file = locateModule(method, cwd);
    if (file) return loadFound(file, `path ${file}`);
    tried.push(`path ${resolvePath(cwd, method)} ${PATH_FORMS}`);
  } else {
    for (const name of packageCandidates(method)) {
      const entry = locateModule(name, cwd);
      if (entry) return loadFound(entry, `package ${name}`);
      tried.push(`package ${name} (${packageSearchDescription(cwd)})`);
    }
  }
  throw new PrunerResolutionError(method, tried);
}

/** The pruner for `method`, or null for 'baseline' (see findPruner). */
export async function resolvePruner(method: string, opts: ResolvePrunerOptions = {}): Promise<AnyPrunerDefinition | null> {
  return (await findPruner(method, opts))?.definition ?? null;
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

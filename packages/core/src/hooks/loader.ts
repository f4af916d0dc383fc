/**
 * The one loader of pruner modules: where an entry (a `method` or a `plugins` entry) lives on
 * disk, and importing it as a pruner definition. Whether an entry is a path is isPluginPath's
 * rule alone: a path is looked up as a file (relative to cwd), anything else as a package in
 * node_modules folders from cwd upwards (the user's project), then from this file's location
 * upwards (packages installed beside gbp). Node's own resolver cannot take a parent for ESM-only
 * packages in Node 20 without a flag, so the small lookup below reads the package.json
 * `exports`/`main` itself.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isPluginPath } from './plugin-path.js';
import type { PrunerDefinition } from './types.js';

// Options are only known to the plugin: callers validate them with validatePrunerOptions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPrunerDefinition = PrunerDefinition<any>;

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

/** Where a package is looked for, for messages. */
export const packageSearchDescription = (cwd: string) => `node_modules from ${cwd} upwards, and beside @gbp/core`;

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

/** The extensions and index file a path may leave out, for messages. */
export const PATH_FORMS = '(also with .js, .mjs, /index.js)';

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

/**
 * The module file `entry` names: a path (isPluginPath) as a file relative to `cwd`, anything else
 * as an installed package. Undefined when there is none.
 */
export function locateModule(entry: string, cwd: string): string | undefined {
  return isPluginPath(entry) ? findPath(entry, cwd) : findPackageEntry(entry, cwd);
}

function looksLikePruner(value: unknown): value is PrunerDefinition<unknown> {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && v.name.length > 0 && typeof v.create === 'function' && !!v.optionsSchema && typeof v.optionsSchema === 'object';
}

/** A module file or file: URL as the URL import() takes. */
export const moduleUrl = (file: string) => (file.startsWith('file:') ? file : pathToFileURL(isAbsolute(file) ? file : resolvePath(file)).href);

/**
 * Imports `file` (a path or file: URL) and returns its default export, checked to be a
 * PrunerDefinition. `source` says in messages where the file came from.
 */
export async function loadDefinition(file: string, source: string): Promise<AnyPrunerDefinition> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl(file))) as Record<string, unknown>;
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

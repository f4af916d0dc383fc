/**
 * Method options checked by each pruner's own schema, located in the file. Used by planning, and
 * for a file that failed earlier checks, so its option errors come in the same report.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import { absolutePluginEntry, findPruner, PrunerOptionsError, validatePrunerOptions, type FoundPruner } from '@gbp/core';
import { formatPath, type FieldPath, type PipelineIssue } from './errors.js';
import { mergeDeep, type MethodOptions } from './resolve.js';
import type { YamlSource } from './source.js';

export interface MethodOptionsCheck {
  /** The options with the pruner's defaults applied, or undefined when they are invalid. */
  readonly options?: Record<string, unknown>;
  /** The pruner's module (file: URL), for the job spec's method_module; undefined for baseline. */
  readonly module?: string;
  readonly issues: PipelineIssue[];
}

/** A method's pruner and module (null for baseline); see prunerFinder. */
export type PrunerFinder = (method: string) => Promise<FoundPruner | null>;

/** Finds each method's pruner once (with `plugins`, relative to `cwd`), however often it is asked. */
export function prunerFinder(plugins: readonly string[], cwd: string): PrunerFinder {
  const found = new Map<string, Promise<FoundPruner | null>>();
  return (method) => {
    let pruner = found.get(method);
    if (!pruner) found.set(method, (pruner = findPruner(method, { plugins, cwd })));
    return pruner;
  };
}

/**
 * Finds `method`'s pruner and validates `options` at `optionsPath`. Option problems become
 * issues; errors resolving the method (or a broken plugin schema) are thrown for the caller to place.
 */
export async function checkMethodOptions(
  method: string,
  options: Readonly<Record<string, unknown>>,
  optionsPath: FieldPath,
  source: YamlSource,
  find: PrunerFinder,
): Promise<MethodOptionsCheck> {
  const found = await find(method);
  if (found === null) {
    return Object.keys(options).length > 0 ? { issues: [source.issue(optionsPath, 'baseline takes no options')] } : { options: {}, issues: [] };
  }
  try {
    return { options: validatePrunerOptions(found.definition, options), module: found.module, issues: [] };
  } catch (error) {
    if (!(error instanceof PrunerOptionsError)) throw error;
    const issues = error.issues.map((issue) => {
      const path = [...optionsPath, ...issue.option];
      // At the option's key: an unknown option has no value worth pointing at.
      return { ...source.issue(path, `pruner ${error.pruner}: ${issue.message}`, 'key'), path: formatPath(path) };
    });
    return { issues };
  }
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether an issue at `issuePath` lies at or inside `path` (both formatted). */
const within = (issuePath: string, path: string) =>
  issuePath === path || issuePath.startsWith(`${path}.`) || issuePath.startsWith(`${path}[`);

/** Method names the file (and the -p flag) uses: defaults.method and matrix.method, top level and per stage. */
function usedMethods(data: Plain, flagMethods: readonly string[]): Set<string> {
  const used = new Set(flagMethods);
  const scopes = [data, ...(isPlain(data.stages) ? Object.values(data.stages) : [])].filter(isPlain);
  for (const scope of scopes) {
    const method = isPlain(scope.defaults) ? scope.defaults.method : undefined;
    if (typeof method === 'string') used.add(method);
    const axis = isPlain(scope.matrix) ? scope.matrix.method : undefined;
    if (Array.isArray(axis)) axis.filter((m): m is string => typeof m === 'string').forEach((m) => used.add(m));
  }
  // A job without a method is a baseline job.
  if (used.size === 0) used.add('baseline');
  return used;
}

/**
 * For a file that failed the schema or stage checks: the option issues of every `methods` entry
 * that is itself well-formed and names a method the file uses, as planning would report them
 * once the rest were fixed. Options from the command line are merged over each entry. Entries
 * whose method does not resolve are left for planning to report (it knows where the method is
 * named); with malformed `plugins` nothing is checked, since a plugin may define any method.
 */
export async function methodSectionIssues(
  source: YamlSource,
  failed: readonly PipelineIssue[],
  overrides: { methods?: MethodOptions; flagMethods?: readonly string[] },
  cwd: string,
): Promise<PipelineIssue[]> {
  const data = source.data;
  if (!isPlain(data) || failed.some((i) => i.path === '' || within(i.path, 'plugins'))) return [];
  const dir = dirname(resolvePath(cwd, source.file));
  const plugins = Array.isArray(data.plugins) ? (data.plugins as string[]).map((p) => absolutePluginEntry(p, dir)) : [];
  const used = usedMethods(data, overrides.flagMethods ?? []);
  const find = prunerFinder(plugins, dir);
  const sections: [FieldPath, unknown][] = [
    [['methods'], data.methods],
    ...(isPlain(data.stages) ? Object.entries(data.stages).map(([name, stage]): [FieldPath, unknown] => [['stages', name, 'methods'], isPlain(stage) ? stage.methods : undefined]) : []),
  ];
  const issues: PipelineIssue[] = [];
  for (const [sectionPath, section] of sections) {
    if (!isPlain(section)) continue;
    for (const [method, options] of Object.entries(section)) {
      const entryPath = [...sectionPath, method];
      if (!used.has(method) || !isPlain(options) || failed.some((i) => within(i.path, formatPath(entryPath)))) continue;
      try {
        const merged = mergeDeep(options, overrides.methods?.[absolutePluginEntry(method, dir)]);
        issues.push(...(await checkMethodOptions(method, merged, entryPath, source, find)).issues);
      } catch {
        // Unresolvable method or broken plugin: planning reports it, located where the method is named.
      }
    }
  }
  return issues;
}

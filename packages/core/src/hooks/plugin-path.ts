/**
 * The one rule, shared by the CLI's planning and core's resolution, for whether a `method` or
 * `plugins` entry names a file (resolved relative to the pipeline file) rather than a package or
 * built-in (looked up in node_modules). A path is an entry that:
 *   - starts with '.' or is absolute (./toy.mjs, ../p, /abs/p.js);
 *   - ends in .js, .mjs, .cjs, .ts, .mts or .cts (toy.mjs);
 *   - holds a '\', or a '/' without being a scoped package name (pruners/toy, but not @acme/gbp-pruner-x).
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';

const SCOPED_PACKAGE = /^@[^/\\]+\/[^/\\]+$/;
const MODULE_EXTENSION = /\.[cm]?[jt]s$/;

export function isPluginPath(entry: string): boolean {
  return (
    entry.startsWith('.') ||
    isAbsolute(entry) ||
    MODULE_EXTENSION.test(entry) ||
    entry.includes('\\') ||
    (entry.includes('/') && !SCOPED_PACKAGE.test(entry))
  );
}

/** A path entry made absolute against `base` (the pipeline file's folder); other entries as given. */
export function absolutePluginEntry(entry: string, base: string): string {
  return isPluginPath(entry) ? resolvePath(base, entry) : entry;
}

/**
 * Pruner packages installed where `method: X` would find them: gbp-pruner-* and
 * @scope/gbp-pruner-* in the node_modules folders resolvePruner searches, nearest first.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { searchRoots } from './loader.js';

export interface InstalledPruner {
  /** The npm package name, e.g. gbp-pruner-random or @acme/gbp-pruner-obd. */
  packageName: string;
  /** What a job writes as `method:` to get it: the short name unscoped, the package name scoped. */
  method: string;
  /** The package folder (in the nearest node_modules that has it). */
  dir: string;
}

const PREFIX = 'gbp-pruner-';

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every installed gbp-pruner package, sorted by package name; the nearest copy of each. */
export function findInstalledPruners(cwd: string = process.cwd()): InstalledPruner[] {
  const found = new Map<string, InstalledPruner>();
  const add = (packageName: string, dir: string, method: string) => {
    if (!found.has(packageName) && existsSync(join(dir, 'package.json'))) found.set(packageName, { packageName, method, dir });
  };
  for (const root of searchRoots(cwd)) {
    const modules = join(root, 'node_modules');
    for (const entry of entries(modules)) {
      if (entry.startsWith(PREFIX) && entry.length > PREFIX.length) add(entry, join(modules, entry), entry.slice(PREFIX.length));
      if (!entry.startsWith('@')) continue;
      for (const scoped of entries(join(modules, entry))) {
        if (scoped.startsWith(PREFIX)) add(`${entry}/${scoped}`, join(modules, entry, scoped), `${entry}/${scoped}`);
      }
    }
  }
  return [...found.values()].sort((a, b) => a.packageName.localeCompare(b.packageName));
}

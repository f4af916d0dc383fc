/**
 * One @gbp/core per process. A plugin developed in its own folder with its own installed
 * @gbp/core would load a second copy, and with it a second TensorFlow.js (every kernel registered
 * again, hundreds of "already registered" warnings per job) whose tensors and classes the trainer
 * does not share. The entry points import this module first, so the second copy stops here, before
 * any of its tfjs modules is evaluated, with a message that says how to link the plugin instead.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LOADED_FROM = Symbol.for('@gbp/core.loadedFrom');

export class DuplicateCoreError extends Error {
  readonly code = 'GBP_CORE_DUPLICATE';
  constructor(
    readonly first: string,
    readonly second: string,
  ) {
    super(
      `@gbp/core is loaded twice in one process: first from ${first}, now from ${second}. ` +
        'A plugin must share the @gbp/core of the process that loads it (declare @gbp/core as a peerDependency, never a dependency). ' +
        `If ${second} is a plugin folder's own node_modules/@gbp/core, replace it with a link to the first ` +
        `(in the plugin folder: npm install --no-save ${first}), or install the plugin into the project that runs gbp as a tarball ` +
        '(npm pack in the plugin folder, then npm install <tarball> in the project). See PLUGINS.md.',
    );
    this.name = 'DuplicateCoreError';
  }
}

/**
 * Records `root` as the process's @gbp/core, or throws DuplicateCoreError when another package
 * folder already holds that place. The same folder again (a test runner re-evaluating modules,
 * sources and dist/ of one package) is the same copy.
 */
export function claimSingleCopy(root: string, registry: Record<symbol, unknown> = globalThis as unknown as Record<symbol, unknown>): void {
  const first = registry[LOADED_FROM];
  if (first === undefined) registry[LOADED_FROM] = root;
  else if (first !== root) throw new DuplicateCoreError(String(first), root);
}

/** This copy's package folder: src/ and dist/ both sit one level below it. */
function packageRoot(): string {
  const dir = fileURLToPath(new URL('..', import.meta.url));
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

claimSingleCopy(packageRoot());

// @ts-check
/**
 * nx generator: a new gbp pruner package.
 *
 *     npx nx g @gbp/plugin-tools:pruner <name> [--scope=@acme] [--directory=packages/gbp-pruner-<name>]
 *
 * Plain JS (ESM, type-checked through JSDoc): nx loads JS generators with no TypeScript tooling.
 * The package is named gbp-pruner-<name> (or @scope/gbp-pruner-<name>), which is what a job's
 * `method: <name>` resolves to once it is installed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import devkit from '@nx/devkit';

const { generateFiles, logger, names, offsetFromRoot, OverwriteStrategy } = devkit;

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), 'files');
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const SCOPE = /^@[a-z0-9][a-z0-9._-]*$/;

/**
 * @typedef {object} PrunerGeneratorSchema
 * @property {string} name The method name (method: <name>).
 * @property {string} [scope] npm scope, e.g. `@acme`.
 * @property {string} [directory] Target folder, relative to the workspace root.
 * @property {string} [description]
 */

/**
 * Options with their defaults applied and the names the templates use.
 * @param {import('@nx/devkit').Tree} tree
 * @param {PrunerGeneratorSchema} options
 */
export function normalizeOptions(tree, options) {
  const name = String(options.name ?? '').trim();
  if (!NAME.test(name)) {
    throw new Error(`pruner name '${name}' is not valid: use lower-case letters, digits and single dashes, starting with a letter (e.g. topk-taylor); jobs will say method: <name>`);
  }
  if (['baseline', 'magnitude', 'movement', 'spt'].includes(name)) {
    throw new Error(`pruner name '${name}' is taken by gbp itself (baseline or a built-in alias): choose another`);
  }
  if (options.scope !== undefined && !SCOPE.test(options.scope)) throw new Error(`scope '${options.scope}' is not an npm scope such as @acme`);
  const unscoped = `gbp-pruner-${name}`;
  const packageName = options.scope ? `${options.scope}/${unscoped}` : unscoped;
  const directory = (options.directory ?? `packages/${unscoped}`).replace(/\\/g, '/').replace(/^\.\/|\/+$/g, '');
  if (tree.exists(directory) && tree.children(directory).length > 0) throw new Error(`${directory} already exists and is not empty: choose another --directory`);
  const core = tree.exists('packages/core/package.json') ? JSON.parse(tree.read('packages/core/package.json', 'utf-8') ?? '{}') : {};
  return {
    name,
    packageName,
    fileName: unscoped,
    directory,
    className: names(name).className,
    description: options.description ?? `${names(name).className} pruning for gbp`,
    coreRange: `^${core.version ?? '0.1.0'}`,
    offset: offsetFromRoot(directory),
    // What a job writes: core looks up gbp-pruner-<name> by the short name; a scoped package goes by its full name.
    method: options.scope ? packageName : name,
    // The same as a YAML scalar ('@' cannot start a plain one).
    methodYaml: options.scope ? `'${packageName}'` : name,
  };
}

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {PrunerGeneratorSchema} options
 */
export default async function prunerGenerator(tree, options) {
  const o = normalizeOptions(tree, options);
  // __tmpl__ keeps the templates from being seen as sources (tsc, eslint, vitest) in this repo.
  generateFiles(tree, TEMPLATES, o.directory, { ...o, tmpl: '' }, { overwriteStrategy: OverwriteStrategy.ThrowIfExisting });
  return () => {
    logger.info(nextSteps(o).join('\n'));
  };
}

/**
 * What to run after generating, in order: jobs load the package's dist/, so it must be built
 * before `method: <name>` works, and a workspace package is linked by npm install.
 * @param {ReturnType<typeof normalizeOptions>} o
 */
export function nextSteps(o) {
  // The root package.json's workspaces are packages/* (one level).
  const workspace = /^packages\/[^/]+$/.test(o.directory);
  /** @type {[string, string][]} */
  const steps = [
    ...(workspace ? [/** @type {[string, string]} */ (['npm install', `links it into node_modules, so jobs resolve method: ${o.methodYaml}`])] : []),
    [workspace ? `npx nx run ${o.packageName}:build` : `(cd ${o.directory} && npm run build)`, 'compiles it to dist/, which jobs load (again after every change)'],
    [workspace ? `npx nx run ${o.packageName}:test` : `(cd ${o.directory} && npm test)`, 'runs its unit and conformance tests'],
    [workspace ? 'npx gbp plugins' : `npx gbp plugins --plugin ./${o.directory}`, 'lists it with its options'],
  ];
  const width = Math.max(...steps.map(([command]) => command.length));
  return [
    `Created ${o.packageName} in ${o.directory}. Next:`,
    ...steps.map(([command, why]) => `  ${command.padEnd(width)}  ${why}`),
    ...(workspace ? [] : [`${o.directory} is outside the workspaces (packages/*): jobs name it by path, method: ./${o.directory}`]),
    'Plugin guide (gate layout, ctx helpers, which hook to prune in, conformance options): PLUGINS.md at the repository root.',
  ];
}

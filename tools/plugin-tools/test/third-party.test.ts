/**
 * A third party's view: every publishable package is packed by tools/pack-all.mjs (as the plugin
 * guide tells users to), @gbp/core and the example plugin gbp-pruner-random are installed from those
 * tarballs into a temporary project outside the repository, and a job there runs `method: random`,
 * which core resolves to the installed package by name. The install prefers the npm cache and goes
 * to the registry for what the cache lacks (after a bare `npm ci` the cache has tarballs but not the
 * registry metadata an install by range needs). Needs the packages built: nx builds them first
 * (this project's implicit dependencies).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const core = join(repo, 'packages', 'core');
const example = join(repo, 'examples', 'gbp-pruner-random');
const packAll = join(repo, 'tools', 'pack-all.mjs');

function requireBuilt(file: string, project: string): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: build ${project} first (npx nx run ${project}:build; nx does it before this test)`);
}

/** The version of `name` that core uses in this repository (its own node_modules first, as Node resolves). */
function installedVersion(name: string): string {
  const file = [join(core, 'node_modules', name, 'package.json'), join(repo, 'node_modules', name, 'package.json')].find((f) => existsSync(f));
  if (!file) throw new Error(`${name} is not installed in the repository: run npm install`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Pins core's dependencies (and @types/node, which a tfjs dependency asks for as '*') to the
 * versions this repository installed, so the install finds their tarballs in the npm cache.
 */
function pinnedOverrides(): Record<string, string> {
  const deps = (JSON.parse(readFileSync(join(core, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
  return Object.fromEntries([...Object.keys(deps), '@types/node'].map((name) => [name, installedVersion(name)]));
}

/** Runs tools/pack-all.mjs into `destination`; the tarball file name of each package by name. */
async function packAllInto(destination: string): Promise<Map<string, string>> {
  const { stdout } = await exec(process.execPath, [packAll, destination, '--no-build'], { cwd: repo });
  const lines = [...stdout.matchAll(/^(\S+)@\d\S*  (.+\.tgz)$/gm)];
  return new Map(lines.map((m) => [m[1]!, m[2]!.split(/[\\/]/).pop()!]));
}

/** Why `npm install` failed, in a line, from its error output. */
function installFailure(stderr: string): string {
  const code = /npm error code (\w+)/.exec(stderr)?.[1];
  if (code === 'ENOTCACHED') return 'a package is not in the npm cache and npm was told not to ask the registry';
  if (code && /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT)$/.test(code)) return `the registry is unreachable (${code}) and the npm cache lacks a package`;
  return code ? `npm error ${code}` : 'see npm output';
}

/** Runs in the temporary project: only what an installed @gbp/core and plugin offer. */
const SCRIPT = `
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { latestCheckpoint, readCheckpoint, resolveJobSpec, resolvePruner, runJob } from '@gbp/core';
import { checkPrunerConformance, writeSyntheticSst2 } from '@gbp/core/testing';

const here = process.cwd();
const resolvable = (name) => { try { return import.meta.resolve(name); } catch { return null; } };
const data = await writeSyntheticSst2(join(here, 'data'));
async function job(name, seed) {
  const spec = resolveJobSpec({
    id: name, task: 'sst2', method: 'random', backend: 'cpu', output_dir: join(here, 'out', name),
    model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 128, max_len: 16 },
    train: { epochs: 3, batch_size: 16, seed },
    pruning: { start_sparsity: 0, end_sparsity: 0.75, start_epoch: 1, end_epoch: 3 },
    data: { dir: data, source: 'local', offline: true, cache_dir: join(here, 'cache') },
  });
  const result = await runJob(spec, () => undefined);
  const { state } = await readCheckpoint(await latestCheckpoint(join(spec.output_dir, 'checkpoints')));
  const gates = Object.keys(state.trainer.masks);
  const masks = gates.map((g) => Array.from(state.trainer.masks[g]));
  // |W| of pruned vs kept weights: about 1 for random pruning, far below 1 for magnitude pruning.
  let pruned = 0, kept = 0, nPruned = 0, nKept = 0;
  gates.forEach((g, i) => state.trainer.weights[g + ".weight"].forEach((w, k) => masks[i][k] === 0 ? (pruned += Math.abs(w), nPruned++) : (kept += Math.abs(w), nKept++)));
  return { epochs: result.epochs.map((e) => e.sparsity), global: result.sparsity.global, gates: result.sparsity.gates, masks, magnitudeRatio: (pruned / nPruned) / (kept / nKept) };
}
const def = await resolvePruner('random');
const first = await job('seed7', 7);
const again = await job('seed7-again', 7);
const other = await job('seed8', 8);
const conformance = await checkPrunerConformance(def, { expectedSparsity: 'linear' });
// A plugin developed in its own folder with its own copy of core: that copy refuses to load.
const second = join(here, 'plugin-dev', 'node_modules', '@gbp', 'core');
await cp(join(here, 'node_modules', '@gbp', 'core'), second, { recursive: true });
const duplicate = await import(pathToFileURL(join(second, 'dist', 'index.js')).href).then(() => null, (e) => ({ name: e.name, message: e.message }));
await writeFile(join(here, 'result.json'), JSON.stringify({
  resolved: { core: resolvable('@gbp/core'), plugin: resolvable('gbp-pruner-random'), vitest: resolvable('vitest') },
  definition: { name: def.name, version: def.version },
  first: { ...first, masks: undefined }, sameSeedSameMasks: JSON.stringify(first.masks) === JSON.stringify(again.masks),
  otherSeedSameMasks: JSON.stringify(first.masks) === JSON.stringify(other.masks),
  masksBinary: first.masks.every((m) => m.every((v) => v === 0 || v === 1)),
  conformance,
  duplicate, second,
}));
`;

let project: string;
interface Result {
  resolved: { core: string | null; plugin: string | null; vitest: string | null };
  definition: { name: string; version: string };
  first: { epochs: number[]; global: number; gates: Record<string, { size: number; pruned: number; sparsity: number }>; magnitudeRatio: number };
  sameSeedSameMasks: boolean;
  otherSeedSameMasks: boolean;
  masksBinary: boolean;
  conformance: { passed: boolean; results: { name: string; status: string; message: string }[] };
  duplicate: { name: string; message: string } | null;
  second: string;
}
let result: Result;

beforeAll(async () => {
  requireBuilt(join(core, 'dist', 'index.js'), '@gbp/core');
  requireBuilt(join(core, 'dist', 'testing', 'conformance.js'), '@gbp/core');
  requireBuilt(join(example, 'dist', 'index.js'), 'gbp-pruner-random');
  project = await mkdtemp(join(tmpdir(), 'gbp-third-party-'));
  const tarballs = await packAllInto(project);
  const coreTarball = tarballs.get('@gbp/core');
  const pluginTarball = tarballs.get('gbp-pruner-random');
  if (!coreTarball || !pluginTarball) throw new Error(`tools/pack-all.mjs packed ${JSON.stringify([...tarballs])}: expected @gbp/core and gbp-pruner-random`);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'gbp-third-party-check',
      private: true,
      type: 'module',
      dependencies: { '@gbp/core': `file:./${coreTarball}`, 'gbp-pruner-random': `file:./${pluginTarball}` },
      overrides: pinnedOverrides(),
    }),
  );
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'];
  try {
    await exec('npm', install, { cwd: project, maxBuffer: 16 << 20 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const cache = process.env.npm_config_cache ?? 'the default npm cache';
    throw new Error(`npm ${install.join(' ')} of the packed tarballs failed in ${project} (cache: ${cache}): ${installFailure(stderr)}\n${stderr}`);
  }
  await writeFile(join(project, 'run.mjs'), SCRIPT);
  await exec(process.execPath, ['run.mjs'], { cwd: project, maxBuffer: 16 << 20 });
  result = JSON.parse(await readFile(join(project, 'result.json'), 'utf8')) as Result;
}, 240_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe('a packed third-party pruner next to packed @gbp/core', () => {
  it('resolves method: random to the installed gbp-pruner-random, with core from its tarball and no vitest', () => {
    expect(result.resolved.core).toBe(`file://${join(project, 'node_modules', '@gbp', 'core', 'dist', 'index.js')}`);
    expect(result.resolved.plugin).toBe(`file://${join(project, 'node_modules', 'gbp-pruner-random', 'dist', 'index.js')}`);
    // '@gbp/core/testing' (and its conformance kit) loaded without vitest installed.
    expect(result.resolved.vitest).toBeNull();
    expect(result.definition).toEqual({ name: 'random', version: '0.1.0' });
  });

  it('prunes on the linear schedule to the target, with binary masks', () => {
    expect(result.first.epochs).toEqual([0, 0.375, 0.75]);
    expect(result.first.global).toBe(0.75);
    expect(result.masksBinary).toBe(true);
    const gates = Object.values(result.first.gates);
    expect(gates.reduce((n, g) => n + g.size, 0)).toBe(8192);
    // Global random draws: every gate near the global sparsity (binomial spread over ≥ 1024 weights).
    for (const g of gates) expect(Math.abs(g.sparsity - 0.75)).toBeLessThan(0.06);
  });

  it('draws weights at random from the job seed: same seed same masks, another seed other masks', () => {
    expect(result.sameSeedSameMasks).toBe(true);
    expect(result.otherSeedSameMasks).toBe(false);
    // Pruned weights are as large as kept ones on average (magnitude pruning would give ≪ 1).
    expect(result.first.magnitudeRatio).toBeGreaterThan(0.85);
    expect(result.first.magnitudeRatio).toBeLessThan(1.15);
  });

  it('passes the conformance kit run from the installed @gbp/core/testing', () => {
    expect(result.conformance.results.filter((r) => r.status !== 'passed')).toEqual([]);
    expect(result.conformance.passed).toBe(true);
  });

  it('refuses a second copy of @gbp/core (a plugin folder with its own node_modules) with how to link it', () => {
    expect(result.duplicate?.name).toBe('DuplicateCoreError');
    expect(result.duplicate?.message).toContain(
      `@gbp/core is loaded twice in one process: first from ${join(project, 'node_modules', '@gbp', 'core')}, now from ${result.second}`,
    );
    expect(result.duplicate?.message).toContain('peerDependency');
  });
});

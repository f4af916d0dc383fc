/**
 * What each TARGET of `gbp bench` names, found before anything is loaded or measured: a size preset,
 * a model folder, a job results folder (its model/) or a pipeline results folder (every job's
 * model/, the dense baseline first).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isModelFolder, MODEL_SIZES, type ModelSize } from '@gbp/core';
import { UsageError } from '../args.js';
import { isDenseJob } from '../plots/job-kind.js';
import { readJobResults } from '../plots/results-files.js';

export const MODEL_DIR = 'model';

export type TargetSource =
  | { readonly kind: 'preset'; readonly label: string; readonly preset: ModelSize }
  | {
      readonly kind: 'folder';
      readonly label: string;
      /** The model folder (absolute). */
      readonly path: string;
      readonly job?: string;
      readonly method?: string;
    };

export interface FoundTargets {
  readonly targets: TargetSource[];
  /** Job folders of a pipeline that have no model/ (failed, or written before model/ existed): left out. */
  readonly skipped: string[];
}

/**
 * Resolves every argument, in order (a pipeline expands to its jobs). Throws one UsageError naming
 * each argument that is not a target. A bare preset name is the preset; write ./tiny for a folder.
 */
export function findTargets(args: readonly string[], cwd: string, command = 'gbp bench'): FoundTargets {
  const targets: TargetSource[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  for (const arg of args) {
    try {
      const found = findTarget(arg, cwd);
      targets.push(...found.targets);
      skipped.push(...found.skipped);
    } catch (error) {
      problems.push(`${command}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { targets: uniqueLabels(targets), skipped };
}

function findTarget(arg: string, cwd: string): FoundTargets {
  if ((MODEL_SIZES as readonly string[]).includes(arg)) return { targets: [{ kind: 'preset', label: arg, preset: arg as ModelSize }], skipped: [] };
  const dir = resolve(cwd, arg);
  if (!existsSync(dir)) throw new Error(`${arg}: no such folder, and not a size preset (${MODEL_SIZES.join(', ')})`);
  if (!statSync(dir).isDirectory()) throw new Error(`${arg}: not a folder; give a size preset (${MODEL_SIZES.join(', ')}), a model folder, a job results folder or a pipeline results folder`);
  if (isModelFolder(dir)) return { targets: [{ kind: 'folder', label: arg, path: dir }], skipped: [] };
  const modelDir = join(dir, MODEL_DIR);
  if (existsSync(modelDir)) return { targets: [jobTarget(dir).target], skipped: [] };
  const jobDirs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('results_'))
    .map((e) => join(dir, e.name))
    .sort();
  if (jobDirs.length === 0) {
    if (isJobFolder(dir)) throw new Error(`${arg}: a job results folder without ${MODEL_DIR}/ (a job writes it when it finishes; this one failed, was stopped, or ran on an older gbp)`);
    throw new Error(`${arg}: not a model folder (no config.json of format gbp-model), a job results folder (no ${MODEL_DIR}/) or a pipeline results folder (no results_* job folders)`);
  }
  const withModel = jobDirs.filter((d) => existsSync(join(d, MODEL_DIR)));
  if (withModel.length === 0) throw new Error(`${arg}: none of its ${jobDirs.length} job folders has ${MODEL_DIR}/ (${jobDirs.map((d) => basename(d)).join(', ')})`);
  return { targets: denseFirst(withModel.map(jobTarget)), skipped: jobDirs.filter((d) => !withModel.includes(d)) };
}

const isJobFolder = (dir: string) => readdirSync(dir).some((f) => /^results_.*\.csv$/.test(f) || /^metadata_.*\.json$/.test(f));

/** The dense baseline is the reference of every speedup: dense jobs go first, the rest keep their order. */
export function denseFirst(jobs: readonly JobTarget[]): TargetSource[] {
  return [...jobs.filter((j) => j.dense), ...jobs.filter((j) => !j.dense)].map((j) => j.target);
}

export interface JobTarget {
  readonly target: TargetSource & { kind: 'folder' };
  /** The dense reference (plots/job-kind.ts): a baseline job that trains the full model. */
  readonly dense: boolean;
}

/** A job folder's model/, labelled by the job id. */
export function jobTarget(jobDir: string): JobTarget {
  const modelDir = join(jobDir, MODEL_DIR);
  if (!isModelFolder(modelDir)) throw new Error(`${modelDir}: not a gbp model folder (expected config.json with "format": "gbp-model")`);
  const job = basename(jobDir).replace(/^results_/, '');
  const results = tryReadResults(jobDir);
  return {
    target: { kind: 'folder', label: job, path: modelDir, job, ...(results && { method: results.method }) },
    dense: results !== undefined && isDenseJob(results),
  };
}

/** A job's method and sparsity come from its results; a model/ copied without them is still measured. */
function tryReadResults(jobDir: string) {
  try {
    return readJobResults(jobDir);
  } catch {
    return undefined;
  }
}

/** The same label twice (a preset named twice, two pipelines with a job of the same id) gets #2, #3. */
function uniqueLabels(targets: readonly TargetSource[]): TargetSource[] {
  const seen = new Map<string, number>();
  return targets.map((t) => {
    const n = (seen.get(t.label) ?? 0) + 1;
    seen.set(t.label, n);
    return n === 1 ? t : { ...t, label: `${t.label}#${n}` };
  });
}

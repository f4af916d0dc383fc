/**
 * Which folders `gbp run` may write into. A pipeline output folder is gbp's when it holds the
 * marker file (or plan.json, from runs before the marker); a non-empty folder without either is
 * the user's and is refused unless --force, and even then nothing already there is overwritten.
 * A fresh run (no --resume) never writes into a job folder that holds an earlier run's files: it
 * moves that run aside to previous/<time>/ first.
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { exportStageDir } from './export-jobs.js';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '@gbp/core';
import type { Plan } from '../pipeline/plan.js';
import { BENCH_JSON } from '../bench/bench-file.js';
import { COMPARISON_FILES } from '../plots/results.js';
import { LOCK_FILE } from './output-lock.js';
import { planPath } from './plan-file.js';
import { RunRefusedError } from './run-refused.js';

export const OUTPUT_MARKER = '.gbp-output';

const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

export const isGbpOutput = (dir: string): boolean => existsSync(join(dir, OUTPUT_MARKER)) || existsSync(planPath(dir));

/** Every path directly in the output folder a run of `plan` may write. */
function pathsGbpWrites(plan: Plan): string[] {
  return [
    planPath(plan.output_dir),
    ...COMPARISON_FILES.map((name) => join(plan.output_dir, name)),
    join(plan.output_dir, BENCH_JSON),
    ...plan.reports.map((r) => join(plan.output_dir, `report_${r.stage}`)),
    ...plan.exports.map((e) => exportStageDir(plan, e)),
    ...plan.jobs.map((j) => j.spec.output_dir),
  ];
}

/** Refuses a non-empty folder gbp did not make (unless force), before anything is written. */
export function checkOutputOwner(plan: Plan, force: boolean): void {
  const dir = plan.output_dir;
  const found = entries(dir).filter((name) => name !== LOCK_FILE);
  if (found.length === 0 || isGbpOutput(dir)) return;
  const shown = `${found.slice(0, 5).join(', ')}${found.length > 5 ? `, … (${found.length} entries)` : ''}`;
  if (!force) {
    throw new RunRefusedError(
      `${dir} is not empty and is not a gbp output folder (no ${OUTPUT_MARKER} or plan.json; it holds ${shown}); ` +
        'choose another --output, or pass --force to write into it (gbp never overwrites files already there)',
    );
  }
  const clashes = pathsGbpWrites(plan).filter((path) => existsSync(path));
  if (clashes.length > 0) {
    throw new RunRefusedError(`${dir}: --force, but gbp would overwrite files it did not write: ${clashes.join(', ')}; move them away or choose another --output`);
  }
}

/** Where a fresh run moves an earlier run's files: `<output>/previous/<time>` (not `results_*`, so compare skips it). */
export const PREVIOUS_DIR = 'previous';

/**
 * A fresh run never mixes with an earlier run's job folders (checkpoints, CSVs, metadata): it
 * moves them, with the earlier plan.json, summary, comparison and bench.json, to `previous/<time>/` and returns
 * that folder, or undefined when there was nothing to move. Nothing is deleted. --resume keeps them.
 */
export function moveEarlierRun(plan: Plan, resume: boolean, now = new Date()): { dir: string; moved: string[] } | undefined {
  if (resume) return undefined;
  const jobs = plan.jobs.map((j) => j.spec.output_dir).filter((dir) => entries(dir).length > 0);
  if (jobs.length === 0) return undefined;
  const runFiles = pathsGbpWrites(plan).filter((path) => existsSync(path) && !plan.jobs.some((j) => j.spec.output_dir === path));
  const stamp = now.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  let dir = join(plan.output_dir, PREVIOUS_DIR, stamp);
  for (let n = 2; existsSync(dir); n++) dir = join(plan.output_dir, PREVIOUS_DIR, `${stamp}-${n}`);
  mkdirSync(dir, { recursive: true });
  const moved = [...jobs, ...runFiles];
  for (const path of moved) renameSync(path, join(dir, basename(path)));
  return { dir, moved };
}

/** Marks the folder as gbp's, so later runs recognise it. */
export async function markOutput(dir: string): Promise<void> {
  if (!existsSync(join(dir, OUTPUT_MARKER))) await writeFileAtomic(join(dir, OUTPUT_MARKER), `${JSON.stringify({ created_by: 'gbp run', created: new Date().toISOString() })}\n`);
}

/**
 * Which folders `gbp run` may write into. A pipeline output folder is gbp's when it holds the
 * marker file (or plan.json, from runs before the marker); a non-empty folder without either is
 * the user's and is refused unless --force, and even then nothing already there is overwritten.
 * A fresh run (no --resume) never writes into a job folder that holds an earlier run's files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@gbp/core';
import type { Plan } from '../pipeline/plan.js';
import { COMPARISON_PNG, SUMMARY_MD } from '../plots/results.js';
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
    join(plan.output_dir, SUMMARY_MD),
    join(plan.output_dir, COMPARISON_PNG),
    ...plan.reports.map((r) => join(plan.output_dir, `report_${r.stage}`)),
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

/** A fresh run refuses job folders holding an earlier run: mixing would corrupt both. */
export function checkFreshJobFolders(plan: Plan, resume: boolean): void {
  if (resume) return;
  const used = plan.jobs.map((j) => j.spec.output_dir).filter((dir) => entries(dir).length > 0);
  if (used.length === 0) return;
  throw new RunRefusedError(
    `${used.length === 1 ? 'job folder' : `${used.length} job folders`} of an earlier run: ${used.join(', ')}; ` +
      'continue that run with --resume, or choose another --output, or move those folders away; nothing was run',
  );
}

/** Marks the folder as gbp's, so later runs recognise it. */
export async function markOutput(dir: string): Promise<void> {
  if (!existsSync(join(dir, OUTPUT_MARKER))) await writeFileAtomic(join(dir, OUTPUT_MARKER), `${JSON.stringify({ created_by: 'gbp run', created: new Date().toISOString() })}\n`);
}

/** plan.json: the plan of a run plus each job's status, rewritten atomically as jobs finish. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, type JobErrorInfo } from '@gbp/core';
import type { Plan } from '../pipeline/plan.js';
import type { JobStatus } from './job-view.js';

export interface PlanFileJobState {
  status: JobStatus;
  error?: JobErrorInfo;
  log?: string;
  updated?: string;
}

export interface PlanFile extends Plan {
  created: string;
  status: Record<string, PlanFileJobState>;
  /** A run on a queue: its id (kept by --resume to re-attach) and the queue, password redacted. */
  queue?: { run_id: string; url: string };
}

export const planPath = (outputDir: string) => join(outputDir, 'plan.json');

export function readPlanFile(outputDir: string): PlanFile | undefined {
  const file = planPath(outputDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PlanFile;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); remove it to start afresh`);
  }
}

export async function writePlanFile(plan: PlanFile): Promise<void> {
  await writeFileAtomic(planPath(plan.output_dir), `${JSON.stringify(plan, null, 2)}\n`);
}

/** Jobs a previous run of the same plan finished: --resume skips them. */
export function finishedJobs(previous: PlanFile | undefined, plan: Plan): Set<string> {
  const done = new Set<string>();
  if (!previous) return done;
  for (const job of plan.jobs) {
    const before = previous.jobs.find((j) => j.id === job.id);
    const state = previous.status[job.id]?.status;
    // A job counts as finished only if it is the same job (same spec apart from resume flags).
    if (before && (state === 'done' || state === 'skipped') && sameSpec(before.spec, job.spec)) done.add(job.id);
  }
  return done;
}

function sameSpec(a: unknown, b: unknown): boolean {
  const strip = (s: unknown) => JSON.stringify({ ...(s as object), resume: undefined, init_checkpoint: undefined });
  return strip(a) === strip(b);
}

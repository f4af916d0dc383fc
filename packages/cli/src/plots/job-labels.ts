/**
 * Names of jobs in a comparison. Jobs from several pipelines may share an id (baseline_sst2 in
 * both): the plot colours lines by this name and the summary has a row per name, so each job
 * needs its own, or two jobs are drawn as one zig-zag line.
 */
import { basename, dirname, relative, sep } from 'node:path';
import type { JobResults } from './results-files.js';

export type LabelledJob = JobResults & {
  /** The job id, or `<pipeline folder>/<id>` when another compared job has the same id. */
  readonly label: string;
};

export function labelJobs(jobs: readonly JobResults[]): LabelledJob[] {
  const count = new Map<string, number>();
  for (const job of jobs) count.set(job.id, (count.get(job.id) ?? 0) + 1);
  const labels = jobs.map((job) => (count.get(job.id)! > 1 ? `${basename(dirname(job.dir))}/${job.id}` : job.id));
  // Pipelines of the same name under different roots: fall back to paths from the common folder.
  if (new Set(labels).size < labels.length) {
    const root = commonFolder(jobs.map((j) => dirname(j.dir)));
    jobs.forEach((job, i) => {
      if (count.get(job.id)! > 1) labels[i] = `${relative(root, dirname(job.dir)).split(sep).join('/')}/${job.id}`;
    });
  }
  return jobs.map((job, i) => ({ ...job, label: labels[i]! }));
}

function commonFolder(dirs: readonly string[]): string {
  const parts = dirs.map((d) => d.split(sep));
  const first = parts[0] ?? [];
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

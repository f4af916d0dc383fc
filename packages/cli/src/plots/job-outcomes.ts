/**
 * Where each job ended: final metric, final measured sparsity, and (when it wrote model/) its
 * compacted size and measured speedup. The accuracy-vs-sparsity and accuracy-vs-speedup plots and
 * the summary's size columns all read these.
 */
import { dirname } from 'node:path';
import type { LabelledJob } from './job-labels.js';
import { isDenseJob } from './results-files.js';
import { jobSpeed, readCompactionFacts, readPipelineBench, type BenchFile, type CompactionFacts, type JobSpeed } from './speed-files.js';

export interface JobOutcome {
  readonly job: LabelledJob;
  /** The line (and colour) the job belongs to: its method, plus what else varies across the jobs. */
  readonly series: string;
  readonly metric: string;
  readonly value: number;
  readonly sparsity: number;
  /** The dense reference: method baseline, or nothing pruned at the end. */
  readonly dense: boolean;
  readonly maxLen?: number;
  readonly compaction?: CompactionFacts;
  readonly speed?: JobSpeed;
}

export interface Outcomes {
  readonly outcomes: readonly JobOutcome[];
  /** Pipeline folders with compacted jobs and no bench.json (so no measured speedup). */
  readonly unbenched: readonly { folder: string; maxLen: number | undefined }[];
}

interface SpecBits {
  model?: { size?: string; max_len?: number };
  pruning?: { granularity?: string };
}

const granularityOf = (job: LabelledJob) => ((job.metadata.spec ?? {}) as SpecBits).pruning?.granularity ?? 'weight';

/** True when a job removed whole heads or neurons (so its model/ is smaller than dense). */
export const isCompacted = (o: JobOutcome): boolean => o.compaction?.structures_removed === true;

export function jobOutcomes(jobs: readonly LabelledJob[]): Outcomes {
  // Series names add only what differs between jobs, so one pipeline's lines read "magnitude", "movement".
  // (Granularity means nothing for a dense job, so only pruned jobs count for it.)
  const varying = (['task', 'size', 'granularity'] as const).filter((key) => {
    const values = new Set(jobs.flatMap((job) => (key !== 'granularity' ? [job[key]] : isDenseJob(job) ? [] : [granularityOf(job)])));
    return values.size > 1;
  });
  const benches = new Map<string, BenchFile | undefined>();
  const benchOf = (folder: string) => {
    if (!benches.has(folder)) benches.set(folder, readPipelineBench(folder));
    return benches.get(folder);
  };
  const unbenched = new Map<string, number | undefined>();
  const outcomes = jobs.map((job): JobOutcome => {
    const last = job.rows[job.rows.length - 1];
    const sparsity = last?.sparsity ?? 0;
    const dense = isDenseJob(job);
    const context = varying.flatMap((key) => (key !== 'granularity' ? [job[key]] : dense ? [] : [granularityOf(job)]));
    const compaction = readCompactionFacts(job.dir);
    const maxLen = compaction?.max_len ?? ((job.metadata.spec ?? {}) as SpecBits).model?.max_len;
    const bench = compaction ? benchOf(dirname(job.dir)) : undefined;
    if (compaction?.structures_removed && !bench) unbenched.set(dirname(job.dir), maxLen);
    // The reference for speedups: the dense job of the same pipeline folder, task and size.
    const reference = jobs.find((o) => isDenseJob(o) && dirname(o.dir) === dirname(job.dir) && o.task === job.task && o.size === job.size);
    const speed = bench && jobSpeed(bench, job, maxLen, reference);
    return {
      job,
      series: context.length > 0 ? `${job.method} (${context.join(', ')})` : job.method,
      metric: job.metric,
      value: last?.[job.metric] ?? Number.NaN,
      sparsity,
      dense,
      ...(maxLen !== undefined && { maxLen }),
      ...(compaction && { compaction }),
      ...(speed && { speed }),
    };
  });
  return { outcomes, unbenched: [...unbenched].map(([folder, maxLen]) => ({ folder, maxLen })) };
}

/** How to measure the speedups that are missing, for the user (notes) and the summary's footnote. */
export function benchCommand(folder: string, maxLen: number | undefined): string {
  return `gbp bench ${folder} --batch 8 --seq ${maxLen ?? 128} --json ${folder}/bench.json`;
}

/**
 * Where each job ended: final metric, final measured sparsity, and (when it wrote model/) its
 * compacted size and measured speedup. The accuracy-vs-sparsity and accuracy-vs-speedup plots and
 * the summary's size columns all read these.
 */
import { dirname } from 'node:path';
import type { LabelledJob } from './job-labels.js';
import { baseSize, jobKind, modelCell, originJob, type JobKind } from './job-kind.js';
import { jobSpeed, readCompactionFacts, readPipelineBench, type BenchFile, type CompactionFacts, type JobSpeed } from './speed-files.js';

export interface JobOutcome {
  readonly job: LabelledJob;
  /** The line (and colour) the job belongs to: its method, plus what else varies across the jobs. */
  readonly series: string;
  readonly metric: string;
  readonly value: number;
  /** The final sparsity; a fine-tune's is its origin job's (its CSV says 0: nothing was pruned in the already compacted model). */
  readonly sparsity: number;
  readonly kind: JobKind;
  /** The dense reference (kind dense): a baseline job that trains the full model. */
  readonly dense: boolean;
  /** The summary's size cell: the size preset, or where the model came from (`from <job id>`). */
  readonly model: string;
  readonly maxLen?: number;
  readonly compaction?: CompactionFacts;
  /** Its model/ is smaller than dense: its compaction removed whole heads or neurons, or (a fine-tune) its origin's did. */
  readonly compacted: boolean;
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

/** True when a job's model/ is smaller than dense (it, or the job its model came from, removed whole heads or neurons). */
export const isCompacted = (o: JobOutcome): boolean => o.compacted;

export function jobOutcomes(jobs: readonly LabelledJob[]): Outcomes {
  const kinds = new Map(jobs.map((job) => [job, jobKind(job)]));
  // A model.from job has no size of its own: it is the size its source job's model descends from.
  const sizes = new Map(jobs.map((job) => [job, baseSize(job)]));
  // Series names add only what differs between jobs, so one pipeline's lines read "magnitude", "movement".
  // (Granularity means nothing for a job that pruned nothing, so only pruned jobs count for it.)
  const attribute = (job: LabelledJob, key: 'task' | 'size' | 'granularity') =>
    key === 'task' ? [job.task] : key === 'size' ? [sizes.get(job)!] : kinds.get(job) === 'pruned' ? [granularityOf(job)] : [];
  const varying = (['task', 'size', 'granularity'] as const).filter((key) => new Set(jobs.flatMap((job) => attribute(job, key))).size > 1);
  const benches = new Map<string, BenchFile | undefined>();
  const benchOf = (folder: string) => {
    if (!benches.has(folder)) benches.set(folder, readPipelineBench(folder));
    return benches.get(folder);
  };
  const unbenched = new Map<string, number | undefined>();
  const outcomes = jobs.map((job): JobOutcome => {
    const last = job.rows[job.rows.length - 1];
    const kind = kinds.get(job)!;
    const origin = kind === 'fine-tuned' ? originJob(job) : job;
    const sparsity = origin?.rows.at(-1)?.sparsity ?? last?.sparsity ?? 0;
    const dense = kind === 'dense';
    const context = varying.flatMap((key) => attribute(job, key));
    // Supernet, search and fine-tuned jobs are their own series, whatever method (baseline) they ran.
    const name = kind === 'dense' || kind === 'pruned' ? job.method : kind;
    const compaction = readCompactionFacts(job.dir);
    const compacted = compaction?.structures_removed === true || (origin !== undefined && origin !== job && readCompactionFacts(origin.dir)?.structures_removed === true);
    const maxLen = compaction?.max_len ?? ((job.metadata.spec ?? {}) as SpecBits).model?.max_len;
    const bench = compaction ? benchOf(dirname(job.dir)) : undefined;
    if (compacted && !bench) unbenched.set(dirname(job.dir), maxLen);
    // The reference for speedups: the dense job of the same pipeline folder, task and (base) size.
    const reference = jobs.find((o) => kinds.get(o) === 'dense' && dirname(o.dir) === dirname(job.dir) && o.task === job.task && sizes.get(o) === sizes.get(job));
    const speed = bench && jobSpeed(bench, job, maxLen, reference);
    return {
      job,
      series: context.length > 0 ? `${name} (${context.join(', ')})` : name,
      metric: job.metric,
      value: last?.[job.metric] ?? Number.NaN,
      sparsity,
      kind,
      dense,
      model: modelCell(job),
      ...(maxLen !== undefined && { maxLen }),
      ...(compaction && { compaction }),
      compacted,
      ...(speed && { speed }),
    };
  });
  return { outcomes, unbenched: [...unbenched].map(([folder, maxLen]) => ({ folder, maxLen })) };
}

/** How to measure the speedups that are missing, for the user (notes) and the summary's footnote. */
export function benchCommand(folder: string, maxLen: number | undefined): string {
  return `gbp bench ${folder} --batch 8 --seq ${maxLen ?? 128} --json ${folder}/bench.json`;
}

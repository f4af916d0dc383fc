/**
 * What a job records about itself: metadata.json (status, versions, final and best metrics), the
 * epochs CSV and sparsity report through the RunWriter, and the JobResult it returns.
 */
import { createRequire } from 'node:module';
import type { BackendInfo, EpochRecord, JobResult, Metrics, SparsityReport } from '../events.js';
import type { JobSpec } from '../spec.js';
import type { TaskInfo } from '../data/index.js';
import type { ModelInfo } from '../model/index.js';
import { tf } from '../tf.js';
import type { RunMetadata, RunStatus, RunWriter } from '../results/index.js';

export function runVersions(): Record<string, string> {
  let core = 'unknown';
  try {
    // src/job/metadata.ts and dist/job/metadata.js both sit two levels below the package root.
    const require = createRequire(import.meta.url);
    core = (require('../../package.json') as { version: string }).version;
  } catch {
    // Bundled or relocated: the version is not essential to the results.
  }
  return { node: process.versions.node, tfjs: tf.version_core, '@gbp/core': core };
}

/** Best value of the primary metric decides the best epoch (mnli: matched/<primary>). */
function primaryKey(task: TaskInfo, metrics: Metrics): string {
  if (task.primaryMetric in metrics) return task.primaryMetric;
  const prefixed = Object.keys(metrics).find((k) => k.endsWith(`/${task.primaryMetric}`));
  return prefixed ?? task.primaryMetric;
}

export function bestRecord(task: TaskInfo, records: readonly EpochRecord[]): EpochRecord | undefined {
  let best: EpochRecord | undefined;
  for (const r of records) {
    const key = primaryKey(task, r.metrics);
    if (best === undefined || (r.metrics[key] ?? -Infinity) > (best.metrics[key] ?? -Infinity)) best = r;
  }
  return best;
}

export interface JobRecorderStart {
  spec: JobSpec;
  task: TaskInfo;
  backend: BackendInfo;
  modelInfo: ModelInfo;
  startedAt: Date;
}

/** The results files of one run: metadata kept current, epochs and sparsity rewritten whole. */
export class JobRecorder {
  private constructor(
    readonly writer: RunWriter,
    private readonly task: TaskInfo,
    private metadata: RunMetadata,
  ) {}

  /** Writes metadata.json with status 'running' and no epochs. */
  static async start(writer: RunWriter, s: JobRecorderStart): Promise<JobRecorder> {
    const at = s.startedAt.toISOString();
    const recorder = new JobRecorder(writer, s.task, {
      job_id: s.spec.id,
      method: s.spec.method,
      task: s.spec.task,
      timestamp: writer.timestamp,
      status: 'running',
      spec: s.spec,
      backend: s.backend,
      versions: runVersions(),
      model_info: s.modelInfo,
      final_metrics: {},
      best_metrics: {},
      best_epoch: null,
      sparsity: null,
      epochs_completed: 0,
      started_at: at,
      updated_at: at,
    });
    await recorder.status('running', []);
    return recorder;
  }

  async status(status: RunStatus, records: readonly EpochRecord[], extra: Partial<RunMetadata> = {}): Promise<void> {
    const last = records[records.length - 1];
    const best = bestRecord(this.task, records);
    this.metadata = {
      ...this.metadata,
      status,
      final_metrics: last?.metrics ?? {},
      best_metrics: best?.metrics ?? {},
      best_epoch: best?.epoch ?? null,
      sparsity: last?.sparsity ?? null,
      epochs_completed: records.length,
      updated_at: new Date().toISOString(),
      ...extra,
    };
    await this.writer.writeMetadata(this.metadata);
  }

  /** The epochs CSV (columns from the first record's metrics) and the sparsity report. */
  async epochs(records: readonly EpochRecord[], sparsity: SparsityReport): Promise<void> {
    await this.writer.writeEpochs(records, Object.keys(records[0]?.metrics ?? {}));
    await this.writer.writeSparsity(sparsity);
  }

  /** `extraFiles`: files written outside the RunWriter (the model folder). */
  result(outputDir: string, records: readonly EpochRecord[], sparsity: SparsityReport, extraFiles: Record<string, string> = {}): JobResult {
    const { csv, metadata, events, checkpoints } = this.writer.files;
    return {
      job_id: this.metadata.job_id,
      output_dir: outputDir,
      epochs: [...records],
      final_metrics: records[records.length - 1]?.metrics ?? {},
      best_metrics: bestRecord(this.task, records)?.metrics ?? {},
      sparsity,
      files: { csv, metadata, sparsity: this.writer.files.sparsity, events, checkpoints, ...extraFiles },
    };
  }
}

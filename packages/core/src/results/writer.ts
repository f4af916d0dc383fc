/**
 * The run directory of one job: per-epoch CSV, metadata JSON, sparsity report, events.ndjson.
 * Every file except the event log is rewritten whole through a temporary file and a rename, so a
 * crash leaves the previous complete version; the event log is append-only.
 */
import { appendFile, mkdir, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochRecord, JobEvent, LayerUnitsReport, Metrics, SparsityReport } from '../events.js';
import { FileWriteError, writeFileAtomic, writeJsonAtomic } from '../fs-atomic.js';

/** A timestamp usable in file names: 20250131T142501Z. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The timestamp of an earlier run of `method` in `dir` (from its metadata file name), if any. */
export async function existingTimestamp(dir: string, method: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const prefix = `metadata_${safeName(method)}_`;
  const found = names.filter((n) => n.startsWith(prefix) && n.endsWith('.json')).sort();
  return found.length === 0 ? null : found[found.length - 1]!.slice(prefix.length, -'.json'.length);
}

/** A method may be a path: keep file names flat and portable. */
export function safeName(method: string): string {
  return method.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export const CSV_BASE_COLUMNS = ['epoch', 'step', 'lr', 'train_loss', 'eval_loss'] as const;

/** One CSV cell (RFC 4180): quoted when it holds a quote, comma or newline; NaN and undefined are empty. */
export function csvCell(value: number | string | undefined): string {
  if (value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** epoch, step, lr, train_loss, eval_loss, each metric (in the given order), sparsity, wall_time_s. */
export function epochsToCsv(records: readonly EpochRecord[], metricNames: readonly string[]): string {
  const header = [...CSV_BASE_COLUMNS, ...metricNames, 'sparsity', 'wall_time_s'];
  const rows = records.map((r) =>
    [r.epoch, r.step, r.lr, r.train_loss, r.eval_loss, ...metricNames.map((m) => r.metrics[m]), r.sparsity, r.wall_time_s].map(csvCell).join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

export type RunStatus = 'running' | 'done' | 'failed' | 'aborted';

export interface RunMetadata {
  job_id: string;
  method: string;
  task: string;
  timestamp: string;
  status: RunStatus;
  spec: unknown;
  backend: unknown;
  versions: Record<string, string>;
  model_info: unknown;
  final_metrics: Metrics;
  best_metrics: Metrics;
  /** Epoch whose primary metric was best. */
  best_epoch: number | null;
  sparsity: number | null;
  /** Heads and FFN neurons kept per encoder layer, from the last sparsity report (when it has them). */
  layers?: LayerUnitsReport[];
  epochs_completed: number;
  error?: unknown;
  started_at: string;
  updated_at: string;
}

export class RunWriter {
  readonly files: { csv: string; metadata: string; sparsity: string; events: string; checkpoints: string };
  private ready: Promise<void> | null = null;
  private appendChain: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly method: string,
    readonly timestamp: string,
  ) {
    const m = safeName(method);
    this.files = {
      csv: join(dir, `results_${m}_${timestamp}.csv`),
      metadata: join(dir, `metadata_${m}_${timestamp}.json`),
      sparsity: join(dir, `sparsity_${m}_${timestamp}.json`),
      events: join(dir, 'events.ndjson'),
      checkpoints: join(dir, 'checkpoints'),
    };
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(
      () => undefined,
      (error: unknown) => {
        throw new FileWriteError(this.dir, error);
      },
    );
    return this.ready;
  }

  /** Appends one event line; appends are serialised so lines never interleave. */
  appendEvent(event: JobEvent): Promise<void> {
    const line = `${JSON.stringify(event)}\n`;
    // A failed append (disk full) must not stop the later ones: the chain goes on past it.
    this.appendChain = this.appendChain.catch(() => undefined).then(async () => {
      await this.ensureDir();
      const size = await stat(this.files.events).then((s) => s.size, () => 0);
      try {
        await appendFile(this.files.events, line);
      } catch (error) {
        // A part-written line (disk full) is cut off, so the next line does not glue onto it.
        await truncate(this.files.events, size).catch(() => undefined);
        throw new FileWriteError(this.files.events, error);
      }
    });
    return this.appendChain;
  }

  /** Waits for pending event appends. */
  flush(): Promise<void> {
    return this.appendChain;
  }

  async writeEpochs(records: readonly EpochRecord[], metricNames: readonly string[]): Promise<void> {
    await this.ensureDir();
    await writeFileAtomic(this.files.csv, epochsToCsv(records, metricNames));
  }

  async writeMetadata(metadata: RunMetadata): Promise<void> {
    await this.ensureDir();
    await writeJsonAtomic(this.files.metadata, metadata);
  }

  async writeSparsity(report: SparsityReport): Promise<void> {
    await this.ensureDir();
    await writeJsonAtomic(this.files.sparsity, report);
  }
}

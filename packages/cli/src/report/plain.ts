/**
 * The reporter for pipes and CI: one line per event, prefixed with the job id. Progress events
 * (up to ~4/s per job) are thinned to one line per job every `progressEveryMs` unless verbose.
 */
import type { Writable } from 'node:stream';
import { fmt, formatDuration, metricsText, type JobView } from '../run/job-view.js';
import type { RunStore } from '../run/store.js';
import { backendLabel } from '../run/backend-label.js';

export interface PlainReporterOptions {
  out: Writable;
  verbose?: boolean;
  progressEveryMs?: number;
}

export function attachPlainReporter(store: RunStore, options: PlainReporterOptions): () => void {
  const { out, verbose = false } = options;
  const every = options.progressEveryMs ?? (verbose ? 0 : 10_000);
  const lastProgress = new Map<string, number>();
  const lastStatus = new Map<string, string>(store.snapshot().map((v) => [v.id, v.status]));
  const line = (id: string, text: string) => out.write(`[${id}] ${text}\n`);

  return store.subscribe((views, { id, message }) => {
    const view = views.find((v) => v.id === id)!;
    if (!message) {
      // A status set by the runner (skipped, blocked, aborted before start, plot notes).
      if (lastStatus.get(id) !== view.status) line(id, statusText(view));
      lastStatus.set(id, view.status);
      return;
    }
    lastStatus.set(id, view.status);
    switch (message.type) {
      case 'start':
        line(id, `start ${view.method} ${view.task} ${view.size}: ${message.total_steps} steps on ${backendLabel(message.backend)}${view.worker ? ` on worker ${view.worker}` : ''}${message.start_step > 0 ? `, resuming at step ${message.start_step}` : ''}`);
        break;
      case 'progress': {
        const now = message.time;
        if (now - (lastProgress.get(id) ?? 0) < every) break;
        lastProgress.set(id, now);
        const where = view.searching ? `candidate ${message.step}/${message.total_steps}` : `epoch ${message.epoch}/${view.epochs} step ${message.step}/${message.total_steps}`;
        line(id, `${where} loss ${fmt(message.loss)} sparsity ${fmt(message.sparsity, 3)} eta ${formatDuration(view.etaSeconds)}`);
        break;
      }
      case 'eval':
        if (verbose) line(id, `eval ${message.split} ${message.done}/${message.total}`);
        break;
      case 'epoch':
        line(id, `epoch ${message.epoch}/${view.epochs}: train_loss ${fmt(message.train_loss)} eval_loss ${fmt(message.eval_loss)} ${metricsText(message.metrics)} sparsity ${fmt(message.sparsity, 3)}`);
        break;
      case 'checkpoint':
        if (verbose) line(id, `checkpoint ${message.path}`);
        break;
      case 'log':
        if (verbose || message.level === 'warn' || message.level === 'error' || message.level === 'info') {
          line(id, `${message.level}${message.source ? ` [${message.source}]` : ''}: ${message.message}`);
        }
        break;
      case 'done':
      case 'failed':
      case 'aborted':
        line(id, statusText(view));
        break;
    }
  });
}

export function statusText(view: JobView): string {
  switch (view.status) {
    case 'done':
      return `done${view.metric ? `: ${view.metric.name} ${fmt(view.metric.value)}` : ''} sparsity ${fmt(view.sparsity, 3)} -> ${view.outputDir}`;
    case 'failed':
      return `FAILED: ${view.error?.message ?? 'unknown error'} (log: ${view.logPath})`;
    case 'aborted':
      return `aborted${view.error ? `: ${view.error.message}` : ' (checkpoint written; gbp run --resume continues it)'}`;
    case 'skipped':
      return 'skipped: finished in an earlier run';
    case 'blocked':
      return `blocked: ${view.error?.message ?? ''}`;
    default:
      return view.status;
  }
}

/** The closing lines: totals and where each failure's log is. */
export function summaryText(views: readonly JobView[]): string {
  const count = (s: JobView['status']) => views.filter((v) => v.status === s).length;
  const parts = (['done', 'skipped', 'failed', 'aborted', 'blocked'] as const).filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`);
  const lines = [`${views.length} jobs: ${parts.join(', ') || 'none run'}`];
  for (const v of views.filter((x) => x.status === 'failed')) lines.push(`  ${v.id} failed: ${v.error?.message ?? ''}\n    log: ${v.logPath}`);
  return lines.join('\n');
}

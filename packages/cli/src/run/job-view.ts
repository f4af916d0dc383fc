/**
 * What reporters show about a job, kept up to date from its worker's messages by one pure reducer
 * shared by the plain reporter and the dashboard.
 */
import type { JobErrorInfo } from '@gbp/core';
import { modelLabel } from '../model-label.js';
import type { PlannedJob } from '../pipeline/plan.js';
import type { WorkerMessage } from './protocol.js';
import { backendLabel } from './backend-label.js';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'aborted' | 'skipped' | 'blocked';
export const FINISHED: readonly JobStatus[] = ['done', 'failed', 'aborted', 'skipped', 'blocked'];

export interface JobView {
  readonly id: string;
  readonly stage: string;
  readonly method: string;
  readonly task: string;
  readonly size: string;
  readonly status: JobStatus;
  readonly epoch: number;
  readonly epochs: number;
  /** A search job: its steps are candidates scored, not training steps (it trains no epochs). */
  readonly searching: boolean;
  readonly step: number;
  readonly totalSteps: number;
  readonly loss?: number;
  /** Latest eval metric (the first the task reports, e.g. accuracy). */
  readonly metric?: { readonly name: string; readonly value: number };
  readonly sparsity: number;
  readonly startedAt?: number;
  /** Step and time of the first progress event, so the ETA ignores start-up time. */
  readonly rate?: { readonly step: number; readonly time: number };
  readonly updatedAt?: number;
  readonly etaSeconds?: number;
  readonly error?: JobErrorInfo;
  readonly logPath: string;
  readonly outputDir: string;
  /** Last few log lines (for the logs view). */
  readonly logs: readonly string[];
  readonly lastCheckpoint?: string;
  /** The `gbp worker` running the job (a run on a queue only). */
  readonly worker?: string;
}

const KEEP_LOGS = 50;

export function initialView(job: PlannedJob, logPath: string): JobView {
  return {
    id: job.id,
    stage: job.stage,
    method: job.spec.method,
    task: job.spec.task,
    size: modelLabel(job.spec.model),
    status: 'pending',
    epoch: 0,
    epochs: job.spec.train.epochs,
    searching: job.spec.search !== undefined,
    step: 0,
    totalSteps: 0,
    sparsity: 0,
    logPath,
    outputDir: job.spec.output_dir,
    logs: [],
  };
}

const withLog = (view: JobView, line: string): readonly string[] => [...view.logs, line].slice(-KEEP_LOGS);

export function applyMessage(view: JobView, message: WorkerMessage): JobView {
  switch (message.type) {
    case 'start':
      return {
        ...view,
        status: 'running',
        startedAt: view.startedAt ?? message.time,
        step: message.start_step,
        totalSteps: message.total_steps,
        epoch: Math.floor(message.start_step / Math.max(1, message.steps_per_epoch)),
        logs: withLog(view, `start on ${backendLabel(message.backend)}`),
      };
    case 'progress': {
      const rate = view.rate ?? { step: message.step, time: message.time };
      const done = message.step - rate.step;
      const eta = done > 0 ? ((message.time - rate.time) / done / 1000) * (message.total_steps - message.step) : undefined;
      return {
        ...view,
        status: 'running',
        epoch: message.epoch,
        step: message.step,
        totalSteps: message.total_steps,
        loss: message.loss,
        sparsity: message.sparsity,
        rate,
        updatedAt: message.time,
        ...(eta !== undefined && { etaSeconds: eta }),
      };
    }
    case 'epoch': {
      const [name, value] = Object.entries(message.metrics)[0] ?? [];
      return {
        ...view,
        epoch: message.epoch,
        sparsity: message.sparsity,
        ...(name !== undefined && value !== undefined && { metric: { name, value } }),
        logs: withLog(view, `epoch ${message.epoch}: train_loss ${fmt(message.train_loss)} eval_loss ${fmt(message.eval_loss)} ${metricsText(message.metrics)} sparsity ${fmt(message.sparsity)}`),
      };
    }
    case 'eval':
      return view;
    case 'checkpoint':
      return { ...view, lastCheckpoint: message.path };
    case 'log':
      return { ...view, logs: withLog(view, `${message.level}: ${message.message}`) };
    case 'done':
      return { ...view, status: 'done', step: view.totalSteps || view.step, etaSeconds: 0, logs: withLog(view, 'done') };
    case 'failed':
      return { ...view, status: 'failed', error: message.error, logs: withLog(view, `failed: ${message.error.message}`) };
    case 'aborted':
      return { ...view, status: 'aborted', logs: withLog(view, 'aborted (checkpoint written)') };
  }
}

export const fmt = (value: number | undefined, digits = 4) => (value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits));
export const metricsText = (metrics: Record<string, number>) =>
  Object.entries(metrics)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(' ');

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

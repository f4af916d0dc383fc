/** Events a job emits while it runs; the CLI forwards them over IPC to the dashboard. */
import type { JobSpec } from './spec.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Metric name → value, e.g. { accuracy: 0.81, f1: 0.77 } or { 'matched/accuracy': ... } for mnli. */
export type Metrics = Record<string, number>;

export interface BackendInfo {
  /** The backend in use (tfjs name: 'wasm', 'cpu', 'tensorflow'). */
  name: string;
  /** What was asked for (e.g. 'auto'). */
  requested: string;
  /** Why this one was chosen (e.g. 'auto: @tensorflow/tfjs-node-gpu not installed; ...'). */
  reason: string;
  /** Threads the job trains and evaluates with (train.threads as resolved); absent outside jobs. */
  threads?: number;
}

export interface SparsityReport {
  /** Fraction of gated weights that are masked, over all gates. */
  global: number;
  /** Per gate: name → { size, pruned, sparsity }. */
  gates: Record<string, { size: number; pruned: number; sparsity: number }>;
  /** Per encoder layer: attention heads and FFN neurons, and how many are kept (model/structure.ts). */
  layers?: LayerUnitsReport[];
}

/** Heads and FFN neurons of one encoder layer; a unit is removed when its output-side rows are all masked. */
export interface LayerUnitsReport {
  layer: number;
  heads: number;
  heads_kept: number;
  neurons: number;
  neurons_kept: number;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  lr: number;
  train_loss: number;
  eval_loss: number;
  metrics: Metrics;
  sparsity: number;
  wall_time_s: number;
}

export interface JobResult {
  job_id: string;
  output_dir: string;
  epochs: EpochRecord[];
  final_metrics: Metrics;
  best_metrics: Metrics;
  sparsity: SparsityReport;
  /** Paths of the result files written (csv, metadata, sparsity report, ...). */
  files: Record<string, string>;
}

export interface JobErrorInfo {
  message: string;
  code?: string;
  /** Set when a pruner hook failed. */
  plugin?: string;
  hook?: string;
  stack?: string;
}

export type JobEvent =
  | {
      type: 'start';
      job_id: string;
      spec: JobSpec;
      backend: BackendInfo;
      model_info: Record<string, number | string>;
      steps_per_epoch: number;
      total_steps: number;
      /** Step to continue from when resuming, else 0. */
      start_step: number;
      time: number;
    }
  | {
      type: 'progress';
      job_id: string;
      epoch: number;
      step: number;
      epoch_step: number;
      steps_per_epoch: number;
      total_steps: number;
      loss: number;
      lr: number;
      sparsity: number;
      tokens_per_s: number;
      time: number;
    }
  | { type: 'eval'; job_id: string; epoch: number; split: string; done: number; total: number; time: number }
  | ({ type: 'epoch'; job_id: string; time: number } & EpochRecord)
  | { type: 'checkpoint'; job_id: string; epoch: number; step: number; path: string; time: number }
  | { type: 'log'; job_id: string; level: LogLevel; message: string; source?: string; time: number }
  | { type: 'done'; job_id: string; result: JobResult; time: number }
  | { type: 'failed'; job_id: string; error: JobErrorInfo; time: number };

export type JobEventType = JobEvent['type'];
export type OnJobEvent = (event: JobEvent) => void;

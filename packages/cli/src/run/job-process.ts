/**
 * One job in its own worker process (execa, node IPC): spawn, job.log, every WorkerMessage, abort
 * with a grace period, and the outcome. Shared by the local pool (`gbp run`) and `gbp worker`, so a
 * queued job runs exactly as a local one does.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '@gbp/core';
import { execaNode } from 'execa';
import { isWorkerMessage, WORKER_EXIT, type ParentMessage, type WorkerMessage } from './protocol.js';
import { backendLabel } from './backend-label.js';

export type JobProcessOutcome = 'done' | 'failed' | 'aborted';

export interface JobProcessOptions {
  /** The worker module (see defaultWorkerEntry). */
  entry: string;
  env?: Record<string, string>;
  /** GPU id given to the job as CUDA_VISIBLE_DEVICES. */
  gpu?: number;
  /** Every message of the worker, in order (already written to job.log). */
  onMessage?: (message: WorkerMessage) => void;
  /** job.log cannot be written (full disk): the job goes on. */
  onWarning?: (message: string) => void;
  /** Written to job.log after the start line (e.g. why the job resumes). */
  startNote?: string;
}

export interface JobProcessResult {
  outcome: JobProcessOutcome;
  /** The worker's 'done', 'failed' or 'aborted' message, if it sent one. */
  final?: WorkerMessage;
  /** 'worker exited with CODE|SIGNAL'. */
  exit: string;
}

export interface JobProcess {
  pid: number | undefined;
  /** Asks the worker to stop (it checkpoints first); killed after graceMs. */
  abort(graceMs: number): void;
  /** SIGKILL now (a second Ctrl-C): no checkpoint. */
  kill(): void;
  result: Promise<JobProcessResult>;
}

export const jobLogPath = (spec: Pick<JobSpec, 'output_dir'>) => join(spec.output_dir, 'job.log');

export function defaultWorkerEntry(): string {
  return process.env.GBP_WORKER ?? fileURLToPath(new URL('./worker.js', import.meta.url));
}

/** Starts `spec` in a worker process; spec.output_dir is made first. */
export function startJobProcess(spec: JobSpec, options: JobProcessOptions): JobProcess {
  mkdirSync(spec.output_dir, { recursive: true });
  const logPath = jobLogPath(spec);
  const log = createWriteStream(logPath, { flags: 'a' });
  // A full disk must not crash the run through an unhandled stream error; the job goes on.
  let logFailed = false;
  log.on('error', (error) => {
    if (!logFailed) options.onWarning?.(`[${spec.id}] cannot write ${logPath}: ${error.message}`);
    logFailed = true;
  });
  const gpu = options.gpu;
  log.write(`--- ${new Date().toISOString()} start ${spec.id}${gpu !== undefined ? ` on GPU ${gpu}` : ''}${spec.resume ? ' (resume)' : ''}\n`);
  if (options.startNote) log.write(`${options.startNote}\n`);
  const subprocess = spawnWorker(options.entry, { ...options.env, ...(gpu !== undefined && { CUDA_VISIBLE_DEVICES: String(gpu) }) });
  subprocess.stdout?.pipe(log, { end: false });
  subprocess.stderr?.pipe(log, { end: false });

  let final: WorkerMessage | undefined;
  // Node's own 'message' events, handled synchronously: execa's getEachMessage() can end on the
  // 'disconnect' that follows a worker's last message before yielding it.
  subprocess.on('message', (raw: unknown) => {
    if (!isWorkerMessage(raw)) return;
    logMessage(log, raw);
    if (raw.type === 'done' || raw.type === 'failed' || raw.type === 'aborted') final = raw;
    options.onMessage?.(raw);
  });

  let abortRequested = false;
  const abort = (graceMs: number) => {
    if (abortRequested) return;
    abortRequested = true;
    subprocess.sendMessage({ type: 'abort' } satisfies ParentMessage).catch(() => subprocess.kill('SIGTERM'));
    const grace = setTimeout(() => subprocess.kill('SIGKILL'), graceMs);
    grace.unref();
    void subprocess.finally(() => clearTimeout(grace)).catch(() => undefined);
  };

  const result = (async (): Promise<JobProcessResult> => {
    await subprocess.sendMessage({ type: 'run', spec } satisfies ParentMessage).catch(() => undefined);
    const exited = await subprocess;
    let outcome: JobProcessOutcome;
    if (final?.type === 'done' && exited.exitCode === WORKER_EXIT.done) outcome = 'done';
    else if (final?.type === 'aborted' || (abortRequested && final?.type !== 'failed')) outcome = 'aborted';
    else outcome = 'failed';
    const exit = `worker exited with ${exited.exitCode ?? exited.signal}`;
    log.write(`--- ${new Date().toISOString()} ${outcome} (${exit})\n`);
    await new Promise((resolve) => (log.destroyed ? resolve(undefined) : log.end(resolve)));
    return { outcome, ...(final && { final }), exit };
  })();

  return { pid: subprocess.pid, abort, kill: () => subprocess.kill('SIGKILL'), result };
}

/** GPU ids shared by running jobs: each new job gets the least used one. */
export class GpuPicker {
  private readonly use: Map<number, number>;
  constructor(gpus: readonly number[] = []) {
    this.use = new Map(gpus.map((g) => [g, 0]));
  }
  take(): number | undefined {
    let best: number | undefined;
    for (const [gpu, count] of this.use) if (best === undefined || count < this.use.get(best)!) best = gpu;
    if (best !== undefined) this.use.set(best, this.use.get(best)! + 1);
    return best;
  }
  give(gpu: number | undefined): void {
    if (gpu !== undefined) this.use.set(gpu, (this.use.get(gpu) ?? 1) - 1);
  }
}

function spawnWorker(entry: string, env: Record<string, string>) {
  return execaNode(entry, [], {
    ipc: true,
    serialization: 'advanced',
    // The parent's flags (e.g. a test runner's loaders) are not the worker's business.
    nodeOptions: [],
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cleanup: true,
    env,
  });
}

export function logMessage(log: WriteStream, message: WorkerMessage) {
  const time = new Date(message.time).toISOString();
  switch (message.type) {
    case 'log':
      log.write(`${time} ${message.level}${message.source ? ` [${message.source}]` : ''}: ${message.message}\n`);
      break;
    case 'epoch':
      log.write(`${time} epoch ${message.epoch}: ${JSON.stringify({ train_loss: message.train_loss, eval_loss: message.eval_loss, ...message.metrics, sparsity: message.sparsity })}\n`);
      break;
    case 'failed':
      log.write(`${time} failed: ${message.error.message}\n${message.error.stack ?? ''}\n`);
      break;
    case 'checkpoint':
      log.write(`${time} checkpoint: ${message.path}\n`);
      break;
    case 'start':
      log.write(`${time} start: backend ${backendLabel(message.backend)}\n`);
      break;
    case 'done':
    case 'aborted':
      log.write(`${time} ${message.type}\n`);
      break;
    default:
      break;
  }
}

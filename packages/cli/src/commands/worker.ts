/**
 * `gbp worker --queue URL`: takes jobs of `gbp run --queue` sweeps from Redis and runs them here
 * until SIGTERM/SIGINT, which hands the running jobs back (checkpointed) and exits 0; a second
 * signal kills the job processes and exits 130 at once (their jobs stall and BullMQ moves them back).
 *
 * For tests only (so a test sees a stalled job retried within seconds), the environment may set
 * GBP_QUEUE_LOCK_MS, GBP_QUEUE_STALLED_MS (BullMQ lockDuration, stalledInterval) and
 * GBP_WORKER_ABORT_GRACE_MS (how long an aborted job may take to checkpoint).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { JobSpec } from '@gbp/core';
import { helpText, parseFlags, UsageError, WORKER_FLAGS } from '../args.js';
import { redactQueueUrl, redisOptions } from '../queue/redis-url.js';
import { defaultWorkerCache } from '../queue/worker-folder.js';
import { checkQueue, startQueueWorker } from '../queue/worker-queue.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

export const WORKER_USAGE = 'Usage: gbp worker --queue URL [options]';

export async function workerCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, WORKER_FLAGS, 'gbp worker');
  if (flags.help) {
    io.stdout.write(
      helpText(WORKER_USAGE, WORKER_FLAGS, 'Runs jobs of `gbp run FILE --queue URL` sweeps taken from Redis until SIGTERM/SIGINT, which hands the running jobs back to the queue (checkpointed).'),
    );
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`gbp worker: takes no arguments, got ${positionals.join(' ')}; see gbp worker -h`);
  const url = flags.queue ?? io.env.GBP_QUEUE;
  if (!url) throw new UsageError('gbp worker: no queue; give --queue redis://host:port or set GBP_QUEUE');
  redisOptions(url); // a malformed URL is refused before connecting
  const testMs = (variable: string) => {
    const raw = io.env[variable];
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`gbp worker: ${variable} must be a positive number of milliseconds, got '${raw}'`);
    return Number(raw);
  };
  const lockDurationMs = testMs('GBP_QUEUE_LOCK_MS');
  const stalledIntervalMs = testMs('GBP_QUEUE_STALLED_MS');
  const abortGraceMs = testMs('GBP_WORKER_ABORT_GRACE_MS');
  const shown = redactQueueUrl(url);
  await checkQueue(url);

  const name = flags.name ?? `${hostname()}:${process.pid}`;
  const workRoot = flags.checkpointDir ? resolve(io.cwd, flags.checkpointDir) : defaultWorkerCache(io.env);
  const concurrency = flags.concurrency ?? 1;
  const line = (text: string) => io.stdout.write(`${new Date().toISOString()} ${text}\n`);

  const worker = await startQueueWorker({
    url,
    name,
    concurrency,
    workRoot,
    ...(flags.backend && { backend: flags.backend as JobSpec['backend'] }),
    ...(flags.gpus && { gpus: flags.gpus.map(Number) }),
    ...(lockDurationMs !== undefined && { lockDurationMs }),
    ...(stalledIntervalMs !== undefined && { stalledIntervalMs }),
    ...(abortGraceMs !== undefined && { abortGraceMs }),
    onLine: line,
  });
  line(`gbp worker ${name}: queue ${shown}, ${concurrency} job${concurrency === 1 ? '' : 's'} at a time, job folders in ${workRoot}${flags.checkpointDir ? ' (shared)' : ''}`);

  let signals = 0;
  let firstSignal!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((done) => (firstSignal = done));
  const detachSignals = io.onSignals((signal) => {
    signals += 1;
    if (signals > 1) {
      worker.kill();
      process.exit(EXIT.aborted);
    }
    firstSignal(signal);
  });
  const signal = await stopped;
  line(`${signal}: handing the running jobs back to the queue (each writes a checkpoint); press again to kill them`);
  await worker.stop(`worker ${name} stopped by ${signal}`).finally(detachSignals);
  line(`gbp worker ${name}: stopped`);
  return EXIT.ok;
}

/**
 * The worker process: receives one JobSpec over IPC, runs core's runJob and forwards every event
 * to the parent. On an 'abort' message, SIGTERM or SIGINT it aborts the job, which writes a
 * checkpoint first, and exits with WORKER_EXIT.aborted. It also aborts when its IPC channel closes:
 * a parent killed with SIGKILL cannot stop it, and an orphan would keep writing into a job folder
 * that a later `gbp run --resume` writes too.
 */
import { runJob, type JobEvent } from '@gbp/core';
import { WORKER_EXIT, type ParentMessage, type WorkerMessage } from './protocol.js';

const send = (message: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

const controller = new AbortController();
const abort = () => controller.abort();
process.on('SIGTERM', abort);
process.on('SIGINT', abort);

// The channel closes when the parent dies (or when run() below disconnects after the job, when
// aborting is a no-op). A worker that never got a job has nothing to checkpoint and just leaves.
let started = false;
process.on('disconnect', () => {
  abort();
  if (!started) process.exit(WORKER_EXIT.aborted);
});
// Our stdout/stderr are pipes to the parent: once it is dead a write fails with EPIPE, which must
// not crash the worker before its checkpoint is written.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

process.on('message', (raw: unknown) => {
  const message = raw as ParentMessage;
  if (message.type === 'abort') abort();
  if (message.type === 'run') {
    started = true;
    void run(message);
  }
});

async function run({ spec }: Extract<ParentMessage, { type: 'run' }>) {
  let failedSent = false;
  const onEvent = (event: JobEvent) => {
    if (event.type === 'failed') failedSent = true;
    void send(event);
  };
  let code: number = WORKER_EXIT.done;
  try {
    await runJob(spec, onEvent, { signal: controller.signal });
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err.name === 'AbortError' || controller.signal.aborted) {
      code = WORKER_EXIT.aborted;
      await send({ type: 'aborted', job_id: spec.id, message: err.message, time: Date.now() });
    } else {
      code = WORKER_EXIT.failed;
      if (!failedSent) {
        await send({ type: 'failed', job_id: spec.id, error: { message: err.message, ...(err.stack && { stack: err.stack }) }, time: Date.now() });
      }
      console.error(err.stack ?? err.message);
    }
  }
  // Let queued IPC messages flush before leaving.
  await send({ type: 'log', job_id: spec.id, level: 'debug', message: `worker exiting with ${code}`, time: Date.now() });
  if (process.connected) process.disconnect();
  process.exitCode = code;
}

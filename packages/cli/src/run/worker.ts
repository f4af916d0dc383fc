/**
 * The worker process: receives one JobSpec over IPC, runs core's runJob and forwards every event
 * to the parent. On an 'abort' message, SIGTERM or SIGINT it aborts the job, which writes a
 * checkpoint first, and exits with WORKER_EXIT.aborted.
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

process.on('message', (raw: unknown) => {
  const message = raw as ParentMessage;
  if (message.type === 'abort') abort();
  if (message.type === 'run') void run(message);
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
  process.disconnect?.();
  process.exitCode = code;
}

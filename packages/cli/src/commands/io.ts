/** What a command may touch of the process, so tests can run commands in-process. */
import type { Readable, Writable } from 'node:stream';

export interface CommandIO {
  stdout: Writable & { columns?: number; rows?: number };
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  cwd: string;
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignals(handler: (signal: NodeJS.Signals) => void): () => void;
}

/**
 * A reader that stops early (`gbp validate f | head -1`) closes the pipe: the next write fails
 * with EPIPE, which Node raises as an unhandled 'error'. Output nobody reads is dropped instead,
 * and the command ends as it would have (a run keeps its jobs and writes every result file).
 */
export function dropOutputAfterReaderCloses(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    stream.destroy();
  });
}

export function processIO(): CommandIO {
  dropOutputAfterReaderCloses(process.stdout);
  dropOutputAfterReaderCloses(process.stderr);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY),
    cwd: process.cwd(),
    onSignals(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

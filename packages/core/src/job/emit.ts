/** A job's event sink: every event goes to the caller and, once the run's folder exists, to events.ndjson. */
import type { JobEvent, LogLevel, OnJobEvent } from '../events.js';
import type { RunWriter } from '../results/index.js';

export interface JobEmitter {
  emit(event: JobEvent): void;
  log(level: LogLevel, message: string, source?: string): void;
  /** From now on events are appended to this writer's events.ndjson too. */
  writeTo(writer: RunWriter): void;
  /** Waits for the events appended so far (nothing to wait for before writeTo). */
  flush(): Promise<void>;
}

export function jobEmitter(jobId: string, onEvent: OnJobEvent): JobEmitter {
  let writer: RunWriter | null = null;
  const emit = (event: JobEvent) => {
    onEvent(event);
    // The results writer reports its own failures; an event the log missed must not stop the job.
    void writer?.appendEvent(event).catch(() => undefined);
  };
  return {
    emit,
    log: (level, message, source) => emit({ type: 'log', job_id: jobId, level, message, ...(source ? { source } : {}), time: Date.now() }),
    writeTo: (w) => void (writer = w),
    flush: async () => writer?.flush(),
  };
}

/** Aborting a job: one error type for every stage (data, tokenizer, training), and the checks they share. */

export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'the job was aborted') {
    super(message);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, message?: string): void {
  if (signal?.aborted) throw new AbortError(message);
}

/**
 * For long synchronous loops: lets the event loop run (so a SIGTERM handler or an IPC message can
 * abort the signal) and then throws an AbortError if it did.
 */
export async function yieldAndCheckAbort(signal: AbortSignal | undefined, message?: string): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  throwIfAborted(signal, message);
}

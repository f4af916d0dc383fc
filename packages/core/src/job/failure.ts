/** How a job's failure is told apart from an abort and described in metadata and the failed event. */
import type { JobErrorInfo } from '../events.js';
import { explainBackendError } from '../backend/index.js';
import { PluginError } from '../hooks/registry.js';
import { AbortError } from '../train/index.js';

export type JobEnding = { aborted: true; error: Error } | { aborted: false; error: Error; info: JobErrorInfo };

/** An abort (ours or any AbortError), or a failure with its code and, for a pruner, plugin and hook. */
export function classifyFailure(caught: unknown): JobEnding {
  if (caught instanceof AbortError || (caught instanceof Error && caught.name === 'AbortError')) return { aborted: true, error: caught };
  const error = explainBackendError(caught);
  const info: JobErrorInfo = { message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') info.code = code;
  if (error instanceof PluginError) {
    info.plugin = error.plugin;
    info.hook = error.hook;
  }
  return { aborted: false, error, info };
}

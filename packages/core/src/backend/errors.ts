/** Turning backend failures (wasm heap exhaustion above all) into errors a user can act on. */
import { tf } from '../tf.js';

/** A backend ran out of memory; `cause` is the original error. */
export class BackendMemoryError extends Error {
  override name = 'BackendMemoryError';
  readonly code = 'GBP_BACKEND_OOM';
}

// What the wasm backend throws when its heap cannot grow (measured with tfjs-backend-wasm 4.22):
// malloc failing aborts ("RuntimeError: Aborted()"); a single allocation past 4 GB wraps around and
// faults ("memory access out of bounds"); the Emscripten and V8 variants cover other builds.
const WASM_HEAP_PATTERNS = [
  /\bAborted\(/,
  /memory access out of bounds/i,
  /Cannot enlarge memory/i,
  /\bOOM\b/,
  /Maximum memory size exceeded/i,
  /WebAssembly\.Memory.*grow/i,
];
// Out of memory elsewhere: V8 array buffers, TensorFlow (tfjs-node) allocators.
const OTHER_OOM_PATTERNS = [/Array buffer allocation failed/i, /Invalid typed array length/i, /out of memory/i, /OOM when allocating/i];

const ADVICE = 'lower train.micro_batch_size (gradients are accumulated up to train.batch_size), or model.max_len / the model size';

/**
 * Returns a clear error for a wasm abort / out-of-memory ("wasm heap exhausted (4 GB limit) ... lower
 * train.micro_batch_size"), keeping the original as `cause`; returns any other error unchanged (a
 * non-Error is wrapped in one).
 */
export function explainBackendError(error: unknown): Error {
  if (error instanceof BackendMemoryError) return error;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (WASM_HEAP_PATTERNS.some((p) => p.test(text))) {
    // After an abort or a trap the heap may be corrupt: the job must end, a retry needs a new process.
    return new BackendMemoryError(
      `wasm heap exhausted (4 GB limit${heapNote()}): ${ADVICE}. The wasm backend is unusable in this process after this error. Original error: ${text}`,
      {
        cause: error,
      },
    );
  }
  if (OTHER_OOM_PATTERNS.some((p) => p.test(text))) {
    return new BackendMemoryError(`out of memory on backend '${safeBackendName()}': ${ADVICE}. Original error: ${text}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(text, { cause: error });
}

/** ", heap at 3.1 GB" when the wasm backend is active: tells a leak (heap full) from one huge tensor. */
function heapNote(): string {
  try {
    if (tf.getBackend() !== 'wasm') return '';
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    const bytes = wasm?.HEAPU8?.byteLength;
    return bytes ? `, heap at ${(bytes / 2 ** 30).toFixed(1)} GB` : '';
  } catch {
    return '';
  }
}

function safeBackendName(): string {
  try {
    return tf.getBackend() ?? 'none';
  } catch {
    return 'unknown';
  }
}

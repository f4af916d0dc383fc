import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { BackendMemoryError, explainBackendError } from './errors.js';
import { initBackend } from './init.js';

// The wasm trap class (the lib config has no WebAssembly typings).
const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly;

describe('explainBackendError', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('explains a real wasm trap: one allocation past 4 GB (cheap: the write faults at the heap end)', () => {
    // tfjs computes the byte size in JS and wasm truncates it to 32 bits: 4 GB + 64 B allocates 64 B,
    // and tile faults as soon as it writes past the (small) heap. The heap is corrupt afterwards,
    // which is why this test has a file (a process) of its own.
    let caught: unknown;
    try {
      tf.tile(tf.ones([1]), [2 ** 30 + 16]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RuntimeError);
    const explained = explainBackendError(caught);
    expect(explained).toBeInstanceOf(BackendMemoryError);
    expect(explained.message).toMatch(/^wasm heap exhausted \(4 GB limit, heap at [\d.]+ GB\): lower train\.micro_batch_size/);
    expect(explained.message).toContain('memory access out of bounds');
    expect(explained.cause).toBe(caught);
    expect((explained as BackendMemoryError).code).toBe('GBP_BACKEND_OOM');
  });

  it('explains the abort malloc failure produces (message as measured with tfjs-backend-wasm 4.22)', () => {
    const abort = new RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
    const explained = explainBackendError(abort);
    expect(explained.message).toContain('wasm heap exhausted (4 GB limit');
    expect(explained.message).toContain('lower train.micro_batch_size');
    expect(explained.message).toContain('unusable in this process');
  });

  it('explains other out-of-memory errors without blaming wasm', () => {
    const explained = explainBackendError(new RangeError('Array buffer allocation failed'));
    expect(explained).toBeInstanceOf(BackendMemoryError);
    expect(explained.message).toMatch(/^out of memory on backend 'wasm': lower train\.micro_batch_size/);
  });

  it('returns other errors unchanged, and wraps non-errors', () => {
    const error = new Error("Kernel 'Foo' not registered for backend 'wasm'");
    expect(explainBackendError(error)).toBe(error);
    const wrapped = explainBackendError('boom');
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped.message).toBe('boom');
    const once = explainBackendError(new RuntimeError('Aborted()'));
    expect(explainBackendError(once)).toBe(once);
  });
});

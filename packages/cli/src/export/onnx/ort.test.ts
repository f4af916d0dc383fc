/** onnxruntime-node's native binary failing to load is an error that says so, not a bare dlopen message. */
import { describe, expect, it, vi } from 'vitest';

describe('loadOrt', () => {
  it('names onnxruntime-node and its platform binary when the package cannot be loaded', async () => {
    vi.resetModules();
    vi.doMock('onnxruntime-node', () => {
      throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory');
    });
    try {
      const { loadOrt } = await import('./ort.js');
      const error = await loadOrt().then(() => undefined, (e: unknown) => e as Error);
      expect(error?.message).toMatch(new RegExp(`^onnxruntime-node could not be loaded \\(its native binary for ${process.platform}-${process.arch} ships in the package\\): `));
      // The loader's own error (here vitest's wrapper around the mock's) is kept as the cause, down to the dlopen message.
      const causes: string[] = [];
      for (let e: unknown = error?.cause; e instanceof Error; e = e.cause) causes.push(e.message);
      expect(causes.join('\n')).toContain('libonnxruntime.so.1: cannot open shared object file');
    } finally {
      vi.doUnmock('onnxruntime-node');
    }
  });
});

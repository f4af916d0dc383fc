/** wasm that cannot start falls back to cpu, saying why (its own file: the wasm location is process-wide and set once). */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';

describe('selectBackend', () => {
  it('runs on cpu, with the reason, when the wasm files are not where it was told', async () => {
    const choice = await selectBackend({ wasmPaths: '/nonexistent/gbp-wasm/' });
    expect(choice.name).toBe('cpu');
    expect(choice.reason).toMatch(/^wasm could not start \(.+\); fell back to cpu$/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('refuses an unknown backend name', async () => {
    // @ts-expect-error: the type allows 'wasm' | 'cpu' only; a JS caller may pass anything
    await expect(selectBackend({ backend: 'webgl' })).rejects.toThrow(`backend: expected 'wasm' or 'cpu', got "webgl"`);
  });
});

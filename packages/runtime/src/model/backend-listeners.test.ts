/**
 * Starting wasm in Node leaves the application's process handlers as they were: emscripten's Node
 * glue adds 'uncaughtException' / 'unhandledRejection' handlers that rethrow (emscripten-core/emscripten#11768),
 * which would override an application's own. Its own file: wasm initialises once per process.
 */
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';

describe('selectBackend in Node', () => {
  it('adds no process-wide uncaughtException or unhandledRejection handler', async () => {
    const before = ['uncaughtException', 'unhandledRejection'].map((e) => process.listeners(e as 'uncaughtException').length);
    expect((await selectBackend()).name).toBe('wasm');
    expect(['uncaughtException', 'unhandledRejection'].map((e) => process.listeners(e as 'uncaughtException').length)).toEqual(before);
  });
});

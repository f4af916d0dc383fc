/**
 * The TF.js backend the runtime computes on: wasm (SIMD; XNNPACK matmuls) by default, cpu (plain
 * JS) when wasm cannot start or is not wanted. Importing this module registers both with tfjs-core;
 * nothing is selected until selectBackend runs.
 */
import type { EventEmitter } from 'node:events';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type RuntimeBackend = 'wasm' | 'cpu';

export interface BackendChoice {
  /** The backend that runs the model. */
  name: RuntimeBackend;
  /** Why: requested, or why wasm fell back to cpu. */
  reason: string;
}

export interface BackendOptions {
  /** Default 'wasm'; it falls back to 'cpu' (said in BackendChoice.reason) when wasm cannot start. */
  backend?: RuntimeBackend;
  /**
   * Where tfjs-backend-wasm's .wasm files are (a URL prefix ending in '/'), for a browser page that
   * serves them itself; in Node the installed package's own folder is used.
   */
  wasmPaths?: string;
}

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The folder of the installed tfjs-backend-wasm (Node only; node:module behind a dynamic import so browsers never load it). */
async function nodeWasmFolder(): Promise<string> {
  const { createRequire } = await import('node:module');
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  return `${entry.slice(0, Math.max(entry.lastIndexOf('/'), entry.lastIndexOf('\\')) + 1)}`;
}

async function startWasm(wasmPaths: string | undefined): Promise<void> {
  // The .wasm location can only be set before the backend's first initialisation (it is process-wide).
  if (tf.engine().registry['wasm'] === undefined) {
    const prefix = wasmPaths ?? (isNode() ? await nodeWasmFolder() : undefined);
    if (prefix !== undefined) setWasmPaths(prefix);
  }
  const before = isNode() ? processHandlers() : undefined;
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  } finally {
    if (before) removeHandlersAddedSince(before);
  }
}

// Emscripten's Node glue, run when wasm initialises, adds process handlers that rethrow every
// uncaught exception and unhandled rejection (emscripten-core/emscripten#11768): they would
// override the application's own handlers, so they are removed (as core's initBackend does).
const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type Handler = (...args: unknown[]) => void;
// typed as a plain emitter: process's own overloads do not take a union of event names
const processEmitter = (): EventEmitter => process;

function processHandlers(): Map<string, Set<Handler>> {
  return new Map(PROCESS_EVENTS.map((event) => [event, new Set(processEmitter().listeners(event) as Handler[])]));
}

function removeHandlersAddedSince(before: Map<string, Set<Handler>>): void {
  for (const event of PROCESS_EVENTS) {
    for (const handler of processEmitter().listeners(event) as Handler[]) if (!before.get(event)?.has(handler)) processEmitter().removeListener(event, handler);
  }
}

/** Selects the backend; wasm that fails to start falls back to cpu, with the reason. */
export async function selectBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const wanted = options.backend ?? 'wasm';
  if (wanted !== 'wasm' && wanted !== 'cpu') throw new Error(`backend: expected 'wasm' or 'cpu', got ${JSON.stringify(wanted)}`);
  if (wanted === 'wasm') {
    try {
      await startWasm(options.wasmPaths);
      return { name: 'wasm', reason: options.backend === 'wasm' ? 'wasm requested' : 'wasm, the default' };
    } catch (error) {
      await tf.setBackend('cpu');
      return { name: 'cpu', reason: `wasm could not start (${(error as Error).message}); fell back to cpu` };
    }
  }
  await tf.setBackend('cpu');
  return { name: 'cpu', reason: 'cpu requested' };
}

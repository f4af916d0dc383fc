/**
 * Choosing the TF.js backend. `initBackend` is the one entry: it loads the backend package, selects
 * it, and registers what training needs (gradients on every backend; kernels and matmul overrides on
 * wasm), once.
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { BackendInfo } from '../events.js';
import { BACKEND_NAMES, type BackendName } from '../spec.js';
import { tf } from '../tf.js';
import { registerGradients } from './gradients/register_gradients.js';
import { registerWasmKernels } from './wasm/register_wasm_kernels.js';
import { selectWebgpu, webgpuSkippedByAuto } from './webgpu.js';

/** The optional native packages: tfjs-node (CPU) and tfjs-node-gpu (CUDA); both register 'tensorflow'. */
const NATIVE_PACKAGES = {
  cuda: '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;
type NativeName = keyof typeof NATIVE_PACKAGES;

/** Which native package this module imported (both register the same backend name). */
let nativeLoaded: string | undefined;
let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/** The backend chosen by the last successful `initBackend`, or undefined before one. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/**
 * Selects the backend (default 'auto': cuda, then tensorflow, then wasm; webgpu only on request) and returns what was chosen
 * and why. Idempotent: a repeated call with the same request returns the same info without work;
 * a different request switches backends. Throws a clear error when an explicitly requested backend
 * cannot be loaded (e.g. "install @tensorflow/tfjs-node").
 */
export async function initBackend(requested: BackendName = 'auto'): Promise<BackendInfo> {
  // Serialise concurrent callers: two setBackend calls racing leave tfjs in an unclear state.
  while (pending) await pending.catch(() => undefined);
  if (current?.requested === requested && tf.getBackend() === current.name) return current;
  pending = select(requested);
  try {
    current = await pending;
    return current;
  } finally {
    pending = undefined;
  }
}

async function select(requested: BackendName): Promise<BackendInfo> {
  registerGradients();
  switch (requested) {
    case 'cpu':
      await activate('cpu');
      return { name: 'cpu', requested, reason: 'requested cpu' };
    case 'wasm':
      await activateWasm();
      return { name: 'wasm', requested, reason: 'requested wasm (SIMD, 1 thread on Node)' };
    case 'webgpu': {
      const adapter = await selectWebgpu(() => activate('webgpu'));
      return { name: 'webgpu', requested, reason: `requested webgpu: Dawn adapter ${adapter}` };
    }
    case 'tensorflow':
    case 'cuda': {
      const loaded = await loadNative(requested);
      if (!loaded.ok) throw new Error(`backend '${requested}': ${loaded.why}`);
      await activate('tensorflow');
      return { name: 'tensorflow', requested, reason: `requested ${requested}: ${NATIVE_PACKAGES[requested]}` };
    }
    case 'auto': {
      const skipped: string[] = [];
      for (const native of ['cuda', 'tensorflow'] as const) {
        const loaded = await loadNative(native);
        if (!loaded.ok) {
          skipped.push(loaded.short);
          continue;
        }
        try {
          await activate('tensorflow');
          return { name: 'tensorflow', requested, reason: `auto: ${[...skipped, `${NATIVE_PACKAGES[native]} loaded`].join(', ')}` };
        } catch (error) {
          skipped.push(`${NATIVE_PACKAGES[native]} failed to initialise (${message(error)})`);
        }
      }
      skipped.push(await webgpuSkippedByAuto());
      try {
        await activateWasm();
        return { name: 'wasm', requested, reason: `auto: ${skipped.join(', ')} -> wasm` };
      } catch (error) {
        await activate('cpu');
        return { name: 'cpu', requested, reason: `auto: ${skipped.join(', ')}, wasm failed (${message(error)}) -> cpu` };
      }
    }
    default:
      throw new Error(`unknown backend '${String(requested)}': expected one of ${BACKEND_NAMES.join(', ')}`);
  }
}

type NativeLoad = { ok: true } | { ok: false; short: string; why: string };

/** Imports tfjs-node(-gpu) when installed; says precisely why not otherwise. */
async function loadNative(name: NativeName): Promise<NativeLoad> {
  const pkg = NATIVE_PACKAGES[name];
  if (tf.findBackendFactory('tensorflow') != null) {
    // Already imported, by us or by the application (then we cannot tell which one: trust it).
    if (nativeLoaded == null || nativeLoaded === pkg) return { ok: true };
    return { ok: false, short: `${nativeLoaded} already loaded`, why: `${nativeLoaded} is already loaded in this process; ${pkg} cannot replace it` };
  }
  const require = createRequire(import.meta.url);
  try {
    require.resolve(pkg);
  } catch {
    return {
      ok: false,
      short: `${pkg} not installed`,
      why: `${pkg} is not installed. Install it next to @gbp/core (npm install ${pkg}@${tf.version_core}) or choose backend wasm.`,
    };
  }
  try {
    // require, not import(): both packages are CommonJS, and this keeps test runners' resolvers out.
    require(pkg);
  } catch (error) {
    return { ok: false, short: `${pkg} failed to load`, why: `${pkg} is installed but failed to load: ${message(error)}` };
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    // It registered on its own copy of tfjs-core: ops from gbp would never reach it.
    return {
      ok: false,
      short: `${pkg} uses another @tensorflow/tfjs-core`,
      why: `${pkg} loaded but registered on a different @tensorflow/tfjs-core than gbp's (${tf.version_core}); install a matching version`,
    };
  }
  nativeLoaded = pkg;
  return { ok: true };
}

let wasmPathsSet = false;

async function activateWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet && tf.engine().registry['wasm'] == null) {
    // Point at the .wasm files next to the package's entry explicitly, so loading does not depend on
    // the bundle's __dirname (bundlers, test runners). Threads stay off: tfjs disables them on Node.
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${dirname(entry)}/`);
    wasmPathsSet = true;
  }
  const before = processListeners();
  try {
    await activate('wasm');
  } finally {
    removeListenersAddedSince(before);
  }
  registerWasmKernels();
}

// Emscripten's Node glue, run when the wasm backend initialises, adds process handlers that rethrow
// every uncaught exception and unhandled rejection (emscripten-core/emscripten#11768): they would
// override the application's own handlers (a worker reporting its failure), so they are removed.
const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

type Listener = (...args: unknown[]) => void;
const emitter: EventEmitter = process;

function processListeners(): Map<string, Set<Listener>> {
  return new Map(PROCESS_EVENTS.map((event) => [event, new Set(emitter.listeners(event) as Listener[])]));
}

function removeListenersAddedSince(before: Map<string, Set<Listener>>): void {
  for (const event of PROCESS_EVENTS) {
    for (const listener of emitter.listeners(event) as Listener[]) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener);
    }
  }
}

async function activate(name: string): Promise<void> {
  // setBackend resolves false (after a console warning) rather than throwing when init fails.
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend '${name}' failed to initialise (see the warning above)`);
  await tf.ready();
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

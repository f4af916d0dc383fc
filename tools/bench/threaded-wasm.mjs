// @ts-check
/**
 * Makes tfjs-backend-wasm (4.22) start its multithreaded build (tfjs-backend-wasm-threaded-simd.wasm,
 * XNNPACK's pthreadpool on emscripten pthreads) on Node, at run time, without editing node_modules.
 * For benchmarks only (tools/bench/wasm-threads.mjs): it patches process-wide objects, so call it
 * once, in a process of its own, before initBackend('wasm').
 *
 * What stops the threaded build on Node, and what is done here about each:
 * 1. tfjs registers WASM_HAS_MULTITHREAD_SUPPORT as false on Node (tfjs#3830): the flag is set true.
 *    It then hands the pthread worker script to emscripten as a `blob:` URL, which worker_threads
 *    refuses (ERR_WORKER_PATH): `worker_threads.Worker` (the constructor emscripten's glue looks up
 *    when the backend starts) is replaced by a subclass that starts a temporary file holding the
 *    same worker script (wasm-out/tfjs-backend-wasm-threaded-simd.worker.js, escaped as tfjs does)
 *    instead; the blob's size is checked against that file's, so a tfjs whose worker differs fails
 *    here rather than later.
 * 2. The worker then `importScripts` the main glue through another `blob:` URL (ENOENT on Node):
 *    the temporary worker file ends with a wrapper of `importScripts` that loads the threaded glue
 *    from its file (wasm-out/tfjs-backend-wasm-threaded-simd.js; the same emscripten build as the
 *    glue inlined in the Node bundle: its import table is identical).
 * 3. The native init caps the pool at os.cpus().length / 2 (emscripten_num_logical_cores), silently:
 *    os.cpus() reports 2 x the requested threads while the backend initialises, then is restored.
 *    `assertThreads` checks the count the module reports and the pool's running workers.
 * 4. The pool's workers keep the process alive until the backend is disposed: `disposeWasmBackend`
 *    removes the backend (tfjs then terminates them).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tf } from '@gbp/core/internal';

const require = createRequire(import.meta.url);
const WASM_DIST = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
const WASM_OUT = join(WASM_DIST, '..', 'wasm-out');
const WORKER_MODULE = join(WASM_OUT, 'tfjs-backend-wasm-threaded-simd.worker.js');
const THREADED_GLUE = join(WASM_OUT, 'tfjs-backend-wasm-threaded-simd.js');

/**
 * The emscripten module's pthread bookkeeping (tfjs's types declare only terminateAllThreads).
 * @typedef {{ runningWorkers: unknown[], unusedWorkers: unknown[] }} PThreadPool
 */

/**
 * Patches what stops the threaded build (see the header); call before initBackend('wasm') and
 * `restore` after it (the core count is read while the backend initialises).
 * @param {number} threads
 * @returns {Promise<{ restore: () => void }>}
 */
export async function enableThreadedWasm(threads) {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`enableThreadedWasm: threads must be a positive integer, got ${threads}`);
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const workerFile = writeWorkerFile();

  // 1. The flag tfjs forces false on Node; the thread count XNNPACK's pool is created with.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);

  // 1. The worker as a file, not a blob: URL.
  const workerThreads = require('node:worker_threads');
  const { resolveObjectURL } = require('node:buffer');
  const NodeWorker = workerThreads.Worker;
  const expectedBytes = Buffer.byteLength(workerSource());
  workerThreads.Worker = class extends NodeWorker {
    /** @param {string | URL} url @param {import('node:worker_threads').WorkerOptions} [options] */
    constructor(url, options) {
      const href = String(url);
      if (href.startsWith('blob:')) {
        const size = resolveObjectURL(href)?.size;
        if (size !== expectedBytes) {
          throw new Error(
            `threaded wasm: tfjs's pthread worker (${href}) has ${size} bytes, ${WORKER_MODULE} ${expectedBytes}: ` +
              'this tfjs-backend-wasm ships a different worker; the run-time patch needs updating',
          );
        }
        super(workerFile, options);
      } else {
        super(url, options);
      }
    }
  };

  // 3. The native init uses min(requested, logical cores / 2).
  const os = require('node:os');
  const cpus = os.cpus;
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => /** @type {import('node:os').CpuInfo} */ (real[i % real.length]));
  };
  // Workers read the file as they start, and emscripten starts more when its pool runs out: it goes at exit.
  process.once('exit', () => rmSync(dirname(workerFile), { recursive: true, force: true }));
  return { restore: () => void (os.cpus = cpus) };
}

/** tfjs's worker script, escaped as tfjs escapes it before putting it in a Blob. */
function workerSource() {
  /** @type {{ wasmWorkerContents: string }} */
  const mod = require(WORKER_MODULE);
  return mod.wasmWorkerContents.replace(/\n/g, '\\n');
}

/**
 * The worker script, plus (2.) an importScripts that loads the glue from its file when given a
 * blob: URL.
 */
function writeWorkerFile() {
  const file = join(mkdtempSync(join(tmpdir(), 'gbp-threaded-wasm-')), 'worker.cjs');
  const redirect =
    `\n;{const load = self.importScripts; const glue = ${JSON.stringify(THREADED_GLUE)};` +
    ` self.importScripts = (f) => load(String(f).startsWith('blob:') ? glue : f);}\n`;
  writeFileSync(file, workerSource() + redirect);
  return file;
}

/**
 * Throws unless the active wasm backend is the threaded build running `threads` threads: the count
 * the module reports (get_threads_count) and the pool's workers (the calling thread is one of them).
 * @param {number} threads
 */
export async function assertThreads(threads) {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const module = wasmModule();
  const reported = wasm.getThreadsCount();
  const pthread = 'PThread' in module ? /** @type {PThreadPool} */ (/** @type {unknown} */ (module.PThread)) : undefined;
  if (pthread == null) throw new Error(`threaded wasm: the backend loaded the single-threaded build, not tfjs-backend-wasm-threaded-simd.wasm (asked for ${threads} threads)`);
  if (reported !== threads) throw new Error(`threaded wasm: the module reports ${reported} thread(s), asked for ${threads}`);
  const running = pthread.runningWorkers.length;
  if (running !== threads - 1) throw new Error(`threaded wasm: ${running} pool worker(s) running besides the main thread, expected ${threads - 1}`);
}

/** Throws unless the active wasm backend is the stock single-threaded build gbp uses. */
export async function assertSingleThreaded() {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if ('PThread' in wasmModule()) throw new Error('threaded wasm: expected the stock single-threaded SIMD build, the threaded one is loaded');
  const reported = wasm.getThreadsCount();
  if (reported !== 1) throw new Error(`threaded wasm: the stock build reports ${reported} threads, expected 1`);
}

function wasmModule() {
  if (tf.getBackend() !== 'wasm') throw new Error(`threaded wasm: the active backend is ${tf.getBackend()}, not wasm`);
  return /** @type {import('@tensorflow/tfjs-backend-wasm').BackendWasm} */ (tf.backend()).wasm;
}

/** 4. Removes the wasm backend, which terminates the pool's workers (else they keep Node alive). */
export function disposeWasmBackend() {
  if (tf.engine().registry['wasm'] != null) tf.engine().removeBackend('wasm');
}

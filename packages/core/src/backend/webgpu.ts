/**
 * The 'webgpu' backend on Node: @tensorflow/tfjs-backend-webgpu on Dawn's adapter. The backend reads
 * `navigator.gpu` (its constructor checks it) and a few WebGPU globals (GPUBuffer, GPUBufferUsage,
 * ...), none of which Node has: they are installed only once Dawn has found an adapter, and removed
 * again when activation fails.
 */
import { tf } from '../tf.js';
import { DAWN_PACKAGE, adapterName, isSoftwareAdapter, mayHaveGpu, probeInChild, probeWebgpu, resolveDawn, type Adapter, type Gpu, type WebgpuProbe } from './webgpu_dawn.js';

export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/**
 * The WebGPU globals tfjs-backend-webgpu 4.22 reads besides navigator.gpu (`instanceof GPUBuffer`
 * when releasing a tensor, the usage flags when creating buffers); webgpu.test.ts checks this list
 * against the package's source.
 */
export const TFJS_WEBGPU_GLOBALS = ['GPUBuffer', 'GPUTexture', 'GPUBufferUsage', 'GPUMapMode', 'GPUTextureUsage'] as const;

/** The adapter the active 'webgpu' backend was created on, once it has been. */
let activeAdapter: string | undefined;

/**
 * An explicit `backend: webgpu`: Dawn's adapter, or an error saying why there is none
 * ("backend 'webgpu': no WebGPU adapter (Dawn found none on this machine: ...); choose backend wasm").
 * Returns the adapter's name. `activate` selects the registered 'webgpu' backend.
 */
export async function selectWebgpu(activate: () => Promise<void>): Promise<string> {
  if (activeAdapter !== undefined && tf.engine().registry['webgpu'] != null) {
    await activate(); // created before: switching back costs nothing
    return activeAdapter;
  }
  const probe = await probeWebgpu({ explain: true });
  if (!probe.ok) throw new Error(`backend 'webgpu': ${probe.why}`);
  try {
    await activateWebgpu(probe, activate);
  } catch (error) {
    throw new Error(`backend 'webgpu': Dawn found ${probe.name}, but tfjs-backend-webgpu failed to start on it: ${message(error)}; choose backend wasm`, { cause: error });
  }
  activeAdapter = probe.software ? `${probe.name} (software: expect it slower than wasm)` : probe.name;
  return activeAdapter;
}

/**
 * Why `auto` does not use webgpu here, for its reason string. A real GPU adapter is reported but not
 * chosen yet: gbp's trainer and pruners read tensors synchronously, which webgpu cannot do on Node
 * (see SYNC_READ_MESSAGE); auto would otherwise swap a working wasm run for one failing at step 1.
 * Dawn is asked in a child process, and only where a GPU device node exists (`probeWithoutDevice`:
 * ask anyway; `resolveFrom`: as for probeWebgpu, for tests).
 */
export async function webgpuSkippedByAuto(options: { probeWithoutDevice?: boolean; resolveFrom?: string } = {}): Promise<string> {
  if (!options.probeWithoutDevice && !mayHaveGpu()) return 'webgpu: no GPU device (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg)';
  const dawn = resolveDawn(options.resolveFrom);
  if (!dawn.ok) return `webgpu: ${dawn.short}`;
  const probe = await probeInChild(dawn.entry);
  if (probe.adapter === undefined) return `webgpu: Dawn failed to load (${probe.loadError ?? 'no reason given'})`;
  if (probe.adapter === null) return `webgpu: Dawn found no WebGPU adapter${probe.said ? ` (${probe.said})` : ''}`;
  const name = adapterName(probe.adapter.info ?? {});
  if (isSoftwareAdapter(probe.adapter)) return `webgpu: only a software adapter (${name})`;
  return `webgpu: ${name} found but not chosen (training reads tensors synchronously, which webgpu cannot on Node; request backend webgpu to use it)`;
}

/**
 * Exposes `gpu` as navigator.gpu and the globals tfjs-backend-webgpu needs, registers 'webgpu' on the
 * probed adapter and runs `activate`; removes every global it added when any step fails.
 */
export async function activateWebgpu(probe: Extract<WebgpuProbe, { ok: true }>, activate: () => Promise<void>): Promise<void> {
  // tfjs leaves no backend active when one fails to initialise: the previous one is restored then.
  const previous = (tf.engine() as unknown as { backendName: string | null }).backendName;
  const undo = exposeGlobals(probe.gpu, probe.globals);
  try {
    const { WebGPUBackend } = (await import(TFJS_WEBGPU_PACKAGE)) as unknown as { WebGPUBackend: new (device: unknown, info: unknown) => tf.KernelBackend };
    // The package registered its own factory on import (navigator.gpu exists now); gbp's replaces it:
    // tfjs-backend-webgpu 4.22 asks for the feature ['bgra8unorm-storage'] (an array where a name
    // belongs), which a strict WebIDL conversion refuses, and would request a second adapter.
    if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', async () => new WebGPUBackend(await requestDevice(probe.adapter), probe.adapter.info), 3);
    await activate();
    guardSyncReads(tf.findBackend('webgpu') as unknown as ReadSyncBackend);
  } catch (error) {
    undo();
    if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
    if (previous != null && previous !== 'webgpu') await tf.setBackend(previous);
    throw error;
  }
}

/** A device with the limits tfjs-backend-webgpu's own factory asks for (the adapter's), no optional features. */
function requestDevice(adapter: Adapter): Promise<unknown> {
  const limits = adapter.limits ?? {};
  const requiredLimits: Record<string, number> = {};
  for (const name of TFJS_WEBGPU_LIMITS) if (limits[name] !== undefined) requiredLimits[name] = limits[name];
  return adapter.requestDevice({ requiredLimits });
}

/** The limits tfjs-backend-webgpu 4.22 raises to the adapter's (its base.ts). */
const TFJS_WEBGPU_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

function exposeGlobals(gpu: Gpu, globals: Record<string, unknown>): () => void {
  const scope = globalThis as Record<string, unknown>;
  const added = TFJS_WEBGPU_GLOBALS.filter((name) => scope[name] === undefined);
  const lacking = added.filter((name) => globals[name] === undefined);
  if (lacking.length > 0) throw new Error(`Dawn (the ${DAWN_PACKAGE} package) does not provide ${lacking.join(', ')}, which ${TFJS_WEBGPU_PACKAGE} needs`);
  for (const name of added) scope[name] = globals[name];
  // Node 21+ has a navigator (without gpu); Node 20 has none.
  const hadNavigator = scope['navigator'] !== undefined;
  const navigator = (hadNavigator ? scope['navigator'] : {}) as Record<string, unknown>;
  const hadGpu = navigator['gpu'] !== undefined;
  if (!hadGpu) Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true, enumerable: true });
  if (!hadNavigator) scope['navigator'] = navigator;
  return () => {
    for (const name of added) delete scope[name];
    if (!hadNavigator) delete scope['navigator'];
    else if (!hadGpu) delete navigator['gpu'];
  };
}

interface ReadSyncBackend {
  readSync(dataId: object): unknown;
}
const guarded = new WeakSet<object>();

/**
 * tfjs-backend-webgpu reads a GPU tensor synchronously (dataSync, arraySync) through OffscreenCanvas,
 * which Node lacks: the read fails with "OffscreenCanvas is not defined". This replaces that error with
 * one that says what happened. Tensors already read asynchronously (`await t.data()`) still read.
 */
export function guardSyncReads(backend: ReadSyncBackend): void {
  if (guarded.has(backend)) return;
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    try {
      return original(dataId);
    } catch (error) {
      if (!(error instanceof ReferenceError && error.message.includes('OffscreenCanvas'))) throw error;
      throw new Error(SYNC_READ_MESSAGE, { cause: error });
    }
  };
  guarded.add(backend);
}

export const SYNC_READ_MESSAGE =
  "backend 'webgpu': a synchronous read (dataSync/arraySync) of a tensor on the GPU is not possible on Node " +
  '(tfjs-backend-webgpu reads synchronously through OffscreenCanvas, which Node lacks; only `await tensor.data()` works). ' +
  "gbp's trainer, evaluation, checkpoints and pruners still read synchronously: choose backend wasm to train";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

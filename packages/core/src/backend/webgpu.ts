/**
 * The 'webgpu' backend on Node: @tensorflow/tfjs-backend-webgpu running on Dawn, which the `webgpu`
 * npm package ships as a prebuilt native addon (dawn.node; its postinstall only clears a macOS
 * quarantine flag, so it works where npm skipped install scripts).
 *
 * tfjs-backend-webgpu registers its backend on import only when `globalThis.navigator.gpu` exists,
 * and then uses a few WebGPU globals (GPUBuffer, GPUBufferUsage, ...): Node has none of them. They
 * are installed here only after Dawn has found an adapter, and removed again when activation fails.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { tf } from '../tf.js';

export const DAWN_PACKAGE = 'webgpu';
export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';
/** The `webgpu` release gbp is tested with (an optional peer dependency of @gbp/core). */
export const DAWN_VERSION = '0.6.2';

/**
 * The WebGPU globals tfjs-backend-webgpu 4.22 reads besides navigator.gpu (`instanceof GPUBuffer`
 * when releasing a tensor, the usage flags when creating buffers); webgpu.test.ts checks this list
 * against the package's source.
 */
export const TFJS_WEBGPU_GLOBALS = ['GPUBuffer', 'GPUTexture', 'GPUBufferUsage', 'GPUMapMode', 'GPUTextureUsage'] as const;

/** What tfjs-backend-webgpu's own factory asks for; the probe asks for the same adapter. */
const ADAPTER_OPTIONS = { powerPreference: 'high-performance' } as const;

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface Adapter {
  info?: AdapterInfo;
  isFallbackAdapter?: boolean;
  limits?: Record<string, number>;
  requestDevice(descriptor: object): Promise<unknown>;
}
interface Gpu {
  requestAdapter(options?: object): Promise<Adapter | null>;
}
interface Dawn {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

export type WebgpuProbe =
  | { ok: true; gpu: Gpu; globals: Record<string, unknown>; adapter: Adapter; name: string; software: boolean }
  /** `short` for auto's reason, `why` for the error of an explicit request. */
  | { ok: false; short: string; why: string };

export interface ProbeOptions {
  /** Resolve `webgpu` from here instead of from @gbp/core (tests: a broken copy of the package). */
  resolveFrom?: string;
  /** On no adapter, rerun the probe in a child process to capture what Dawn prints (slow: errors only). */
  explain?: boolean;
}

/** Loads Dawn and asks it for an adapter; says precisely why there is none. */
export async function probeWebgpu(options: ProbeOptions = {}): Promise<WebgpuProbe> {
  const loaded = await loadDawn(options.resolveFrom);
  if (!loaded.ok) return loaded;
  let adapter: Adapter | null;
  let gpu: Gpu;
  try {
    gpu = loaded.dawn.create([]);
    adapter = await gpu.requestAdapter(ADAPTER_OPTIONS);
  } catch (error) {
    const text = message(error);
    return { ok: false, short: `Dawn failed (${text})`, why: `Dawn (the ${DAWN_PACKAGE} package) failed to request an adapter: ${text}; choose backend wasm` };
  }
  if (adapter == null) {
    const said = options.explain ? (await probeInChild(loaded.entry)).said : undefined;
    return {
      ok: false,
      short: 'Dawn found no WebGPU adapter',
      why: `no WebGPU adapter (Dawn found none on this machine: ${said || 'Dawn gave no reason'}); choose backend wasm`,
    };
  }
  const info = adapter.info ?? {};
  return { ok: true, gpu, globals: loaded.dawn.globals, adapter, name: adapterName(info), software: isSoftwareAdapter(adapter) };
}

/** A fallback (CPU) adapter or a software rasteriser (lavapipe/llvmpipe, SwiftShader): no faster than wasm. */
export function isSoftwareAdapter(adapter: Pick<Adapter, 'info' | 'isFallbackAdapter'>): boolean {
  const info = adapter.info ?? {};
  if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return /llvmpipe|lavapipe|swiftshader|softpipe|software|basic render/i.test(text);
}

function adapterName(info: AdapterInfo): string {
  const parts = [info.description || info.device, info.vendor && `vendor ${info.vendor}`].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'unnamed adapter';
}

/**
 * Whether this Linux machine has a GPU device node Dawn's backends open (DRM render nodes, NVIDIA's
 * proprietary driver, WSL's /dev/dxg). Without one Dawn can only find a software adapter, which auto
 * would skip anyway: checking first spares loading dawn.node (21 MB) and its Vulkan warning on stderr.
 * Other platforms answer true (their GPUs have no such node to look for).
 */
export function mayHaveGpu(platform: NodeJS.Platform = process.platform, dev = '/dev'): boolean {
  if (platform !== 'linux') return true;
  if (existsSync(`${dev}/dxg`)) return true;
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return list(`${dev}/dri`).some((n) => n.startsWith('renderD')) || list(dev).some((n) => /^nvidia\d+$/.test(n));
}

type DawnLoad = { ok: true; dawn: Dawn; entry: string } | { ok: false; short: string; why: string };

/** Where the webgpu package's entry is, without loading it. */
function resolveDawn(resolveFrom: string | undefined): { ok: true; entry: string } | { ok: false; short: string; why: string } {
  try {
    return { ok: true, entry: createRequire(resolveFrom ?? import.meta.url).resolve(DAWN_PACKAGE) };
  } catch {
    return {
      ok: false,
      short: `the ${DAWN_PACKAGE} package (Dawn) is not installed`,
      why: `${DAWN_PACKAGE} (Dawn, the native WebGPU implementation) is not installed. Install it next to @gbp/core (npm install ${DAWN_PACKAGE}@${DAWN_VERSION}) or choose backend wasm.`,
    };
  }
}

async function loadDawn(resolveFrom: string | undefined): Promise<DawnLoad> {
  const resolved = resolveDawn(resolveFrom);
  if (!resolved.ok) return resolved;
  const { entry } = resolved;
  try {
    // The package is ESM only; its entry loads dist/<platform>-<arch>/dawn.node.
    const dawn = (await import(pathToFileURL(entry).href)) as Dawn;
    return { ok: true, dawn, entry };
  } catch (error) {
    const text = message(error);
    return {
      ok: false,
      short: `Dawn failed to load (${text})`,
      why: `Dawn (the ${DAWN_PACKAGE} package, ${entry}) failed to load on ${process.platform}-${process.arch}: ${text}; choose backend wasm`,
    };
  }
}

/** What a probe in a child process found: the adapter's facts, and what Dawn printed. */
interface ChildProbe {
  /** Dawn's adapter (null: none); undefined when Dawn failed to load, with `loadError`. */
  adapter?: Pick<Adapter, 'info' | 'isFallbackAdapter'> | null;
  loadError?: string;
  /** Dawn's own messages (it prints them from native code, to stderr), e.g. "Couldn't load Vulkan: ...". */
  said: string;
}

/**
 * Asks Dawn for an adapter in a child Node. Native stderr cannot be captured in-process, and a Dawn
 * instance keeps a process's GPU state (and, per the webgpu package, possibly its event loop) alive:
 * a child keeps both out of the caller. Costs one Node start (about 70 ms here).
 */
function probeInChild(entry: string): Promise<ChildProbe> {
  const script = `let out;
try {
  const { create } = await import(${JSON.stringify(pathToFileURL(entry).href)});
  const adapter = await create([]).requestAdapter(${JSON.stringify(ADAPTER_OPTIONS)});
  const i = adapter?.info;
  out = { adapter: adapter && { isFallbackAdapter: adapter.isFallbackAdapter, info: i && { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter } } };
} catch (error) {
  out = { loadError: String(error?.message ?? error) };
}
process.stdout.write(JSON.stringify(out));
process.exit(0);`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      const lines = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('at '));
      // Dawn's continuation lines start with "- While ...": one message per "Warning:"/"Error:".
      const said = lines.join(' ').replace(/ (?=(Warning|Error): )/g, '; ');
      try {
        resolve({ ...(JSON.parse(stdout) as Omit<ChildProbe, 'said'>), said });
      } catch {
        resolve({ loadError: `the probe process ended without an answer (${error ? message(error) : 'no output'})${said ? `: ${said}` : ''}`, said });
      }
    });
  });
}

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
      if (typeof (globalThis as Record<string, unknown>)['OffscreenCanvas'] !== 'undefined') throw error;
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

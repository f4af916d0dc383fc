/**
 * Finding Dawn (the `webgpu` npm package: a prebuilt native addon, dawn.node; its postinstall only
 * clears a macOS quarantine flag, so it works where npm skipped install scripts) and asking it for
 * a WebGPU adapter, in this process or in a child.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export const DAWN_PACKAGE = 'webgpu';
/** The `webgpu` release gbp is tested with (an optional peer dependency of @gbp/core). */
export const DAWN_VERSION = '0.6.2';

/** The adapter tfjs-backend-webgpu's own factory asks for. */
const ADAPTER_OPTIONS = { powerPreference: 'high-performance' } as const;

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
export interface Adapter {
  info?: AdapterInfo;
  isFallbackAdapter?: boolean;
  limits?: Record<string, number>;
  requestDevice(descriptor: object): Promise<unknown>;
}
export interface Gpu {
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

export function adapterName(info: AdapterInfo): string {
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
export function resolveDawn(resolveFrom: string | undefined): { ok: true; entry: string } | { ok: false; short: string; why: string } {
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
export function probeInChild(entry: string): Promise<ChildProbe> {
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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

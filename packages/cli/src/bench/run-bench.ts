/**
 * One bench: load every target, refuse shapes a target cannot take, measure them interleaved, and
 * summarise into bench.json's form. Used by `gbp bench` and by `gbp run` after its jobs.
 */
import { initBackend, resolveModelConfig, type BackendName } from '@gbp/core';
import { UsageError } from '../args.js';
import type { BenchFile } from './bench-file.js';
import { measure, type BenchModel, type BenchProgress, type BenchTarget } from './measure.js';
import { loadOnVariant, onnxSource, type OnnxSource } from './models.js';
import { benchRows, type TargetFacts } from './rows.js';
import { TFJS, variantName, type RuntimeVariant } from './runtimes.js';
import type { Shape } from './shapes.js';
import type { TargetSource } from './targets.js';

export interface BenchOptions {
  readonly backend: BackendName;
  readonly repeats: number;
  readonly warmup: number;
  readonly onProgress?: (progress: BenchProgress) => void;
  readonly signal?: AbortSignal;
  /** Milliseconds from a monotonic clock (tests inject one). */
  readonly now?: () => number;
  /** What runs the targets: every target on each, interleaved (default: tfjs only, as before runtimes). */
  readonly runtimes?: readonly RuntimeVariant[];
  /** How a target becomes a model on a runtime (tests inject fakes). */
  readonly load?: (source: TargetSource, variant: RuntimeVariant) => Promise<BenchModel>;
  /** Prefix of error messages. */
  readonly command?: string;
}

/** One measured target: a source on a runtime. */
interface Measured {
  readonly source: TargetSource;
  readonly variant: RuntimeVariant;
  /** Unique among the measured: the source's label, with the runtime's name when several run. */
  readonly label: string;
}

/** `loadOnVariant` with each target's ONNX export made once, whatever the number of onnx variants. */
function realLoader(): (source: TargetSource, variant: RuntimeVariant) => Promise<BenchModel> {
  const exports = new Map<TargetSource, Promise<OnnxSource>>();
  const onnxOf = (source: TargetSource) => {
    if (!exports.has(source)) exports.set(source, onnxSource(source));
    return exports.get(source)!;
  };
  return (source, variant) => loadOnVariant(source, variant, onnxOf);
}

/**
 * Measures `sources` on every runtime of `options.runtimes` (the first source on the first runtime
 * is every speedup's reference) at every shape; tfjs runs on `options.backend`.
 */
export async function runBench(sources: readonly TargetSource[], shapes: readonly Shape[], options: BenchOptions): Promise<BenchFile> {
  const command = options.command ?? 'gbp bench';
  if (sources.length === 0) throw new UsageError(`${command}: no targets to measure`);
  if (shapes.length === 0) throw new UsageError(`${command}: no shapes to measure`);
  // A preset's max_len is known without building it (building base or large takes a while).
  checkShapes(
    sources.flatMap((s) => (s.kind === 'preset' ? [{ label: s.label, maxLen: resolveModelConfig({ size: s.preset }).max_len }] : [])),
    shapes,
    command,
  );
  const backend = await initBackend(options.backend);
  const variants = options.runtimes ?? [TFJS];
  const measured = variants.flatMap((variant) =>
    sources.map((source): Measured => ({ source, variant, label: variants.length > 1 ? `${source.label} (${variantName(variant)})` : source.label })),
  );
  const targets = await loadAll(measured, options.load ?? realLoader(), command);
  try {
    checkShapes(targets.map((t) => ({ label: t.label, maxLen: t.model.config.max_len })), shapes, command);
    const samples = await measure(targets, shapes, {
      repeats: options.repeats,
      warmup: options.warmup,
      ...(options.now && { now: options.now }),
      ...(options.onProgress && { onProgress: options.onProgress }),
      ...(options.signal && { signal: options.signal }),
    });
    const facts = measured.map(({ source, variant, label }, i): TargetFacts => ({
      label,
      target: source.label,
      runtime: variant.runtime,
      // Rows of one-thread tfjs say nothing, as bench files did before threads.
      ...((variant.runtime === 'onnx' || variant.threads !== 1) && { threads: variant.threads }),
      params: targets[i]!.model.numParams,
      weightBytes: targets[i]!.model.weightBytes,
      ...(source.kind === 'folder' && { path: source.path }),
      ...(source.kind === 'folder' && source.job !== undefined && { job: source.job }),
      ...(source.kind === 'folder' && source.method !== undefined && { method: source.method }),
    }));
    return { backend: backend.name, repeats: options.repeats, rows: benchRows(samples, facts) };
  } finally {
    for (const target of targets) target.model.dispose();
  }
}

/** Every target loaded, or a UsageError naming each one that could not be (nothing kept loaded). */
async function loadAll(measured: readonly Measured[], load: (source: TargetSource, variant: RuntimeVariant) => Promise<BenchModel>, command: string): Promise<BenchTarget[]> {
  const loaded: BenchTarget[] = [];
  const problems: string[] = [];
  for (const { source, variant, label } of measured) {
    try {
      loaded.push({ label, model: await load(source, variant) });
    } catch (error) {
      problems.push(`${command}: ${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) {
    for (const target of loaded) target.model.dispose();
    throw new UsageError(problems.join('\n'));
  }
  return loaded;
}

/** A sequence longer than a model's position table cannot be run: refuse it before measuring. */
function checkShapes(targets: readonly { label: string; maxLen: number }[], shapes: readonly Shape[], command: string): void {
  const problems = targets.flatMap((t) => {
    const over = [...new Set(shapes.filter((s) => s.seq > t.maxLen).map((s) => s.seq))];
    return over.length > 0 ? [`${command}: ${t.label} takes sequences of at most ${t.maxLen} tokens (its max_len); --seq ${over.join(',')} is longer`] : [];
  });
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
}

/** `gbp bench TARGET...`: latency and throughput of presets and pruned models, measured in one run. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { MODEL_SIZES, type BackendName } from '@gbp/core';
import { BENCH_FLAGS, helpText, parseFlags, UsageError } from '../args.js';
import { writeBenchFile } from '../bench/bench-file.js';
import { benchTable, progressLine } from '../bench/report.js';
import { runBench, type BenchOptions } from '../bench/run-bench.js';
import { runtimeVariants, type BenchRuntime } from '../bench/runtimes.js';
import { benchShapes, type BenchMode } from '../bench/shapes.js';
import { findTargets } from '../bench/targets.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

export const BENCH_USAGE = 'Usage: gbp bench TARGET... [--mode MODE] [--batch N,N] [--seq T,T] [--backend NAME] [--runtime tfjs,onnx] [--threads N,N] [--repeats N] [--warmup N] [--json FILE]';

const BENCH_INTRO = `TARGET is a size preset (${MODEL_SIZES.join(', ')}; random weights, fixed seed), a model folder, a job
results folder (its model/) or a pipeline results folder (every job's model/, the dense baseline first).
Targets run interleaved, round after round; speedup is against the first target (on the first runtime).
With --runtime tfjs,onnx every target runs on both: gbp's TF.js forward pass and onnxruntime-node on
the same weights exported to ONNX (as gbp export --format onnx writes them).`;

export const DEFAULT_REPEATS = 10;
export const DEFAULT_WARMUP = 2;

/** `load` and `now` let tests measure fake models on a fake clock. */
export async function benchCommand(argv: readonly string[], io: CommandIO, inject: Pick<BenchOptions, 'load' | 'now'> = {}): Promise<number> {
  const { flags, positionals } = parseFlags(argv, BENCH_FLAGS, 'gbp bench');
  if (flags.help) {
    io.stdout.write(helpText(BENCH_USAGE, BENCH_FLAGS, BENCH_INTRO));
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError('gbp bench: give at least one TARGET (a size preset, model folder, job or pipeline results folder); see gbp bench -h');
  const shapes = benchShapes({
    ...(flags.mode !== undefined && { mode: flags.mode as BenchMode }),
    ...(flags.batch !== undefined && { batch: flags.batch.map(Number) }),
    ...(flags.seq !== undefined && { seq: flags.seq.map(Number) }),
  });
  const runtimes = (flags.runtime ?? ['tfjs']) as BenchRuntime[];
  const variants = runtimeVariants(runtimes, flags.threads?.map(Number));
  const jsonFile = flags.json === undefined ? undefined : resolve(io.cwd, flags.json);
  if (jsonFile && existsSync(jsonFile) && statSync(jsonFile).isDirectory()) throw new UsageError(`gbp bench: --json ${flags.json} is a folder; give a file name`);
  const { targets, skipped } = findTargets(positionals, io.cwd);
  for (const dir of skipped) io.stderr.write(`gbp bench: skipping ${dir}: no model/ (the job failed, was stopped, or ran on an older gbp)\n`);

  const controller = new AbortController();
  const detach = io.onSignals(() => controller.abort());
  try {
    const repeats = flags.repeats ?? DEFAULT_REPEATS;
    io.stderr.write(`gbp bench: ${targets.map((t) => t.label).join(', ')} at ${shapes.length} shape${shapes.length === 1 ? '' : 's'}, ${repeats} rounds each\n`);
    const bench = await runBench(targets, shapes, {
      backend: (flags.backend ?? 'auto') as BackendName,
      runtimes: variants,
      repeats,
      warmup: flags.warmup ?? DEFAULT_WARMUP,
      signal: controller.signal,
      onProgress: (progress) => io.stderr.write(`${progressLine(progress)}\n`),
      ...inject,
    });
    io.stdout.write(`${benchTable(bench)}\n`);
    if (jsonFile) {
      await writeBenchFile(jsonFile, bench);
      io.stdout.write(`json: ${jsonFile}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    if (controller.signal.aborted) {
      io.stderr.write('gbp bench: stopped; nothing written\n');
      return EXIT.aborted;
    }
    throw error;
  } finally {
    detach();
  }
}

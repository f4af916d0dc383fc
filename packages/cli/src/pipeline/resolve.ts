/**
 * Stage 2 of the config flow: a loaded PipelineFile plus CLI overrides -> ResolvedPipeline, a
 * deep-frozen value every later step reads (nothing reads the YAML after this).
 */
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { absolutePluginEntry, type BackendName, type DataSpec } from '@gbp/core';
import type { LoadedPipeline } from './load.js';
import { runsJobs, stageOrder } from './load.js';
import { DEFAULT_MAX_JOBS_WARNING, type JobDefaults, type Matrix, type RunSettings, type Stage } from './schema.js';
import type { FieldPath } from './errors.js';
import type { YamlSource } from './source.js';
import { QUEUE_DEFAULTS } from '../queue/protocol.js';

/** Axes a flag may set to a list (-p, -t, -m, -g). */
export type OverridableAxis = 'method' | 'task' | 'model.size' | 'pruning.granularity';

/** What the command line (flags and environment) says; it wins over the file. */
export interface CliOverrides {
  /** Fields forced on every job, e.g. { train: { epochs: 2 } } from -e 2 or GBP_EPOCHS. */
  readonly set?: JobDefaults;
  /** Matrix axes replaced by lists, e.g. { method: ['baseline', 'magnitude'] } from -p. */
  readonly axes?: Partial<Record<OverridableAxis, readonly string[]>>;
  /** Method options merged over the file's, e.g. { spt: { explore_per_layer: true } } from -se. */
  readonly methods?: Readonly<Record<string, Record<string, unknown>>>;
  /** From --data-dir or GBP_DATA_DIR, relative to the working directory. */
  readonly dataDir?: string;
  readonly run?: Readonly<Partial<RunSettings>>;
}

export type MethodOptions = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export interface ResolvedStage {
  readonly name: string;
  readonly needs: readonly string[];
  readonly initFrom?: string;
  readonly report?: 'comparison';
  /** An export stage's format and precision (it runs no jobs). */
  readonly export?: Readonly<NonNullable<Stage['export']>>;
  /** Pipeline defaults with the stage's defaults merged over them. */
  readonly defaults: JobDefaults;
  /** Axis -> values after overrides (forced fields remove their axis). */
  readonly matrix: Readonly<Matrix>;
  /** Where each axis and method's options came from, for located errors. */
  readonly paths: {
    readonly stage: FieldPath;
    readonly matrix: FieldPath;
    readonly methods: (method: string) => FieldPath;
    /** Where a defaults field (e.g. ['train', 'distill']) was set: the stage's defaults, else the pipeline's. */
    readonly defaults: (field: FieldPath) => FieldPath;
  };
  readonly methods: MethodOptions;
  /** Fields forced by the command line (applied after the matrix). */
  readonly forced: JobDefaults;
}

export interface ResolvedPipeline {
  readonly name: string;
  readonly description?: string;
  /** Absolute path of the pipeline file, and its folder (relative paths in the file are relative to it). */
  readonly file: string;
  readonly dir: string;
  /** <output>/<name>, absolute. */
  readonly outputDir: string;
  readonly run: {
    readonly concurrency: number;
    readonly backend: BackendName;
    readonly gpus: readonly number[];
    readonly maxJobsWarning: number;
    /** Redis URL: the jobs run on `gbp worker` machines (absent: local worker processes). */
    readonly queue?: string;
    readonly queueAttempts: number;
    readonly queueCheckpoints: boolean;
  };
  readonly data: Readonly<Partial<DataSpec>>;
  /** Plugin modules: package names as given, paths made absolute. */
  readonly plugins: readonly string[];
  /** In dependency order. A file without stages has one stage, 'main'. */
  readonly stages: readonly ResolvedStage[];
  readonly source: YamlSource;
}

export const SINGLE_STAGE = 'main';

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Merges plain objects recursively; arrays and scalars of later layers replace earlier ones. */
export function mergeDeep<T extends Plain>(...layers: (T | Plain | undefined)[]): T {
  const out: Plain = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {})) {
      if (value === undefined) continue;
      // Plain objects are copied, so the result never shares (possibly frozen) parts with a layer.
      out[key] = isPlain(value) ? mergeDeep(isPlain(out[key]) ? (out[key] as Plain) : {}, value) : value;
    }
  }
  return out as T;
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The dotted field an axis sets ('seed' is short for train.seed). */
export const axisField = (axis: string): string => (axis === 'seed' ? 'train.seed' : axis);

/** Dotted paths of every leaf set in a partial spec, e.g. ['train.epochs', 'model.size']. */
function leafPaths(value: Plain, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, v]) =>
    isPlain(v) ? leafPaths(v, `${prefix}${key}.`) : v === undefined ? [] : [`${prefix}${key}`],
  );
}

const valueAt = (value: unknown, path: FieldPath): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), value);

const toAbsolute = (base: string, path: string) => (isAbsolute(path) ? path : resolvePath(base, path));

export function resolvePipeline(
  loaded: LoadedPipeline,
  overrides: CliOverrides = {},
  cwd: string = process.cwd(),
): ResolvedPipeline {
  const { file: pipeline, source } = loaded;
  const file = toAbsolute(cwd, source.file);
  const dir = dirname(file);
  const run = { ...pipeline.run, ...overrides.run };
  const forced = (overrides.set ?? {}) as JobDefaults;
  const forcedFields = new Set(leafPaths(forced as Plain));

  // A path method is relative to the pipeline file; made absolute once, here, so job specs carry
  // absolute paths and no later step (a worker in another cwd) resolves it again.
  const methodName = (m: string) => absolutePluginEntry(m, dir);

  const fileStages: [string, Stage, FieldPath][] = pipeline.stages
    ? Object.entries(pipeline.stages).map(([name, stage]) => [name, stage, ['stages', name]])
    : [[SINGLE_STAGE, { defaults: undefined, matrix: pipeline.matrix }, []]];
  const jobStages = fileStages.filter(([, stage]) => runsJobs(stage));
  const order = stageOrder(Object.fromEntries(fileStages.map(([name, stage]) => [name, stage.needs ?? []])));

  const stages = order.map((name): ResolvedStage => {
    const [, stage, path] = fileStages.find(([n]) => n === name)!;
    const matrix: Record<string, readonly unknown[]> = {};
    for (const [axis, values] of Object.entries(stage.matrix ?? {})) {
      if (values === undefined || forcedFields.has(axisField(axis))) continue;
      matrix[axis] = axis === 'method' ? (values as string[]).map(methodName) : (values as readonly unknown[]);
    }
    if (runsJobs(stage)) {
      for (const [axis, values] of Object.entries(overrides.axes ?? {})) {
        // In a staged file a flag list replaces the axis where stages have it (else it goes everywhere).
        const anyStageHasAxis = jobStages.some(([, s]) => s.matrix?.[axis as OverridableAxis] !== undefined);
        if (values && (!anyStageHasAxis || matrix[axis] !== undefined || jobStages.length === 1)) {
          // Paths given on the command line are relative to the working directory.
          matrix[axis] = axis === 'method' ? values.map((m) => absolutePluginEntry(m, cwd)) : values;
        }
      }
    }
    const methods: Record<string, Record<string, unknown>> = {};
    for (const layer of [pipeline.methods, stage.methods, overrides.methods]) {
      for (const [method, options] of Object.entries(layer ?? {})) {
        const key = methodName(method);
        methods[key] = mergeDeep(methods[key] ?? {}, options);
      }
    }
    const defaults = mergeDeep<JobDefaults>(pipeline.defaults as Plain, stage.defaults as Plain);
    if (defaults.method) defaults.method = methodName(defaults.method);
    return {
      name,
      needs: stage.needs ?? [],
      ...(stage.init_from !== undefined && { initFrom: stage.init_from }),
      ...(stage.report && { report: stage.report }),
      ...(stage.export && { export: stage.export }),
      defaults,
      matrix,
      methods,
      forced,
      paths: {
        stage: path,
        matrix: pipeline.stages ? [...path, 'matrix'] : ['matrix'],
        methods: (method) => (stage.methods?.[method] !== undefined ? [...path, 'methods', method] : ['methods', method]),
        defaults: (field) => (pipeline.stages && valueAt(stage.defaults, field) !== undefined ? [...path, 'defaults', ...field] : ['defaults', ...field]),
      },
    };
  });

  // --max-parallel-jobs implies --parallel; a number in `parallel` is the count unless capped.
  const parallel = overrides.run?.max_parallel_jobs !== undefined ? true : (run.parallel ?? false);
  const concurrency = parallel === false ? 1 : (run.max_parallel_jobs ?? (typeof parallel === 'number' ? parallel : 2));

  const dataDir = overrides.dataDir
    ? toAbsolute(cwd, overrides.dataDir)
    : pipeline.data?.dir
      ? toAbsolute(dir, pipeline.data.dir)
      : undefined;

  return deepFreeze({
    name: pipeline.name,
    ...(pipeline.description !== undefined && { description: pipeline.description }),
    file,
    dir,
    outputDir: resolvePath(cwd, run.output ?? 'results', pipeline.name),
    run: {
      concurrency,
      backend: run.backend ?? 'auto',
      gpus: run.gpus ?? [],
      maxJobsWarning: run.max_jobs_warning ?? DEFAULT_MAX_JOBS_WARNING,
      ...(run.queue !== undefined && { queue: run.queue }),
      queueAttempts: run.queue_attempts ?? QUEUE_DEFAULTS.attempts,
      queueCheckpoints: run.queue_checkpoints ?? false,
    },
    data: { ...pipeline.data, ...(dataDir !== undefined && { dir: dataDir }) },
    plugins: (pipeline.plugins ?? []).map((p) => absolutePluginEntry(p, dir)),
    stages,
    source,
  });
}

/**
 * The pipeline file as TypeBox definitions: the one source of pipeline.schema.json (written by
 * scripts/gen-schema.ts, checked by schema.test.ts) and of the `PipelineFile` type. Every job field
 * reuses core's JobSpec pieces, so a pipeline cannot accept what a job would reject.
 */
import { EXPORT_FORMAT_NAMES, EXPORT_FORMATS } from '../export/formats.js';
import { QUEUE_DEFAULTS } from '../queue/protocol.js';
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import {
  BackendName,
  DataSpecSchema,
  ModelSpecSchema,
  PruningSpecSchema,
  SearchSpecSchema,
  SupernetSpecSchema,
  TaskName,
  TokenizerSpecSchema,
  TrainSpecSchema,
} from '@gbp/core';

export const SCHEMA_ID = 'https://gbp.dev/schemas/pipeline.schema.json';

const Name = (description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: `${description} Letters, digits, '_', '.', '-'.` });
const PositiveInt = (description: string) => Type.Integer({ minimum: 1, description });

const MethodName = Type.String({
  minLength: 1,
  description: 'baseline, a built-in pruner (magnitude, movement, spt), a gbp-pruner-* package or a path.',
});

/** The sections of a JobSpec that a pipeline may set, each a partial of core's own schema. */
const SPEC_SECTIONS = {
  model: ModelSpecSchema,
  train: TrainSpecSchema,
  pruning: PruningSpecSchema,
  tokenizer: TokenizerSpecSchema,
  supernet: SupernetSpecSchema,
  search: SearchSpecSchema,
} as const satisfies Record<string, TObject>;
export type SpecSection = keyof typeof SPEC_SECTIONS;
export const SPEC_SECTION_NAMES = Object.keys(SPEC_SECTIONS) as SpecSection[];

/** Job settings shared by jobs: a partial JobSpec (no id, output folder or resume state). */
export const JobDefaultsSchema = Type.Object(
  {
    method: Type.Optional(MethodName),
    task: Type.Optional(TaskName),
    model: Type.Optional(Type.Partial(ModelSpecSchema)),
    train: Type.Optional(Type.Partial(TrainSpecSchema)),
    pruning: Type.Optional(Type.Partial(PruningSpecSchema)),
    tokenizer: Type.Optional(Type.Partial(TokenizerSpecSchema)),
    supernet: Type.Optional(Type.Partial(SupernetSpecSchema)),
    search: Type.Optional(Type.Partial(SearchSpecSchema)),
  },
  { additionalProperties: false, description: 'Settings every job starts from (a partial job spec).' },
);
export type JobDefaults = Static<typeof JobDefaultsSchema>;

/**
 * Matrix axes: `method`, `task`, `seed` (short for train.seed) and `<section>.<field>` for every
 * field of model/train/pruning/tokenizer/supernet/search, each a list of values of that field's own schema.
 */
function matrixAxes(): Record<string, TSchema> {
  const axis = (item: TSchema, description: string) => Type.Array(item, { minItems: 1, description });
  const axes: Record<string, TSchema> = {
    method: axis(MethodName, 'Pruning methods, one job each.'),
    task: axis(TaskName, 'GLUE tasks, one job each.'),
    seed: axis(Type.Integer(), 'Seeds (train.seed), one job each.'),
  };
  for (const [section, schema] of Object.entries(SPEC_SECTIONS)) {
    for (const [field, fieldSchema] of Object.entries(schema.properties)) {
      axes[`${section}.${field}`] = axis(fieldSchema as TSchema, `Values of ${section}.${field}, one job each.`);
    }
  }
  return axes;
}
export const MATRIX_AXES = Object.keys(matrixAxes());

export const MatrixSchema = Type.Object(
  Object.fromEntries(Object.entries(matrixAxes()).map(([k, v]) => [k, Type.Optional(v)])),
  {
    additionalProperties: false,
    description: 'Every combination of these values becomes one job (e.g. method x task x model.size).',
  },
);
/** Axis name → values. */
export type Matrix = Partial<Record<string, readonly unknown[]>>;

export const MethodsSchema = Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), {
  description: "Options per method, e.g. movement: { frequency_steps: 400 }; each validated by that pruner's own schema.",
});

export const StageSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    needs: Type.Optional(Type.Array(Name('A stage this one runs after.'), { uniqueItems: true })),
    init_from: Type.Optional(
      Name('A job stage (listed in needs) whose final checkpoints this stage starts from; each job takes the checkpoint of the job with the same values on that stage\'s matrix axes.'),
    ),
    defaults: Type.Optional(JobDefaultsSchema),
    matrix: Type.Optional(MatrixSchema),
    methods: Type.Optional(MethodsSchema),
    report: Type.Optional(
      Type.Literal('comparison', { description: 'A report stage: no jobs; compares the jobs of the stages it needs.' }),
    ),
    export: Type.Optional(
      Type.Object(
        {
          format: Type.Union(
            EXPORT_FORMAT_NAMES.map((name) => Type.Literal(name)),
            { description: `What to write: ${EXPORT_FORMAT_NAMES.map((name) => `${name} (${EXPORT_FORMATS[name]!.describe})`).join('; ')}.` },
          ),
          dtype: Type.Optional(Type.String({ description: `Weight precision, one the format writes (${EXPORT_FORMAT_NAMES.map((name) => `${name}: ${EXPORT_FORMATS[name]!.dtypes.join(', ')}`).join('; ')}); default the first.` })),
        },
        {
          additionalProperties: false,
          description: "An export stage: no jobs; writes the model of each finished job of the stages it needs to <output>/export_<stage>/<job id>/ (as gbp export does).",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Stage = Static<typeof StageSchema>;

/** A matrix this large is more often a typo (an extra axis) than a plan. */
export const DEFAULT_MAX_JOBS_WARNING = 1000;

export const RunSettingsSchema = Type.Object(
  {
    parallel: Type.Optional(
      Type.Union([Type.Boolean(), PositiveInt('')], {
        description: 'false: one job at a time; true: up to max_parallel_jobs; a number: that many at once.',
      }),
    ),
    max_parallel_jobs: Type.Optional(PositiveInt('At most this many jobs at once when parallel (default 2).')),
    output: Type.Optional(Type.String({ minLength: 1, description: 'Results root; jobs go to <output>/<name>/results_<job id>/ (default results).' })),
    backend: Type.Optional(BackendName),
    gpus: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, description: 'GPU ids; each running job gets one as CUDA_VISIBLE_DEVICES.' }),
    ),
    max_jobs_warning: Type.Optional(
      PositiveInt(`gbp run and gbp validate warn when the pipeline has more jobs than this (default ${DEFAULT_MAX_JOBS_WARNING}).`),
    ),
    queue: Type.Optional(
      Type.String({
        pattern: '^rediss?://',
        description: 'Run the jobs on `gbp worker` machines through this Redis (redis://[user:password@]host:port[/db] or rediss://); flag --queue, env GBP_QUEUE.',
      }),
    ),
    queue_attempts: Type.Optional(PositiveInt(`With a queue: attempts of a job that fails by itself before it fails for good (default ${QUEUE_DEFAULTS.attempts}).`)),
    queue_checkpoints: Type.Optional(Type.Boolean({ description: "With a queue: workers send each job's checkpoints/ back too (default false); flag --queue-checkpoints." })),
  },
  { additionalProperties: false },
);
export type RunSettings = Static<typeof RunSettingsSchema>;

export const PipelineFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Name('Pipeline name; also its results folder.'),
    description: Type.Optional(Type.String()),
    defaults: Type.Optional(JobDefaultsSchema),
    matrix: Type.Optional(MatrixSchema),
    methods: Type.Optional(MethodsSchema),
    plugins: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'Extra pruner modules (package names or paths relative to this file).' }),
    ),
    data: Type.Optional(Type.Partial(DataSpecSchema)),
    run: Type.Optional(RunSettingsSchema),
    stages: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }), StageSchema, {
        minProperties: 1,
        description: 'Stages run in dependency order (needs). Without stages the file is one stage: defaults x matrix.',
      }),
    ),
  },
  {
    $id: SCHEMA_ID,
    title: 'gbp pipeline',
    additionalProperties: false,
    description: 'A gbp pipeline: jobs from defaults x matrix (or stages), and how to run them.',
  },
);
export type PipelineFile = Static<typeof PipelineFileSchema>;

/** The JSON written to packages/cli/pipeline.schema.json. */
export function pipelineJsonSchema(): Record<string, unknown> {
  // JSON round trip drops TypeBox's symbol keys; draft-07 is what editors' YAML servers know best.
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(PipelineFileSchema)) };
}

export function pipelineJsonSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}

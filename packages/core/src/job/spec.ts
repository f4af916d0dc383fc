/** A job's spec from a partial one: the schema's defaults applied, every bad field named. */
import { JobSpecSchema, type JobSpec } from '../spec.js';
import { resolveModelConfig } from '../model/index.js';
import { compileSchema, dottedPath, formatAjvErrors, JOB_SPEC_WORDING } from '../validation.js';

export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly U[] | U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export type PartialJobSpec = DeepPartial<JobSpec> & Pick<JobSpec, 'task' | 'output_dir'> & { id?: string };

/** The model fields a pretrained model (model.from) fixes: its checkpoint gives them. */
export const PRETRAINED_SHAPE_FIELDS = ['size', 'num_layers', 'd_model', 'num_heads', 'dff', 'vocab_size'] as const;

/** Model size when a partial spec names none: the design's reference model. */
export const DEFAULT_MODEL_SIZE = 'base';

const validateSpec = compileSchema(JobSpecSchema);

export class JobSpecError extends Error {
  readonly code = 'JOB_SPEC_INVALID';
  constructor(readonly issues: readonly string[]) {
    super(`invalid job spec:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'JobSpecError';
  }
}

/** Applies the schema's defaults to a partial spec and validates it (error lists every field). */
export function resolveJobSpec(partial: PartialJobSpec): JobSpec {
  const p = structuredClone(partial) as Record<string, unknown>;
  const objectOr = (v: unknown) => (v !== null && typeof v === 'object' ? v : {});
  const spec: Record<string, unknown> = {
    ...p,
    id: p.id ?? `${String(p.method ?? 'baseline')}_${String(p.task)}`,
    // A pretrained model brings its own shape: no preset is filled in beside model.from.
    model: 'from' in objectOr(p.model) ? objectOr(p.model) : { size: DEFAULT_MODEL_SIZE, ...objectOr(p.model) },
    train: objectOr(p.train),
    pruning: objectOr(p.pruning),
    data: objectOr(p.data),
    tokenizer: objectOr(p.tokenizer),
    backend: p.backend ?? 'auto',
  };
  // ajv would say 'must NOT have more than 1 properties'; this says which.
  const budget = objectOr((objectOr(p.search) as { budget?: unknown }).budget);
  if (Object.keys(budget).length !== 1 && p.search !== undefined) throw new JobSpecError([`search.budget: give latency_ms or speedup, one of them (got ${Object.keys(budget).join(' and ') || 'neither'})`]);
  if (!validateSpec(spec)) throw new JobSpecError(formatAjvErrors(validateSpec.errors ?? [], JOB_SPEC_WORDING).map((i) => `${dottedPath(i.path)}: ${i.message}`));
  const resolved = spec as JobSpec;
  const kinds = [resolved.supernet && 'supernet', resolved.search && 'search'].filter(Boolean);
  if (kinds.length > 1) throw new JobSpecError(['supernet and search: a job trains a supernet or searches one, not both (use two stages)']);
  if (kinds.length === 1 && resolved.method !== 'baseline') {
    throw new JobSpecError([`method: ${kinds[0]} jobs take no pruner (got '${resolved.method}'); prune in a stage of its own`]);
  }
  if (resolved.model.from !== undefined) {
    const shapeFields = PRETRAINED_SHAPE_FIELDS.filter((field) => resolved.model[field] !== undefined);
    if (shapeFields.length > 0) {
      throw new JobSpecError(
        shapeFields.map(
          (field) => `model.${field}: cannot be set with model.from (${resolved.model.from} gives the shape); only model.max_len and model.dropout_rate may be set beside it`,
        ),
      );
    }
    return resolved;
  }
  const { d_model, num_heads } = resolveModelConfig(resolved.model);
  if (d_model % num_heads !== 0) throw new JobSpecError([`model.d_model (${d_model}) must be divisible by model.num_heads (${num_heads})`]);
  return resolved;
}

/** A job's spec from a partial one: the schema's defaults applied, every bad field named. */
import { Ajv, type ErrorObject } from 'ajv';
import { JobSpecSchema, type JobSpec } from '../spec.js';
import { resolveModelConfig } from '../model/index.js';

export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly U[] | U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export type PartialJobSpec = DeepPartial<JobSpec> & Pick<JobSpec, 'task' | 'output_dir'> & { id?: string };

/** Model size when a partial spec names none: the design's reference model. */
export const DEFAULT_MODEL_SIZE = 'base';

const specAjv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const validateSpec = specAjv.compile(JobSpecSchema);

export class JobSpecError extends Error {
  readonly code = 'JOB_SPEC_INVALID';
  constructor(readonly issues: readonly string[]) {
    super(`invalid job spec:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'JobSpecError';
  }
}

function describeSpecErrors(errors: readonly ErrorObject[]): string[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  const issues: string[] = [];
  for (const [path, group] of byPath) {
    const field = path.split('/').slice(1).join('.') || '(root)';
    const consts = group.filter((e) => e.keyword === 'const').map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
    if (consts.length > 0) {
      issues.push(`${field}: must be one of ${consts.join(', ')}`);
      continue;
    }
    for (const e of group) {
      const params = e.params as Record<string, unknown>;
      if (e.keyword === 'additionalProperties') issues.push(`${field === '(root)' ? '' : `${field}.`}${String(params.additionalProperty)}: is not a known field`);
      else if (e.keyword === 'required') issues.push(`${field === '(root)' ? '' : `${field}.`}${String(params.missingProperty)}: is required`);
      else issues.push(`${field}: ${e.message ?? 'is invalid'}`);
    }
  }
  return issues;
}

/** Applies the schema's defaults to a partial spec and validates it (error lists every field). */
export function resolveJobSpec(partial: PartialJobSpec): JobSpec {
  const p = structuredClone(partial) as Record<string, unknown>;
  const objectOr = (v: unknown) => (v !== null && typeof v === 'object' ? v : {});
  const spec: Record<string, unknown> = {
    ...p,
    id: p.id ?? `${String(p.method ?? 'baseline')}_${String(p.task)}`,
    model: { size: DEFAULT_MODEL_SIZE, ...objectOr(p.model) },
    train: objectOr(p.train),
    pruning: objectOr(p.pruning),
    data: objectOr(p.data),
    tokenizer: objectOr(p.tokenizer),
    backend: p.backend ?? 'auto',
  };
  if (!validateSpec(spec)) throw new JobSpecError(describeSpecErrors(validateSpec.errors ?? []));
  const resolved = spec as JobSpec;
  const { d_model, num_heads } = resolveModelConfig(resolved.model);
  if (d_model % num_heads !== 0) throw new JobSpecError([`model.d_model (${d_model}) must be divisible by model.num_heads (${num_heads})`]);
  return resolved;
}

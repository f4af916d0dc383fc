import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { JobSpecError, resolveJobSpec, type PartialJobSpec } from './job.js';
import { JobSpecSchema } from './spec.js';
import { EXPECTED_WORDING, JOB_SPEC_WORDING, compileSchema, dottedPath, formatAjvErrors, mustWording } from './validation.js';

/** The issues of `data` against `schema`, printed the way core prints them. */
function printed(schema: object, data: unknown, wording = JOB_SPEC_WORDING): string[] {
  const validate = compileSchema(schema);
  expect(validate(structuredClone(data))).toBe(false);
  return formatAjvErrors(validate.errors ?? [], wording).map((i) => `${dottedPath(i.path)}: ${i.message}`);
}

/** What resolveJobSpec (job.ts's own formatter) says about the same spec. */
function jobSpecIssues(spec: Record<string, unknown>): readonly string[] {
  try {
    resolveJobSpec(spec as PartialJobSpec);
  } catch (error) {
    if (error instanceof JobSpecError) return error.issues;
    throw error;
  }
  throw new Error('expected the spec to be invalid');
}

// Complete specs (every section given), so resolveJobSpec validates exactly this object.
const full = (over: Record<string, unknown>) => ({
  id: 'j',
  task: 'sst2',
  output_dir: '/x',
  model: { size: 'tiny' },
  train: {},
  pruning: {},
  data: {},
  tokenizer: {},
  backend: 'auto',
  ...over,
});

describe('formatAjvErrors with the job spec wording', () => {
  const sizes = 'model.size: must be one of "tiny", "small", "base", "large"';
  it.each([
    ['a bound, an unknown field and a literal union', full({ train: { epochs: 0, bogus: 1 }, model: { size: 'huge' } }), [sizes, 'train.bogus: is not a known field', 'train.epochs: must be >= 1']],
    ['a literal union given the wrong type', full({ model: { size: 5 }, backend: 'gpu' }), [sizes, 'backend: must be one of "auto", "wasm", "cpu", "tensorflow", "cuda", "webgpu"']],
    ['an unknown and a missing top-level field', { ...full({ extra: true }), task: undefined }, ['task: is required', 'extra: is not a known field']],
  ])('gives the messages resolveJobSpec gives: %s', (_, spec, expected) => {
    expect([...printed(JobSpecSchema, spec)].sort()).toEqual([...expected].sort());
    // Until job.ts uses this formatter, its own gives the same (afterwards this checks the switch).
    expect([...jobSpecIssues(spec)].sort()).toEqual([...expected].sort());
  });
});

describe('formatAjvErrors', () => {
  const schema = Type.Object(
    {
      n: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('auto')]),
      mode: Type.Optional(Type.Union([Type.Literal('hard'), Type.Literal('soft')])),
      list: Type.Optional(Type.Array(Type.Object({ name: Type.String() }))),
    },
    { additionalProperties: false },
  );
  it('describes a union of a type and a literal by both, not as "one of" its literal', () => {
    expect(printed(schema, { n: 'x' }, mustWording({ noun: 'option', got: true }))).toEqual(['n: must be integer, or "auto" (got "x")']);
    expect(printed(schema, { n: 'x' }, EXPECTED_WORDING)).toEqual(['n: expected integer, or "auto"; got "x"']);
  });
  it('lists every literal of a union of literals, once', () => {
    expect(printed(schema, { n: 1, mode: 3 }, EXPECTED_WORDING)).toEqual(['mode: expected one of hard, soft; got 3']);
  });
  it('gives paths as keys and indices, naming a missing or unknown property', () => {
    const validate = compileSchema(schema);
    expect(validate({ n: 1, list: [{}], other: 1 })).toBe(false);
    expect(formatAjvErrors(validate.errors ?? [], EXPECTED_WORDING)).toEqual([
      { path: ['other'], message: "unknown field 'other'; expected one of: n, mode, list", keyword: 'additionalProperties' },
      { path: ['list', 0, 'name'], message: "missing required field 'name'", keyword: 'required' },
    ]);
  });
  it('compiles a schema once', () => {
    expect(compileSchema(schema)).toBe(compileSchema(schema));
  });
});

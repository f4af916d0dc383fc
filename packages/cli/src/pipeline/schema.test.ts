import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { JobSpecSchema, MODEL_SIZES, TASK_NAMES } from '@gbp/core';
import { MATRIX_AXES, pipelineJsonSchemaText } from './schema.js';

const committed = fileURLToPath(new URL('../../pipeline.schema.json', import.meta.url));

describe('pipeline.schema.json', () => {
  it('is exactly what the TypeBox source generates (run `npm run schema -w @gbp/cli` after editing schema.ts)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(pipelineJsonSchemaText());
  });

  it('is a valid JSON Schema that ajv compiles', () => {
    expect(() => new Ajv({ strict: false }).compile(JSON.parse(readFileSync(committed, 'utf8')))).not.toThrow();
  });

  it("takes its job fields from core's JobSpec schema", () => {
    const schema = JSON.parse(pipelineJsonSchemaText());
    const defaults = schema.properties.defaults.properties;
    expect(defaults.task.anyOf.map((b: { const: string }) => b.const)).toEqual([...TASK_NAMES]);
    expect(defaults.model.properties.size.anyOf.map((b: { const: string }) => b.const)).toEqual([...MODEL_SIZES]);
    expect(Object.keys(defaults.train.properties)).toEqual(Object.keys(JobSpecSchema.properties.train.properties));
    // Every field of every section can be a matrix axis.
    for (const field of Object.keys(JobSpecSchema.properties.pruning.properties)) expect(MATRIX_AXES).toContain(`pruning.${field}`);
    expect(MATRIX_AXES).toEqual(expect.arrayContaining(['method', 'task', 'seed', 'model.size', 'train.learning_rate']));
  });
});

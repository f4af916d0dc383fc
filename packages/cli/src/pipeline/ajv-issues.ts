/**
 * Schema errors of a pipeline file, located: core's one formatter (EXPECTED_WORDING: "expected
 * ...; got ...") with each issue placed at its line and column in the file.
 */
import { compileSchema, EXPECTED_WORDING, formatAjvErrors } from '@gbp/core';
import { formatPath, type FieldPath, type PipelineIssue } from './errors.js';
import type { YamlSource } from './source.js';

/** Validates `data` against `schema` and returns its issues located in `source`, prefixed by `base` (a path). */
export function schemaIssues(schema: object, data: unknown, source: YamlSource, base: FieldPath = []): PipelineIssue[] {
  const validate = compileSchema(schema);
  // The shared validator applies schema defaults: check a copy, so the file's data stays as written.
  if (validate(structuredClone(data))) return [];
  return formatAjvErrors(validate.errors ?? [], EXPECTED_WORDING).map((issue) => {
    const path = [...base, ...issue.path];
    if (issue.keyword === 'additionalProperties') return source.issue(path, issue.message, 'key');
    // A missing field has no place of its own: point at the object that lacks it.
    if (issue.keyword === 'required') return { ...source.issue(path.slice(0, -1), issue.message, 'value'), path: formatPath(path) };
    return source.issue(path, issue.message);
  });
}

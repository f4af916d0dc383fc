/**
 * JSON Schema validation (ajv, allErrors) turned into located, readable issues: one per problem,
 * with the field path and what was expected. Unions of literals (e.g. task) read "expected one of".
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { describeValue, type FieldPath, type PipelineIssue } from './errors.js';
import type { YamlSource } from './source.js';

export function createAjv(): Ajv {
  // verbose: errors carry the failing data and parent schema, which the messages quote.
  return new Ajv({ allErrors: true, strict: false, verbose: true });
}

const pathOf = (instancePath: string): (string | number)[] =>
  instancePath === ''
    ? []
    : instancePath
        .slice(1)
        .split('/')
        .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((part) => (/^\d+$/.test(part) ? Number(part) : part));

/** Validates `data` and returns its issues located in `source`, prefixed by `base` (a path). */
export function schemaIssues(
  validate: ValidateFunction,
  data: unknown,
  source: YamlSource,
  base: FieldPath = [],
): PipelineIssue[] {
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const consumed = new Set<ErrorObject>();
  const issues: PipelineIssue[] = [];

  for (const error of errors) {
    if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf') continue;
    const children = errors.filter(
      (e) => e !== error && e.schemaPath.startsWith(`${error.schemaPath}/`) && e.instancePath === error.instancePath,
    );
    const deeper = errors.filter((e) => e.schemaPath.startsWith(`${error.schemaPath}/`) && e.instancePath !== error.instancePath);
    // A union whose branches failed on nested fields is best explained by those fields.
    if (deeper.length > 0 && children.length === 0) {
      consumed.add(error);
      continue;
    }
    children.forEach((e) => consumed.add(e));
    consumed.add(error);
    const allowed = children.filter((e) => e.keyword === 'const').map((e) => (e.params as { allowedValue: unknown }).allowedValue);
    const expected =
      allowed.length > 0 && allowed.length === children.filter((e) => e.keyword !== 'type').length
        ? `one of ${allowed.map((v) => String(v)).join(', ')}`
        : [...new Set(children.map(expectation))].join(', or ');
    issues.push(source.issue([...base, ...pathOf(error.instancePath)], `expected ${expected}; got ${describeValue(error.data)}`));
  }

  for (const error of errors) {
    if (consumed.has(error)) continue;
    const path = [...base, ...pathOf(error.instancePath)];
    switch (error.keyword) {
      case 'additionalProperties': {
        const name = (error.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        const hint = known.length > 0 ? `; expected one of: ${known.join(', ')}` : '';
        issues.push(source.issue([...path, name], `unknown field '${name}'${hint}`, 'key'));
        break;
      }
      case 'required': {
        const name = (error.params as { missingProperty: string }).missingProperty;
        issues.push({ ...source.issue(path, `missing required field '${name}'`, 'value'), path: [...path, name].join('.') });
        break;
      }
      default:
        issues.push(source.issue(path, `expected ${expectation(error)}; got ${describeValue(error.data)}`));
    }
  }
  return issues;
}

/** What a failed keyword expected, in words (to follow "expected"). */
function expectation(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return String(params.type);
    case 'const':
      return JSON.stringify(params.allowedValue);
    case 'enum':
      return `one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `a number ${String(params.comparison)} ${String(params.limit)}`;
    case 'pattern':
      return `a string matching ${String(params.pattern)}`;
    default:
      return `a value that ${error.message ?? 'matches the schema'}`;
  }
}

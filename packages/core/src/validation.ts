/**
 * JSON Schema validation for the whole project: one Ajv, and one formatter that turns its errors
 * into one issue per problem ({ path, message }). Job specs, pruner options and pipeline files
 * share the grouping (a union of literals is one "one of" issue, an unknown or missing property
 * is named in the path); each caller picks the words (a Wording), so the CLI can locate an issue
 * to file:line:col and core can print it as `field: message`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * The one Ajv. useDefaults: job specs and pruner options get their schema defaults (callers that
 * must not change their data, like the CLI's file check, validate a copy). verbose: errors carry
 * the failing data and parent schema, which the messages quote.
 */
export const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false, verbose: true });

const compiled = new WeakMap<object, ValidateFunction>();

/** The validator for `schema`, compiled once per schema object. Throws Ajv's error on an invalid schema. */
export function compileSchema(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

export type IssuePath = readonly (string | number)[];

export interface SchemaIssue {
  /** The field at fault, as keys and indices; an unknown or missing property ends with its name. */
  path: IssuePath;
  message: string;
  /** What went wrong: 'additionalProperties' and 'required' name a key, the rest a value. */
  keyword: string;
}

/** The words of the messages; the grouping is formatAjvErrors' own. */
export interface Wording {
  /** A union of literals (or of other schemas: then `allowed` is undefined) did not match. */
  union(expected: readonly string[], allowed: readonly unknown[] | undefined, got: unknown): string;
  unknown(name: string, known: readonly string[]): string;
  missing(name: string): string;
  /** Any other keyword failed. */
  invalid(error: ErrorObject): string;
}

/** A value quoted in a message, cut short when long. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What a failed keyword expected, in words (to follow "expected" or "must be"). */
export function expectation(error: ErrorObject): string {
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

/**
 * Core's words: "must be ..." (Ajv's own phrasing), unknown properties "is not a known <noun>",
 * and with `got` the offending value after a value's message.
 */
export function mustWording({ noun, got }: { noun: string; got: boolean }): Wording {
  const suffix = (value: unknown) => (got ? ` (got ${describeValue(value)})` : '');
  return {
    union: (expected, allowed, value) =>
      `must be ${allowed ? `one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : expected.join(', or ')}${suffix(value)}`,
    unknown: () => `is not a known ${noun}`,
    missing: () => 'is required',
    invalid: (error) => {
      const params = error.params as Record<string, unknown>;
      if (error.keyword === 'enum') return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${suffix(error.data)}`;
      if (error.keyword === 'const') return `must be ${JSON.stringify(params.allowedValue)}${suffix(error.data)}`;
      return `${error.message ?? 'is invalid'}${suffix(error.data)}`;
    },
  };
}

/** The words of job spec errors (JobSpecError): fields, no quoted values. */
export const JOB_SPEC_WORDING = mustWording({ noun: 'field', got: false });

/** The words of a file's errors: "expected ...; got ...", unknown fields list the known ones. */
export const EXPECTED_WORDING: Wording = {
  union: (expected, allowed, got) => `expected ${allowed ? `one of ${allowed.map(String).join(', ')}` : expected.join(', or ')}; got ${describeValue(got)}`,
  unknown: (name, known) => `unknown field '${name}'${known.length > 0 ? `; expected one of: ${known.join(', ')}` : ''}`,
  missing: (name) => `missing required field '${name}'`,
  invalid: (error) => `expected ${expectation(error)}; got ${describeValue(error.data)}`,
};

/** '/a/0/b~1c' -> ['a', 0, 'b/c']. */
export function pathOfPointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/**
 * One issue per problem, in Ajv's order. A union (anyOf/oneOf) is one issue, "one of" its
 * literals or a list of what its branches expected, except when its branches failed on nested
 * fields: those fields explain it better. Repeats (the same message at the same path) are dropped.
 */
export function formatAjvErrors(errors: readonly ErrorObject[], wording: Wording): SchemaIssue[] {
  // Unions first: which errors they explain, and their one issue.
  const consumed = new Set<ErrorObject>();
  const unionIssues = new Map<ErrorObject, SchemaIssue>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf') continue;
    const inside = (e: ErrorObject) => e !== error && e.schemaPath.startsWith(`${error.schemaPath}/`);
    const children = errors.filter((e) => inside(e) && e.instancePath === error.instancePath);
    const deeper = errors.filter((e) => inside(e) && e.instancePath !== error.instancePath);
    if (deeper.length > 0 && children.length === 0) continue;
    children.forEach((e) => consumed.add(e));
    // verbose: the union's schema is its list of branches. A literal branch (const, perhaps with
    // its type) is described by its value alone, not also by its type.
    const branches = Array.isArray(error.schema) ? (error.schema as unknown[]) : [];
    const isLiteral = (branch: unknown) => typeof branch === 'object' && branch !== null && 'const' in branch;
    const branchOf = (e: ErrorObject) => branches[Number(e.schemaPath.slice(error.schemaPath.length + 1).split('/')[0])];
    const allowed = branches.length > 0 && branches.every(isLiteral) ? branches.map((b) => (b as { const: unknown }).const) : undefined;
    const expected = [...new Set(children.filter((e) => !(e.keyword === 'type' && isLiteral(branchOf(e)))).map(expectation))];
    unionIssues.set(error, { path: pathOfPointer(error.instancePath), message: wording.union(expected, allowed, error.data), keyword: error.keyword });
  }

  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  const add = (issue: SchemaIssue) => {
    const key = JSON.stringify([issue.path, issue.message]);
    if (!seen.has(key)) issues.push(issue);
    seen.add(key);
  };
  for (const error of errors) {
    if (consumed.has(error)) continue;
    const path = pathOfPointer(error.instancePath);
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      const union = unionIssues.get(error);
      if (union) add(union);
    } else if (error.keyword === 'additionalProperties') {
      const name = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      add({ path: [...path, name], message: wording.unknown(name, known), keyword: error.keyword });
    } else if (error.keyword === 'required') {
      const name = String(params.missingProperty);
      add({ path: [...path, name], message: wording.missing(name), keyword: error.keyword });
    } else {
      add({ path, message: wording.invalid(error), keyword: error.keyword });
    }
  }
  return issues;
}

/** A path as core prints it: a.b.0.c, or `root` when empty. */
export function dottedPath(path: IssuePath, root = '(root)'): string {
  return path.length === 0 ? root : path.join('.');
}

/** A parsed YAML file that can say where any field path sits (line and column, 1-based). */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';
import type { FieldPath, Location, PipelineIssue } from './errors.js';
import { formatPath } from './errors.js';

export interface YamlSource {
  /** The file as given by the user (for messages). */
  readonly file: string;
  readonly data: unknown;
  /** Position of the value at `path`, or of its nearest existing ancestor. */
  locate(path: FieldPath): Location;
  /** Position of the key of `path` (for unknown fields), falling back to locate(path). */
  locateKey(path: FieldPath): Location;
  issue(path: FieldPath, message: string, at?: 'key' | 'value'): PipelineIssue;
  /** YAML syntax errors, all of them. */
  readonly syntaxIssues: readonly PipelineIssue[];
}

export function readYamlSource(file: string, text = readFileSync(file, 'utf8')): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): Location => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const top: Location = { line: 1, column: 1 };

  const nodeAt = (path: FieldPath): { node: Node | null; keyNode: Node | null } => {
    let node: unknown = doc.contents;
    let keyNode: Node | null = null;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === key);
        if (!pair) return { node: node as Node, keyNode: null };
        keyNode = isNode(pair.key) ? pair.key : null;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
        keyNode = null;
        node = node.items[key];
      } else {
        return { node: isNode(node) ? node : null, keyNode: null };
      }
    }
    return { node: isNode(node) ? node : keyNode, keyNode };
  };
  const at = (node: Node | null) => (node?.range ? position(node.range[0]) : top);

  const { data, issue: aliasIssue } = doc.errors.length ? { data: undefined, issue: undefined } : toData(doc, file, position);
  const source: YamlSource = {
    file,
    data,
    locate: (path) => at(nodeAt(path).node),
    locateKey: (path) => {
      const { node, keyNode } = nodeAt(path);
      return at(keyNode ?? node);
    },
    issue: (path, message, where = 'value') => ({
      file,
      ...(where === 'key' ? source.locateKey(path) : source.locate(path)),
      path: formatPath(path),
      message,
    }),
    syntaxIssues: aliasIssue ? [aliasIssue] : syntaxIssues(doc, file, position),
  };
  return source;
}

/** Aliases one file may expand into (yaml's own guard against an exponential "alias bomb"). */
export const MAX_ALIAS_COUNT = 100;

/**
 * The document as plain data, or an issue at the alias to blame: aliases that expand past
 * MAX_ALIAS_COUNT, or an alias used before its anchor (yaml throws both as a bare ReferenceError).
 */
function toData(doc: Document, file: string, position: (offset: number) => Location): { data: unknown; issue?: PipelineIssue } {
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const bomb = error.message.startsWith('Excessive alias count');
    // yaml names no node: the first alias (for a bomb), or the first with the unresolved name.
    let offset = 0;
    visit(doc, {
      Alias(_key, node) {
        if (!bomb && !error.message.endsWith(`: ${node.source}`)) return undefined;
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const message = bomb
      ? `YAML: aliases expand to too much data (over ${MAX_ALIAS_COUNT} nodes through aliases; an "alias bomb"?); write the values out or nest fewer aliases`
      : `YAML: ${error.message}`;
    return { data: undefined, issue: { file, ...position(offset), path: '', message } };
  }
}

function syntaxIssues(doc: Document, file: string, position: (offset: number) => Location): PipelineIssue[] {
  return doc.errors.map((error) => ({
    file,
    ...position(error.pos[0]),
    path: '',
    message: `YAML: ${error.message.split('\n')[0]}`,
  }));
}

/**
 * A reporter that adds each issue once per place and message: many jobs share one field of the
 * file, and the user needs one line for it, not one per job.
 */
export function reportOnce(source: YamlSource, issues: PipelineIssue[]): (path: FieldPath, message: string) => void {
  const reported = new Set<string>();
  return (path, message) => {
    const issue = source.issue(path, message);
    const key = `${issue.line}:${issue.column}:${message}`;
    if (!reported.has(key)) issues.push(issue);
    reported.add(key);
  };
}

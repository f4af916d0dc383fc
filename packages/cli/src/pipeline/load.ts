/**
 * Stage 1 of the config flow: a pipeline file on disk -> a schema-valid, internally consistent
 * `PipelineFile`, or a PipelineError listing every problem with file:line:column.
 */
import { PipelineError, type PipelineIssue } from './errors.js';
import { schemaIssues } from './ajv-issues.js';
import { PipelineFileSchema, type PipelineFile, type Stage } from './schema.js';
import { EXPORT_FORMATS } from '../export/formats.js';
import { readYamlSource, type YamlSource } from './source.js';

export interface LoadedPipeline {
  readonly source: YamlSource;
  readonly file: PipelineFile;
}

/** Reads, parses and validates a pipeline file. Throws PipelineError with all issues. */
export function loadPipeline(file: string, text?: string): LoadedPipeline {
  const { source, issues } = checkPipeline(file, text);
  if (issues.length > 0) throw new PipelineError(issues);
  return { source, file: source.data as PipelineFile };
}

/**
 * Reads a pipeline file and returns every problem of the first failing check (YAML syntax, then
 * schema, then the stage graph); none means `source.data` is a valid PipelineFile.
 */
export function checkPipeline(file: string, text?: string): { source: YamlSource; issues: readonly PipelineIssue[] } {
  const source = readYamlSource(file, text);
  if (source.syntaxIssues.length > 0) return { source, issues: source.syntaxIssues };
  const issues = schemaIssues(PipelineFileSchema, source.data, source);
  return { source, issues: issues.length > 0 ? issues : stageIssues(source.data as PipelineFile, source) };
}

/** Report and export stages run no jobs: they use the jobs of the stages they need. */
export const runsJobs = (stage: Pick<Stage, 'report' | 'export'>): boolean => !stage.report && !stage.export;
const stageKind = (stage: Pick<Stage, 'report' | 'export'>) => (stage.report ? 'a report' : stage.export ? 'an export' : 'a job');

/** The stage graph: needs exist, no cycles, init_from is a needed job stage, report and export stages have no jobs. */
function stageIssues(pipeline: PipelineFile, source: YamlSource): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  const stages = pipeline.stages;
  if (!stages) return issues;
  if (pipeline.matrix) {
    issues.push(source.issue(['matrix'], 'a pipeline with stages puts its matrix inside each stage (stages.<name>.matrix)', 'key'));
  }
  const names = Object.keys(stages);
  for (const [name, stage] of Object.entries(stages)) {
    (stage.needs ?? []).forEach((need, i) => {
      if (!names.includes(need)) issues.push(source.issue(['stages', name, 'needs', i], `unknown stage '${need}'; stages are: ${names.join(', ')}`));
      if (need === name) issues.push(source.issue(['stages', name, 'needs', i], 'a stage cannot need itself'));
    });
    if (stage.init_from !== undefined) {
      if (!(stage.needs ?? []).includes(stage.init_from)) {
        issues.push(source.issue(['stages', name, 'init_from'], `'${stage.init_from}' must also be listed in needs`));
      } else if (stages[stage.init_from] && !runsJobs(stages[stage.init_from]!)) {
        issues.push(source.issue(['stages', name, 'init_from'], `'${stage.init_from}' is ${stageKind(stages[stage.init_from]!)} stage; it has no checkpoints`));
      }
    }
    if (!runsJobs(stage)) {
      const kind = stageKind(stage);
      if (stage.report && stage.export) issues.push(source.issue(['stages', name, 'export'], 'a stage is a report or an export, not both; make two stages', 'key'));
      for (const key of ['defaults', 'matrix', 'methods', 'init_from'] as const) {
        if (stage[key] !== undefined) issues.push(source.issue(['stages', name, key], `${kind} stage runs no jobs; remove '${key}'`, 'key'));
      }
      if (!stage.needs?.length) issues.push(source.issue(['stages', name], `${kind} stage needs the stages it ${stage.report ? 'compares' : 'exports'} (needs: [...])`, 'key'));
      if (stage.export?.dtype !== undefined) {
        const dtypes = EXPORT_FORMATS[stage.export.format]!.dtypes;
        if (!dtypes.includes(stage.export.dtype)) {
          issues.push(source.issue(['stages', name, 'export', 'dtype'], `format ${stage.export.format} writes ${dtypes.join(' or ')}, not '${stage.export.dtype}'`));
        }
      }
    }
  }
  const cycle = findCycle(Object.fromEntries(names.map((n) => [n, stages[n]?.needs ?? []])));
  if (cycle) issues.push(source.issue(['stages', cycle[0]!, 'needs'], `stages depend on each other in a cycle: ${cycle.join(' -> ')}`));
  return issues;
}

/** A dependency cycle as a list of names (first repeated at the end), or null. */
export function findCycle(graph: Record<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph[node] ?? []) {
      if (!(next in graph)) continue;
      const found = visit(next);
      if (found) return found;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of Object.keys(graph)) {
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

/** Stage names in an order where every stage comes after the stages it needs (file order otherwise). */
export function stageOrder(graph: Record<string, readonly string[]>): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name)) return;
    placed.add(name);
    for (const need of graph[name] ?? []) place(need);
    order.push(name);
  };
  Object.keys(graph).forEach(place);
  return order;
}
